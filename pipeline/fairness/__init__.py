"""Fairness audit: does the model score the same message differently when only the person changes?

``corpus`` builds template sentences that differ only in a gendered word, a first name or a
dialect's phrasing; ``metrics`` holds the seeded bootstrap; ``audit`` scores the corpus and the
labelled CX set with any object that has the runtime scorer's ``score`` method; ``gate`` loads
the thresholds file and judges each gap; ``report`` renders the result (``cxstream audit``,
docs/fairness.md).
"""
