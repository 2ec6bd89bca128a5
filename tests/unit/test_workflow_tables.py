"""The workflow state over plain dicts: reads, writes, the table bound and the timer's deadlines.

The agent runs the same code on its Faust tables (tests/unit/test_workflow_agent.py).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from pipeline.metrics import Metrics
from pipeline.workflow.config import load_rules
from pipeline.workflow.engine import Workflow
from pipeline.workflow.state import conversation_of
from pipeline.workflow.tables import Deadlines, WorkflowTables
from tests.unit.workflow_factory import enriched

RULES = load_rules()


def _tables() -> tuple[WorkflowTables, dict[bytes, bytes], dict[bytes, bytes], Metrics]:
    customers: dict[bytes, bytes] = {}
    conversations: dict[bytes, bytes] = {}
    metrics = Metrics(registry=CollectorRegistry())
    return (
        WorkflowTables(customers, conversations, Deadlines(), metrics),
        customers,
        conversations,
        metrics,
    )


def test_an_event_state_round_trips_and_sets_the_deadline() -> None:
    tables, customers, conversations, _ = _tables()
    question = enriched("hello? anyone?", minutes=0, interaction_id="ix-wait")
    conv_key = f"cus_test/{conversation_of(question)}"
    outcome = Workflow(RULES).on_event(question, tables.customer("cus_test"), None)
    tables.write_event_state("cus_test", conv_key, outcome)
    state = tables.customer("cus_test")
    assert state is not None and state.interactions == 1
    assert tables.conversation(conv_key) is not None
    assert set(tables.waiting_conversations("cus_test", state)) == {"conv-1"}
    assert set(customers) == {b"cus_test"} and set(conversations) == {conv_key.encode()}
    assert tables.deadlines.due(float("inf")) == ["cus_test"]  # the reply SLA


def test_a_state_over_the_table_bound_is_not_written() -> None:
    tables, customers, _, metrics = _tables()
    event = enriched("hi", minutes=0)
    outcome = Workflow(RULES).on_event(event, None, None)
    outcome.customer.last_intent = "x" * 950_000  # over MAX_TABLE_VALUE_BYTES
    tables.write_event_state("cus_test", "cus_test/conv-1", outcome)
    assert customers == {}
    assert len(tables.deadlines) == 0
    value = metrics.registry.get_sample_value
    assert value("cxstream_processing_errors_total", {"stage": "workflow"}) == 1


def test_deadlines_rebuild_from_the_table_and_skip_unreadable_states() -> None:
    tables, customers, _, _ = _tables()
    question = enriched("hello? anyone?", minutes=0, interaction_id="ix-wait")
    outcome = Workflow(RULES).on_event(question, None, None)
    tables.write_event_state("cus_test", "cus_test/conv-1", outcome)
    customers[b"cus_broken"] = b"not json"
    deadlines = Deadlines()
    assert deadlines.rescan_due
    assert deadlines.rescan(customers, RULES) == 1
    assert not deadlines.rescan_due
    assert deadlines.due(0.0) == [] and deadlines.due(float("inf")) == ["cus_test"]
    deadlines.forget("cus_test")
    assert deadlines.due(float("inf")) == []
    deadlines.rebalanced()
    assert deadlines.rescan_due
