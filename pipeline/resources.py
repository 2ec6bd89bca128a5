"""Where cxstream finds its bundled files and keeps its local state.

Run from a source checkout (``make demo``, ``make test``), everything stays in the checkout:
the model under ``models/``, the broker's Maven files under ``deploy/kafka/``, state under
``.cxstream/``, broker jars under ``.cache/kafka/``. Installed from a wheel (``pip install .``),
the same files ship as the data packages ``cxstream_data.models``, ``cxstream_data.kafka``,
``cxstream_data.schemas``, ``cxstream_data.intents``, ``cxstream_data.labelled`` and
``cxstream_data.audit``
(pyproject.toml), and state goes under ``~/.cxstream`` and ``~/.cache/cxstream``. Every path
is also a setting (``CXSTREAM_MODEL_DIR``, ``CXSTREAM_STATE_DIR``, ``CXSTREAM_KAFKA_HOME``…).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parent.parent
"""The repository root when running from a checkout (the parent of the package otherwise)."""
IN_CHECKOUT = (SOURCE_ROOT / "pyproject.toml").is_file() and (SOURCE_ROOT / "models").is_dir()

_CHECKOUT_DIRS = {
    "models": SOURCE_ROOT / "models",
    "kafka": SOURCE_ROOT / "deploy" / "kafka",
    "schemas": SOURCE_ROOT / "schemas",
    "intents": SOURCE_ROOT / "data" / "intents",
    "labelled": SOURCE_ROOT / "data" / "labelled",
    "audit": SOURCE_ROOT / "data" / "audit",
}


def bundled(kind: str) -> Path:
    """The directory of bundled ``models``, ``kafka`` (broker pom and configs), ``schemas`` or
    ``intents`` (the intent packs, docs/intents.md), ``labelled`` (the project's labelled
    customer messages, docs/labelling.md) or ``audit`` (the fairness audit's thresholds,
    docs/fairness.md)."""
    if IN_CHECKOUT:
        return _CHECKOUT_DIRS[kind]
    spec = importlib.util.find_spec(f"cxstream_data.{kind}")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"cxstream's bundled {kind} are not installed (cxstream_data)")
    return Path(next(iter(spec.submodule_search_locations)))


STATE_HOME = SOURCE_ROOT / ".cxstream" if IN_CHECKOUT else Path.home() / ".cxstream"
"""Default state directory: broker data and logs, worker state, benchmark results."""
CACHE_HOME = SOURCE_ROOT / ".cache" if IN_CHECKOUT else Path.home() / ".cache" / "cxstream"
"""Default cache: the broker jars fetched from Maven Central."""
DATA_HOME = SOURCE_ROOT.parent / "shared" / "data" if IN_CHECKOUT else STATE_HOME / "data"
"""Default location of the public labelled datasets (``cxstream models eval``)."""
