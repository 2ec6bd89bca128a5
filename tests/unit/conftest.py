"""Hypothesis for the unit tests: failures are stored and printed so they can be replayed.

Every failing example is saved in ``.hypothesis/examples`` (git-ignored, at the repository root
whatever the working directory) and tried first on the next run, so a failure found once
keeps failing until it is fixed. ``print_blob=True`` prints a ``@reproduce_failure(...)``
line with the failure: paste it above the test to replay that exact example anywhere (CI
included, where the local database is not). A run's seed can be fixed with
``pytest --hypothesis-seed=N``.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

EXAMPLES = Path(__file__).resolve().parents[2] / ".hypothesis" / "examples"

settings.register_profile(
    "cxstream",
    database=DirectoryBasedExampleDatabase(str(EXAMPLES)),
    print_blob=True,
)
settings.load_profile("cxstream")
