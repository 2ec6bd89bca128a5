"""Readable labels for clusters: their most distinctive words by class-based TF-IDF.

Every cluster's texts are one document (a *class*); a term weighs its frequency in the class
(L1-normalised) times ``log(1 + A / f)``, where ``A`` is the mean number of terms per class and
``f`` the term's frequency over all classes (Grootendorst 2022, BERTopic's c-TF-IDF): words
that every cluster uses ("order", "please") sink, the words that make this cluster different
rise. Terms are words of three letters or more and pairs of adjacent such words, without a short
list of English function words; numbers, ids and redaction placeholders never qualify.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from itertools import pairwise

WORD = re.compile(r"[a-z][a-z']{2,}")
PHRASE_BREAK = re.compile(r"[.!?,;:()\n]+")
STOP_WORDS = frozenset(
    (
        "about", "after", "again", "all", "also", "and", "any", "are", "been", "before", "being",
        "but", "can", "cannot", "could", "did", "does", "doing", "don't", "for", "from", "had",
        "has", "have", "having", "her", "here", "him", "his", "how", "i'm", "i've", "into",
        "its", "it's", "just", "let's", "more", "most", "not", "now", "off", "once", "only",
        "other", "our", "out", "over", "own", "same", "she", "should", "some", "such", "than",
        "that", "the", "their", "them", "then", "there", "these", "they", "this", "those",
        "through", "too", "under", "until", "very", "was", "were", "what", "when", "where",
        "which", "while", "who", "why", "will", "with", "would", "you", "your", "you're", "yet",
        "get", "got", "um", "uh", "yeah", "hello", "thanks", "thank", "please",
    )
)  # fmt: skip
KEYWORDS = 5
LABEL_TERMS = 3


def terms(text: str) -> list[str]:
    """The words and adjacent word pairs (within a phrase) of ``text`` that may label a
    cluster."""
    found: list[str] = []
    pairs: list[str] = []
    for phrase in PHRASE_BREAK.split(text.lower()):
        words = [w.strip("'") for w in WORD.findall(phrase)]
        words = [w for w in words if len(w) >= 3 and w not in STOP_WORDS]
        found += words
        pairs += [f"{a} {b}" for a, b in pairwise(words)]
    return found + pairs


def distinctive_terms(
    classes: Mapping[str, Iterable[str]], target: str, top: int = KEYWORDS
) -> list[str]:
    """The ``top`` terms of class ``target`` with the highest c-TF-IDF weight.

    A word that mostly occurs in one pair is shown as that pair, and no word is shown twice
    ("promo code" makes "promo" and "code" redundant); ties go to the more frequent, then
    alphabetical, term."""
    counts = {
        name: Counter(t for text in texts for t in terms(text)) for name, texts in classes.items()
    }
    own = counts.get(target)
    if not own:
        return []
    overall: Counter[str] = Counter()
    for counter in counts.values():
        overall.update(counter)
    average = sum(overall.values()) / len(counts)
    size = sum(own.values())
    weights = {term: (n / size) * math.log(1 + average / overall[term]) for term, n in own.items()}
    ranked = sorted(weights, key=lambda t: (-weights[t], -own[t], t))
    pairs = [t for t in ranked if " " in t]
    chosen: list[str] = []
    for term in ranked:
        if " " not in term:
            # a word mostly used in one pair is shown as that pair ("code" → "promo code")
            term = next((p for p in pairs if term in p.split() and 2 * own[p] >= own[term]), term)
        taken = {word for pick in chosen for word in pick.split()}
        if taken & set(term.split()):
            continue
        if own[term] < 2 and len(own) > top:  # a one-off word labels nothing
            continue
        chosen.append(term)
        if len(chosen) == top:
            break
    return chosen


def label_of(keywords: list[str]) -> str:
    """The label shown to people: the first few keywords."""
    return " / ".join(keywords[:LABEL_TERMS]) or "(no distinctive words)"
