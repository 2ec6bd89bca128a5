"""Load the public datasets under ``<project>/../shared/data`` into plain lists of ``Example``.

Pure Python (no torch), so the evaluator can share the exact same splits and label mappings.
Every row carries the labels of every head it can supervise, already mapped through
``pipeline.scoring.taxonomy`` (``None`` where the dataset says nothing about a head).
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.scoring import taxonomy
from pipeline.settings import PROJECT_ROOT

DEFAULT_DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"

SST2 = "sst2"
GOEMOTIONS = "goemotions"
BANKING77 = "banking77"
CLINC150 = "clinc150"
SEMEVAL = "semeval-twitter"
TWEETEVAL = "tweeteval-sentiment"
SOURCES = (SEMEVAL, SST2, GOEMOTIONS, BANKING77, CLINC150)
TWEETEVAL_LABELS = ("negative", "neutral", "positive")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_MENTION = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+")


@dataclass(frozen=True, slots=True)
class Example:
    """One text with every label it has (``None`` = this row does not supervise that head)."""

    text: str
    source: str
    fine_intent: str | None = None
    """The dataset's own intent name (BANKING77 category, CLINC150 intent)."""
    sentiment: str | None = None
    binary_sentiment: bool = False
    """True for SST-2 rows: only negative/positive are known (the neutral logit is masked)."""
    emotions: tuple[str, ...] | None = None
    intent: str | None = None
    banking77: str | None = None
    urgency: str | None = None


def _with_urgency(example: Example) -> Example:
    level = taxonomy.urgency_for(
        example.intent, example.fine_intent, example.emotions or (), example.sentiment
    )
    return replace(example, urgency=level)


def resolve_data_dir(data_dir: Path | str | None = None) -> Path:
    """The data directory (default ``<project>/../shared/data``); raise if it is missing."""
    path = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    if not path.is_absolute():
        path = (PROJECT_ROOT / path).resolve()
    if not (path / "README.md").exists():
        raise FileNotFoundError(f"{path} is not the shared data directory (no README.md)")
    return path


