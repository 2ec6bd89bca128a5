"""Mutation testing of the pure cores with mutmut, module by module (`make mutation`).

Each module runs in its own workspace under ``.mutation/<module>/``: a copy of ``pipeline/`` and
the unit tests plus a generated ``setup.cfg`` that tells mutmut to mutate that one file and to run
only the unit tests that cover it. The project's ``pyproject.toml`` has no ``[tool.mutmut]`` table
on purpose (mutmut is not a project dependency: it lives in ``.venv-mutation``), and mutmut reads
``setup.cfg`` when that table is missing. A workspace is made anew on every run, so a result never
comes from a cache of older code or tests.

A mutant is *killed* when a test fails (or it runs past its time limit), and *survives* when
every test passes or when no selected test reaches the mutated function. The score is killed /
(killed + survived); the run exits non-zero when a module scores under ``--minimum`` percent.
Survivors are listed by name; ``--show`` prints each one's diff (or run
``.venv-mutation/bin/mutmut show NAME`` inside the module's workspace).

Run from the repository root with the mutation venv's Python:
``.venv-mutation/bin/python tools/mutation.py [--module dedupe ...] [--show]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutation"
UNIT = "tests/unit"

# The pure cores and the unit tests that cover each one, quickest first (rules.py takes the
# longest: nearly every test of the workflow reaches it).
MODULES: dict[str, tuple[str, ...]] = {
    "pipeline/resolve/dedupe.py": (
        "test_dedupe.py",
        "test_resolve.py",
        "test_normalise_text.py",
    ),
    "pipeline/standardise/normalise/phones.py": ("test_normalise_phones.py",),
    "pipeline/standardise/normalise/timestamps.py": ("test_normalise_timestamps.py",),
    "pipeline/scoring/layers.py": ("test_fitted_pieces.py",),
    "pipeline/standardise/normalise/text.py": (
        "test_normalise_text.py",
        "test_standardise_hygiene.py",
    ),
    "pipeline/standardise/normalise/emails.py": ("test_normalise_emails.py",),
    "pipeline/resolve/resolver.py": ("test_resolve.py",),
    "pipeline/standardise/normalise/language.py": (
        "test_normalise_text.py",
        "test_languages.py::test_the_issues_examples_are_detected_at_standardise",
        "test_hostile_input.py::test_detect_language",
    ),
    "pipeline/standardise/normalise/payload.py": (
        # test_hostile_input.py by node id: its other tests load the model, run the workflow
        # or generate whole channel events, and take most of its 30 s.
        "test_standardise.py",
        "test_hostile_input.py::test_standardise_arbitrary_bytes",
        "test_hostile_input.py::test_standardise_invalid_utf8",
        "test_hostile_input.py::test_standardise_deep_nesting",
        "test_hostile_input.py::test_standardise_edge_payloads",
        "test_hostile_input.py::test_lone_surrogate_escapes_are_rejected_as_not_unicode",
    ),
    "pipeline/scoring/quality.py": (
        "test_quality_metrics.py",
        "test_fitted_pieces.py",
    ),
    "pipeline/workflow/routing.py": (
        # The routing tests of two slow files (their other tests load the model).
        "test_routing.py",
        "test_languages.py::test_an_unreadable_message_goes_to_its_language_queue",
        "test_languages.py::test_a_raised_tier_and_a_high_stakes_word_raise_the_priority_but_keep_the_queue",
        "test_languages.py::test_an_agent_reply_in_another_language_is_not_routed_to_a_person",
        "test_languages.py::test_other_unscored_events_are_still_not_routed",
        "test_languages.py::test_the_language_queues_come_from_the_rules_file",
        "test_languages.py::test_rules_without_language_queues_use_the_default_queue",
        "test_custom_intents.py::test_routing_takes_the_pack_queue_and_priority_floor",
        "test_custom_intents.py::test_routing_rules_can_name_a_queue_per_custom_intent",
        "test_custom_intents.py::test_out_of_scope_and_queueless_custom_intents_route_by_the_model_intent",
    ),
    "pipeline/resolve/identity.py": (
        "test_identity.py",
        "test_resolve.py",
    ),
    "pipeline/workflow/lifecycle.py": (
        "test_workflow_lifecycle.py",
        "test_workflow_rules.py",
    ),
    "pipeline/standardise/standardiser.py": (
        "test_standardise.py",
        "test_standardise_hygiene.py",
        "test_standardise_redaction.py",
        "test_hostile_input.py::test_standardise_edge_payloads",
        "test_hostile_input.py::test_any_broker_timestamp_is_accepted",
        "test_hostile_input.py::test_standardise_huge_text",
    ),
    "pipeline/workflow/rules.py": (
        "test_workflow_rules.py",
        "test_workflow_lifecycle.py",
    ),
}

# mutmut's exit codes per mutant (mutmut.__main__.status_by_exit_code), folded into two verdicts.
KILLED = {1: "killed", 3: "killed", 36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout"}
KILLED |= {255: "timeout", 37: "type check", -11: "crash", -9: "crash"}
SURVIVED = {0: "survived", 33: "no tests", 5: "no tests", 35: "suspicious"}


@dataclass(frozen=True)
class ModuleResult:
    """One module's mutants and how they ended."""

    module: str
    mutants: int
    killed: int
    survivors: tuple[str, ...]
    not_run: int
    seconds: float

    @property
    def survived(self) -> int:
        return len(self.survivors)

    @property
    def score(self) -> float:
        decided = self.killed + self.survived
        return 100.0 * self.killed / decided if decided else 100.0


