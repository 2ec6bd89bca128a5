"""Fixtures for the training-side tests: tiny Hugging Face checkpoints built on the spot.

These tests need torch and transformers: ``make test`` runs them in the training venv
(``.venv-train``) and runs the rest of the suite with ``--ignore=tests/train``.
Nothing is downloaded: checkpoints are random-weight BERTs with a hand-written vocab.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# Not a skip: where these tests run (``make test-train``, in the training venv) a missing torch
# or transformers is a broken environment, and a silent skip would pass it as green.
try:
    import torch  # noqa: F401
    import transformers  # noqa: F401
except ImportError as exc:
    raise ImportError(
        f"tests/train needs torch and transformers ({exc}): run them with `make test-train` "
        "(the training venv .venv-train); the main venv's suite runs with --ignore=tests/train"
    ) from exc

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


_WORDS = (
    "the a an i my me you your we it is was are be been to of and or for on in at with this that "
    "not no please thanks thank help card account order refund parcel package delivery late "
    "broken great love hate terrible awful good bad service app crash login password reset "
    "charged twice money transfer declined fees invoice cancel subscription agent friendly "
    "slow fast today week waiting hour phone why where when how can could would like want "
    "need lost block stolen new address change price prices up again happy angry sad"
)
WORDS = _WORDS.split()

TEXTS = [
    "my card was charged twice for the same order",
    "thanks a lot the refund was fast great service",
    "i would like to change the delivery address please",
    "the app crash again i can not login this is terrible",
    "when can you help me",
    "awful service i want to cancel my account today",
    "the agent was friendly and fast",
    "where is my package it was late",
    "ok",
    "i lost my card please block it",
    "your prices went up again",
    "i love the new app",
    "why was my transfer declined",
    "i have been waiting on the phone for an hour",
    "please cancel my subscription",
    "the parcel was broken and late",
    "how can i reset my password",
    "great love it thanks",
    "someone stolen my card i did not make these payments",
    "hello i have a question about my invoice and the fees on it because the price is not "
    "what the agent said on the phone last week and i am angry",
]


def build_checkpoint(
    directory: Path,
    *,
    id2label: dict[int, str] | None = None,
    num_labels: int = 3,
    problem_type: str | None = None,
    seed: int = 0,
    arch: str = "bert",
) -> Path:
    """Save a tiny random classifier (bert | distilbert | roberta) + fast tokenizer."""
    import torch
    import transformers

    directory.mkdir(parents=True, exist_ok=True)
    extra: dict[str, Any] = {"problem_type": problem_type, "num_labels": num_labels}
    if id2label is not None:
        extra.update(
            id2label=id2label,
            label2id={v: k for k, v in id2label.items()},
            num_labels=len(id2label),
        )
    # larger random weights (initializer_range): logits far enough apart for the int8 checks
    size: dict[str, Any] = {"max_position_embeddings": 64, "initializer_range": 0.2}
    if arch == "roberta":
        from tokenizers import ByteLevelBPETokenizer

        bpe = ByteLevelBPETokenizer()
        bpe.train_from_iterator(
            TEXTS * 3, vocab_size=400, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
        )
        bpe.save_model(str(directory))
        tokenizer = transformers.RobertaTokenizerFast.from_pretrained(directory)
        config: Any = transformers.RobertaConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            pad_token_id=1,
            type_vocab_size=1,
            **{**size, "max_position_embeddings": 66},  # 64 usable: positions start at 2
            **extra,
        )
        model_class: Any = transformers.RobertaForSequenceClassification
    else:
        vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *dict.fromkeys(WORDS)]
        (directory / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
        if arch == "distilbert":
            tokenizer = transformers.DistilBertTokenizerFast.from_pretrained(directory)
            config = transformers.DistilBertConfig(
                vocab_size=len(vocab), dim=32, n_layers=2, n_heads=2, hidden_dim=64, **size, **extra
            )
            model_class = transformers.DistilBertForSequenceClassification
        else:
            tokenizer = transformers.BertTokenizerFast.from_pretrained(directory)
            config = transformers.BertConfig(
                vocab_size=len(vocab),
                hidden_size=32,
                num_hidden_layers=2,
                num_attention_heads=2,
                intermediate_size=64,
                **size,
                **extra,
            )
            model_class = transformers.BertForSequenceClassification
    torch.manual_seed(seed)
    model = model_class(config).eval()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Factory of checkpoints, each built once per session and keyed by name."""
    root = tmp_path_factory.mktemp("hf")
    built: dict[str, Path] = {}

    def get(name: str, **kwargs: Any) -> Path:
        if name not in built:
            built[name] = build_checkpoint(root / name, **kwargs)
        return built[name]

    return get


@pytest.fixture(scope="session")
def sentiment_ckpt(checkpoints: Callable[..., Path]) -> Path:
    return checkpoints("tiny-sentiment", id2label={0: "NEGATIVE", 1: "NEUTRAL", 2: "POSITIVE"})


@pytest.fixture(scope="session")
def emotion_ckpt(checkpoints: Callable[..., Path]) -> Path:
    labels = ["anger", "joy", "sadness", "fear", "neutral"]
    return checkpoints(
        "tiny-emotion",
        id2label=dict(enumerate(labels)),
        problem_type="multi_label_classification",
        seed=1,
    )
