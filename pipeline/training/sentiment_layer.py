"""Fit the sentiment layer on real 3-class text (pipeline/scoring/layers.py).

Data: every SemEval 2013-2016 tweet (the TweetEval val tweets removed) and the fit split of the
project's labelled customer messages; the held-out split and TweetEval test are never read.
Steps (no torch; minutes, most of it computing sentence vectors):

1. sentence vectors of every text under the model (the layers ignored);
2. for each share of the total weight given to the customer messages (``SHARES``), a
   class-balanced multinomial logistic regression (scikit-learn) is scored twice: macro recall
   of the customer messages out of fold (5 folds, each fit on the tweets and the other folds)
   and macro recall on TweetEval val (fit on everything). The share with the best mean wins:
   a rule fixed before looking, so neither set alone picks it;
3. the layer is fitted on everything with that share, a temperature on TweetEval val (NLL);
4. the share of the head's own probabilities mixed into the layer's (``HEAD_WEIGHTS``) is the
   one with the best mean of TweetEval val macro recall and SST-2 dev accuracy (the head reads
   polar reviews better than a layer fitted on tweets and customer messages). Everything goes
   into the card with the numbers.

``python -m pipeline.training.sentiment_layer MODEL_DIR`` refits a model directory.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from pipeline.scoring import datasets as D
from pipeline.scoring import labelled
from pipeline.scoring.card import load_card
from pipeline.scoring.custom_intents.threshold import fold_of
from pipeline.scoring.evaluate import EVAL_BUCKET
from pipeline.scoring.layers import LinearLayer, layer_inputs
from pipeline.scoring.quality import fit_temperature, macro_recall, softmax
from pipeline.scoring.scorer import Scorer
from pipeline.training.card_text import write_card

Array = np.ndarray[Any, Any]
FEATURES = ["embedding"]
SHARES = (0.1, 0.2, 0.3, 0.4)
"""Share of the total training weight carried by the customer messages (the rest: tweets)."""
C = 1.0
"""Inverse L2 strength (scikit-learn's default; 0.3-10 gave the same val macro recall)."""
FOLDS = 5
BATCH = 64
HEAD_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def vectors_for(
    model_dir: Path, texts: Sequence[str], say: Callable[[str], None]
) -> tuple[Array, Array]:
    """Unit-length layer inputs (sentence vectors) of ``texts`` under ``model_dir``, and the
    sentiment head's own probabilities."""
    scorer = Scorer(model_dir, bucket_size=EVAL_BUCKET)
    scorer.card = scorer.card.model_copy(update={"sentiment_layer": None, "urgency_layer": None})
    assert scorer.card.embedding_output is not None
    rows, heads, started = [], [], time.monotonic()
    for start in range(0, len(texts), BATCH):
        pooled, _ = scorer.pooled(texts[start : start + BATCH])
        rows.append(layer_inputs(pooled[scorer.card.embedding_output], {}, FEATURES))
        heads.append(scorer.head_probabilities(pooled)["sentiment"])
        done = min(start + BATCH, len(texts))
        if done % (BATCH * 100) == 0 or done == len(texts):
            rate = done / max(time.monotonic() - started, 1e-9)
            say(f"  sentence vectors {done}/{len(texts)} ({rate:.0f}/s)")
    return np.vstack(rows), np.vstack(heads)


def weights_for(n_tweets: int, n_customers: int, share: float) -> Array:
    """Per-row weights (tweets first) giving the customers ``share`` of the total, mean 1."""
    total = n_tweets + n_customers
    return np.concatenate(
        [
            np.full(n_tweets, (1 - share) * total / max(n_tweets, 1)),
            np.full(n_customers, share * total / max(n_customers, 1)),
        ]
    )


def fit_regression(inputs: Array, y_true: Array, weights: Array) -> LogisticRegression:
    """Class-balanced multinomial logistic regression."""
    model = LogisticRegression(C=C, max_iter=3000, class_weight="balanced")
    return model.fit(inputs, y_true, sample_weight=weights)


def choose_share(
    tweets: tuple[Array, Array], customers: tuple[Array, Array], val: tuple[Array, Array]
) -> tuple[float, dict[float, dict[str, float]]]:
    """The share with the best mean of customer out-of-fold and TweetEval val macro recall."""
    (xt, yt), (xc, yc), (xv, yv) = tweets, customers, val
    fold = fold_of(yc, FOLDS)
    table: dict[float, dict[str, float]] = {}
    for share in SHARES:
        predicted = np.zeros(len(yc), dtype=np.int64)
        for k in range(FOLDS):
            train = fold != k
            weights = weights_for(len(yt), int(train.sum()), share)
            model = fit_regression(
                np.vstack([xt, xc[train]]), np.concatenate([yt, yc[train]]), weights
            )
            predicted[~train] = model.predict(xc[~train])
        full = fit_regression(
            np.vstack([xt, xc]), np.concatenate([yt, yc]), weights_for(len(yt), len(yc), share)
        )
        cv = macro_recall(yc, predicted, 3)
        on_val = macro_recall(yv, full.predict(xv), 3)
        table[share] = {
            "customer_cv_macro_recall": round(cv, 4),
            "customer_cv_negative_recall": round(float(np.mean(predicted[yc == 0] == 0)), 4),
            "val_macro_recall": round(on_val, 4),
        }
    best = max(
        SHARES,
        key=lambda s: (table[s]["customer_cv_macro_recall"] + table[s]["val_macro_recall"], -s),
    )
    return best, table


def choose_head_weight(
    val: tuple[Array, Array, Array], sst: tuple[Array, Array, Array], labels: list[str]
) -> tuple[float, dict[float, dict[str, float]]]:
    """The head weight with the best mean of TweetEval val macro recall and SST-2 dev accuracy;
    each set is (layer probabilities, head probabilities, truth)."""
    neg, pos = labels.index("negative"), labels.index("positive")
    table: dict[float, dict[str, float]] = {}
    for w in HEAD_WEIGHTS:
        on_val = (1 - w) * val[0] + w * val[1]
        on_sst = (1 - w) * sst[0] + w * sst[1]
        polar = np.where(on_sst[:, neg] > on_sst[:, pos], neg, pos)
        table[w] = {
            "val_macro_recall": round(macro_recall(val[2], on_val.argmax(axis=1), 3), 4),
            "sst2_dev_accuracy": round(float(np.mean(polar == sst[2])), 4),
        }
    best = max(HEAD_WEIGHTS, key=lambda w: (sum(table[w].values()), -w))
    return best, table


def fit(
    model_dir: Path,
    data_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
    *,
    limit: int | None = None,
) -> dict[str, Any]:
    """Fit the layer for ``model_dir`` and store it in the card; ``limit``: at most that many
    tweets, val tweets and SST-2 reviews, and about that many customer messages (smoke builds)."""
    say = progress or (lambda _: None)
    card = load_card(model_dir)
    head = card.head("sentiment")
    if card.embedding_output is None or head is None:
        raise LookupError(f"{model_dir}: the model needs an embedding output and a sentiment head")
    labels = list(head.labels)
    data = D.resolve_data_dir(data_dir)
    val = D.load_tweeteval(data, "val")
    tweets = D.load_semeval(data, exclude=[e.text for e in val])
    customers = labelled.load("fit")
    if limit is not None:
        tweets, val = D.subsample(tweets, limit, 13), D.subsample(val, limit, 13)
        customers = customers[:: max(1, len(customers) // limit)]
    say(
        f"sentiment layer: {len(tweets)} tweets, {len(customers)} customer messages, {len(val)} val"
    )
    sst = D.subsample(D.load_sst2(data, "dev"), limit, 13)
    xt, _ = vectors_for(model_dir, [e.text for e in tweets], say)
    xc, _ = vectors_for(model_dir, [m.text for m in customers], say)
    xv, hv = vectors_for(model_dir, [e.text for e in val], say)
    xs, hs = vectors_for(model_dir, [e.text for e in sst], say)
    yt = np.array([labels.index(str(e.sentiment)) for e in tweets])
    yc = np.array([labels.index(m.sentiment) for m in customers])
    yv = np.array([labels.index(str(e.sentiment)) for e in val])
    share, table = choose_share((xt, yt), (xc, yc), (xv, yv))
    for s, row in table.items():
        say(f"  customer share {s:.1f}: " + ", ".join(f"{k} {v:.4f}" for k, v in row.items()))
    model = fit_regression(
        np.vstack([xt, xc]), np.concatenate([yt, yc]), weights_for(len(yt), len(yc), share)
    )
    val_logits = model.decision_function(xv)
    temperature = fit_temperature(val_logits, yv)
    ys = np.array([labels.index(str(e.sentiment)) for e in sst])
    head_weight, mixes = choose_head_weight(
        (softmax(val_logits, temperature), hv, yv),
        (softmax(model.decision_function(xs), temperature), hs, ys),
        labels,
    )
    for w, row in mixes.items():
        say(f"  head weight {w:.1f}: " + ", ".join(f"{k} {v:.4f}" for k, v in row.items()))
    quality = {
        **table[share],
        **mixes[head_weight],
        "head_weight": head_weight,
        "val_macro_recall_layer_alone": round(
            macro_recall(yv, softmax(val_logits, temperature).argmax(axis=1), 3), 4
        ),
        "customer_share": share,
        "temperature": temperature,
        "tweets": float(len(tweets)),
        "customer_messages": float(len(customers)),
    }
    layer = LinearLayer(
        labels=labels,
        features=FEATURES,
        weights=model.coef_.round(6).tolist(),
        bias=model.intercept_.round(6).tolist(),
        temperature=temperature,
        head_weight=head_weight,
        fitted_on=f"SemEval 2013-2016 tweets ({len(tweets)}, TweetEval val removed) and the fit "
        f"split of the labelled customer messages ({len(customers)}, {share:.0%} of the weight); "
        "temperature on TweetEval val; held-out split and TweetEval test never used",
        quality=quality,
    )
    entry = {
        "method": "class-balanced multinomial logistic regression on the sentence vector; the "
        f"customer messages' share of the weight chosen from {list(SHARES)} by the mean of "
        f"customer {FOLDS}-fold and TweetEval val macro recall; temperature by NLL on "
        f"TweetEval val; the head's own probabilities mixed in with the weight from "
        f"{list(HEAD_WEIGHTS)} with the best mean of TweetEval val macro recall and SST-2 dev "
        "accuracy",
        "by_head_weight": {str(w): row for w, row in mixes.items()},
        "by_share": {str(s): row for s, row in table.items()},
        **quality,
    }
    calibration = {**card.calibration, "sentiment_layer": entry}
    write_card(
        card.model_copy(update={"sentiment_layer": layer, "calibration": calibration}), model_dir
    )
    say(
        f"sentiment layer: customer share {share:.1f}, T {temperature:.3f}, TweetEval val macro "
        f"recall {quality['val_macro_recall']:.4f}, customer CV macro recall "
        f"{quality['customer_cv_macro_recall']:.4f}"
    )
    return entry


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m pipeline.training.sentiment_layer``."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.training.sentiment_layer", description=__doc__.splitlines()[0]
    )
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None, help="at most N tweets (smoke runs)")
    args = parser.parse_args(argv)
    fit(
        args.model_dir,
        args.data_dir,
        progress=lambda line: print(line, file=sys.stderr),
        limit=args.limit,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