def workspace_for(module: str) -> Path:
    return WORK / module.removeprefix("pipeline/").removesuffix(".py").replace("/", ".")


def setup_cfg(module: str, tests: tuple[str, ...], timeout_s: int) -> str:
    """mutmut's settings for one module: mutate that file, run only its unit tests."""
    lines = [
        "[mutmut]",
        "source_paths = pipeline/",
        f"only_mutate = {module}",
        "pytest_add_cli_args_test_selection =",
        *(f"    {UNIT}/{test}" for test in tests),
        # Every mutant's test run is bounded twice: pytest-timeout per test, and mutmut's own
        # wall-clock limit of (the covering tests' clean time + constant) x multiplier.
        "pytest_add_cli_args =",
        "    -p",
        "    no:cacheprovider",
        f"    --timeout={timeout_s}",
        "timeout_multiplier = 5.0",
        "timeout_constant = 5.0",
        # The workspace is no git checkout; a fresh one is made for every run anyway.
        "use_git_change_detection = false",
        "",
    ]
    return "\n".join(lines)


def make_workspace(module: str, tests: tuple[str, ...], timeout_s: int) -> Path:
    workspace = workspace_for(module)
    shutil.rmtree(workspace, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "pipeline", workspace / "pipeline", ignore=ignore)
    (workspace / "tests").mkdir(parents=True)
    for name in ("__init__.py", "conftest.py"):
        shutil.copy2(ROOT / "tests" / name, workspace / "tests" / name)
    shutil.copytree(ROOT / UNIT, workspace / UNIT, ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", workspace / "pyproject.toml")
    (workspace / "setup.cfg").write_text(setup_cfg(module, tests, timeout_s))
    return workspace


def read_result(module: str, workspace: Path, seconds: float) -> ModuleResult:
    meta = json.loads((workspace / "mutants" / f"{module}.meta").read_text())
    codes: dict[str, int | None] = meta["exit_code_by_key"]
    killed = sum(1 for code in codes.values() if code in KILLED)
    survivors = tuple(sorted(name for name, code in codes.items() if code in SURVIVED))
    not_run = len(codes) - killed - len(survivors)
    return ModuleResult(module, len(codes), killed, survivors, not_run, seconds)


def run_module(
    module: str, tests: tuple[str, ...], *, timeout_s: int, max_children: int, show: bool
) -> ModuleResult:
    workspace = make_workspace(module, tests, timeout_s)
    mutmut = str(Path(sys.executable).parent / "mutmut")
    print(f"==> {module} against {', '.join(tests)}", flush=True)
    started = time.monotonic()
    run = subprocess.run(
        [mutmut, "run", "--max-children", str(max_children)],
        cwd=workspace,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    log = workspace / "mutmut.log"
    log.write_text(run.stdout + run.stderr)
    if run.returncode != 0:
        sys.exit(f"mutmut failed on {module} (exit {run.returncode}); see {log}")
    result = read_result(module, workspace, seconds)
    for name in result.survivors:
        print(f"    survived: {name}")
        if show:
            diff = subprocess.run(
                [mutmut, "show", name], cwd=workspace, capture_output=True, text=True, check=False
            )
            print(diff.stdout)
    return result


def table(results: list[ModuleResult]) -> str:
    rows = [f"| {'module':<46} | mutants | killed | survived | score | seconds |"]
    rows.append(f"|{'-' * 48}|---------|--------|----------|-------|---------|")
    for r in results:
        rows.append(
            f"| {r.module:<46} | {r.mutants:>7} | {r.killed:>6} | {r.survived:>8} "
            f"| {r.score:>4.0f}% | {r.seconds:>7.0f} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--module",
        action="append",
        default=[],
        help="a module to test, by a part of its path (e.g. dedupe); repeatable; default: all",
    )
    parser.add_argument("--minimum", type=float, default=80.0, help="lowest score, in percent")
    parser.add_argument("--timeout", type=int, default=60, help="per-test timeout, seconds")
    parser.add_argument("--max-children", type=int, default=2, help="mutants run in parallel")
    parser.add_argument("--show", action="store_true", help="print each survivor's diff")
    args = parser.parse_args(argv)

    chosen = [m for m in MODULES if not args.module or any(part in m for part in args.module)]
    if not chosen:
        parser.error(f"no pure-core module matches {args.module}; known: {', '.join(MODULES)}")
    results = [
        run_module(
            module,
            MODULES[module],
            timeout_s=args.timeout,
            max_children=args.max_children,
            show=args.show,
        )
        for module in chosen
    ]
    print()
    print(table(results))
    low = [r for r in results if r.score < args.minimum or r.not_run]
    for r in low:
        print(f"{r.module}: {r.score:.1f}% killed, {r.not_run} not run (minimum {args.minimum}%)")
    return 1 if low else 0


if __name__ == "__main__":
    sys.exit(main())