def load_sst2(data_dir: Path, split: str) -> list[Example]:
    """SST-2 ``train`` or ``dev`` (label 0 = negative, 1 = positive; columns label, text_a)."""
    rows: list[Example] = []
    with (data_dir / "sst2" / f"{split}.tsv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        for row in reader:
            sentiment = "positive" if row["label"].strip() == "1" else "negative"
            example = Example(
                row["text_a"].strip(), SST2, sentiment=sentiment, binary_sentiment=True
            )
            rows.append(_with_urgency(example))
    return rows


def goemotions_labels(data_dir: Path) -> list[str]:
    """The 28 GoEmotions names in id order (emotions.txt); checked against the taxonomy."""
    names = (data_dir / "goemotions" / "emotions.txt").read_text(encoding="utf-8").split()
    if tuple(names) != taxonomy.EMOTION_LABELS:
        raise ValueError("goemotions/emotions.txt differs from taxonomy.EMOTION_LABELS")
    return names


def load_goemotions(data_dir: Path, split: str) -> list[Example]:
    """GoEmotions ``train`` / ``dev`` / ``test`` with emotions, 3-class sentiment and intent."""
    names = goemotions_labels(data_dir)
    rows: list[Example] = []
    path = data_dir / "goemotions" / f"{split}.tsv"
    with path.open(encoding="utf-8", newline="") as handle:
        for fields in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            emotions = tuple(names[int(i)] for i in fields[1].split(","))
            example = Example(
                fields[0].strip(),
                GOEMOTIONS,
                sentiment=taxonomy.goemotions_sentiment(emotions),
                emotions=emotions,
                intent=taxonomy.goemotions_intent(emotions),
            )
            rows.append(_with_urgency(example))
    return rows


def banking77_labels(data_dir: Path) -> list[str]:
    """The 77 BANKING77 categories in ``categories.json`` order (the head's label order)."""
    labels: list[str] = json.loads((data_dir / "banking77" / "categories.json").read_text())
    if set(labels) != set(taxonomy.BANKING77_TO_INTENT):
        raise ValueError("banking77/categories.json differs from taxonomy.BANKING77_TO_INTENT")
    return labels


def load_banking77(data_dir: Path, split: str) -> list[Example]:
    """BANKING77 ``train`` / ``test`` with the fine category and its CX intent."""
    rows: list[Example] = []
    with (data_dir / "banking77" / f"{split}.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            category = row["category"]
            example = Example(
                row["text"].strip(),
                BANKING77,
                fine_intent=category,
                intent=taxonomy.banking77_intent(category),
                banking77=category,
            )
            rows.append(_with_urgency(example))
    return rows


def load_clinc150(data_dir: Path, split: str, *, include_oos: bool = True) -> list[Example]:
    """CLINC150 ``train`` / ``val`` / ``test`` (+ ``oos_<split>`` rows) with the CX intent."""
    data = json.loads((data_dir / "clinc150" / "data_full.json").read_text(encoding="utf-8"))
    pairs = list(data[split]) + (list(data[f"oos_{split}"]) if include_oos else [])
    rows: list[Example] = []
    for text, intent in pairs:
        example = Example(
            text.strip(), CLINC150, fine_intent=intent, intent=taxonomy.clinc150_intent(intent)
        )
        rows.append(_with_urgency(example))
    return rows


def decode_escapes(text: str) -> str:
    """Turn the SemEval files' literal ``\\uXXXX`` escapes (UTF-16 units) into characters."""
    if "\\u" not in text:
        return text
    units = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return units.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _unquote(text: str) -> str:
    """Drop the CSV-style quotes some SemEval files put around a tweet (``"..."``, ``""``)."""
    if len(text) > 1 and text[0] == text[-1] == '"':
        return text[1:-1].replace('""', '"')
    return text


def tweet_text(text: str) -> str:
    """A tweet as the TweetEval benchmark writes it: every @mention becomes ``@user``."""
    return _MENTION.sub("@user", " ".join(text.split()))


def tweet_match_key(text: str) -> str:
    """What two copies of one tweet share: mentions, links, case and spacing normalised."""
    return " ".join(_URL.sub("http", _MENTION.sub("@user", text)).lower().split())


def load_tweeteval(data_dir: Path, split: str) -> list[Example]:
    """TweetEval sentiment ``val`` or ``test`` (3 classes; 0 negative, 1 neutral, 2 positive)."""
    folder = data_dir / TWEETEVAL
    texts = (folder / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
    labels = (folder / f"{split}_labels.txt").read_text(encoding="utf-8").split()
    if len(texts) != len(labels):
        raise ValueError(f"{folder}/{split}: {len(texts)} texts but {len(labels)} labels")
    return [
        Example(" ".join(text.split()), TWEETEVAL, sentiment=TWEETEVAL_LABELS[int(label)])
        for text, label in zip(texts, labels, strict=True)
    ]


def load_semeval(data_dir: Path, exclude: Iterable[str] = ()) -> list[Example]:
    """Every SemEval 2013-2016 task A tweet once (by tweet id), minus the ``exclude`` texts.

    ``exclude`` holds texts that must not be trained on (the TweetEval val tweets, drawn from
    this same pool); they are matched by :func:`tweet_match_key`. Files are read in name order;
    the first copy of an id wins. Lines without id, label and text are skipped.
    """
    banned = {tweet_match_key(text) for text in exclude}
    seen: set[str] = set()
    rows: list[Example] = []
    for path in sorted((data_dir / SEMEVAL).glob("twitter-*-A.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            fields = line.split("\t")
            if len(fields) < 3 or fields[1] not in TWEETEVAL_LABELS or fields[0] in seen:
                continue
            seen.add(fields[0])
            text = tweet_text(_unquote(decode_escapes(fields[2])))
            if text and tweet_match_key(text) not in banned:
                rows.append(Example(text, SEMEVAL, sentiment=fields[1]))
    return rows


def cx_intent_eval_set(data_dir: Path) -> list[Example]:
    """What ``cx_intent_accuracy`` is measured on: BANKING77 test + CLINC150 test + oos_test."""
    return load_banking77(data_dir, "test") + load_clinc150(data_dir, "test", include_oos=True)


# -- splitting and subsampling --------------------------------------------------------------------
def stratified_holdout(
    examples: Sequence[Example],
    key: Callable[[Example], str | None],
    per_class: int,
    seed: int,
) -> tuple[list[Example], list[Example]]:
    """Split off ``per_class`` random rows of every class of ``key``: (rest, held out)."""
    by_class: dict[str | None, list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        by_class[key(example)].append(index)
    rng = random.Random(seed)
    held: set[int] = set()
    for label in sorted(by_class, key=str):
        indices = by_class[label]
        held.update(rng.sample(indices, min(per_class, len(indices) // 2)))
    rest = [e for i, e in enumerate(examples) if i not in held]
    return rest, [e for i, e in enumerate(examples) if i in held]


def subsample(examples: Sequence[Example], limit: int | None, seed: int) -> list[Example]:
    """At most ``limit`` rows drawn at random (order kept); all of them when limit is None."""
    if limit is None or len(examples) <= limit:
        return list(examples)
    keep = set(random.Random(seed).sample(range(len(examples)), limit))
    return [e for i, e in enumerate(examples) if i in keep]


def subsample_per_fine_intent(
    examples: Sequence[Example], intent: str, per_fine_intent: int, seed: int
) -> list[Example]:
    """Keep at most ``per_fine_intent`` rows of each fine intent whose CX intent is ``intent``."""
    groups: dict[str, list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        if example.intent == intent:
            groups[example.fine_intent or ""].append(index)
    rng = random.Random(seed)
    drop: set[int] = set()
    for name in sorted(groups):
        indices = groups[name]
        if len(indices) > per_fine_intent:
            drop.update(set(indices) - set(rng.sample(indices, per_fine_intent)))
    return [e for i, e in enumerate(examples) if i not in drop]


def cap_intent_labels(examples: Sequence[Example], cap: int, seed: int) -> list[Example]:
    """Keep the intent label on at most ``cap`` random rows per intent; clear it on the rest.

    The rows stay (they still supervise their other heads, and keep the urgency derived from the
    full mapping); only the intent head stops seeing them. Used to stop one class swamping it.
    """
    groups: dict[str, list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        if example.intent is not None:
            groups[example.intent].append(index)
    rng = random.Random(seed)
    clear: set[int] = set()
    for name in sorted(groups):
        indices = groups[name]
        if len(indices) > cap:
            clear.update(set(indices) - set(rng.sample(indices, cap)))
    return [replace(e, intent=None) if i in clear else e for i, e in enumerate(examples)]


def polar_sentiment_only(examples: Sequence[Example]) -> list[Example]:
    """Keep only negative/positive sentiment labels, as binary (neutral logit masked).

    Used for GoEmotions: its "neutral" is a Reddit comment without emotion, not what a customer
    message without an opinion looks like, so 3-class neutral is learnt from the tweets only.
    """
    return [
        replace(e, binary_sentiment=True)
        if e.sentiment in ("negative", "positive")
        else replace(e, sentiment=None)
        for e in examples
    ]


def label_counts(examples: Iterable[Example], field: str) -> dict[str, int]:
    """How many rows carry each value of ``field`` (None not counted), most common first."""
    counts: dict[str, int] = defaultdict(int)
    for example in examples:
        value = getattr(example, field)
        if value is None:
            continue
        for item in value if isinstance(value, tuple) else (value,):
            counts[str(item)] += 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
