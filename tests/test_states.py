"""The machines as data: complete, consistent with the rules and pages, published as is.

The rows are what the DDIs read as their preconditions (machines/__init__.py),
what `condis states` prints and what docs/STATES.md shows; these tests check
that the three agree and that every guard has an answer in every state.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from condis.cli import main
from condis.machines import (
    BINDING_OPEN,
    CALL,
    MACHINES,
    PARTY,
    VC,
    CallInput,
    CallState,
    OpenInput,
    OpenState,
    PartyInput,
    PartyState,
    VcInput,
    VcState,
)
from condis.machines.render import inputs_for, markdown, to_json, to_mermaid
from condis.status import (
    NDIS_STATUS_CALL_ACTIVE,
    NDIS_STATUS_CLOSING,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_NOT_ACCEPTED,
)
from condis.verifier import RULES

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT.parent / "shared" / "spec"
NAMES = ["adapter", "binding", "binding-open", "af", "sap", "vc", "call", "party", "operation"]


def guard_inputs(machine: Any) -> set[Any]:
    """The inputs some state refuses: the ones a driver asks for."""
    return {event for (_, event), row in machine.rows.items() if row.target is None}


class TestEveryMachine:
    def test_the_machines(self) -> None:
        assert [m.name for m in MACHINES] == NAMES

    @pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
    def test_a_guard_answers_in_every_state(self, machine: Any) -> None:
        for event in guard_inputs(machine):
            missing = [s for s in machine.states if (s, event) not in machine.rows]
            assert missing == [], f"{machine.name}.{event.name} has no row in {missing}"

    @pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
    def test_a_refusal_says_what_the_ddi_returns_or_what_rule_broke(self, machine: Any) -> None:
        for pair, row in machine.rows.items():
            if row.target is None:
                assert row.status is not None or row.rule is not None, pair
            if row.rule is not None:
                assert row.rule in RULES, (pair, row.rule)

    @pytest.mark.parametrize("machine", [m for m in MACHINES if m.name != "operation"])
    def test_rows_cite_their_pages(self, machine: Any) -> None:
        for pair, row in machine.rows.items():
            assert re.match(r"^ddi/n[cfs]-[a-z]+-[a-z_]+\.md$", row.page), (pair, row.page)
            if SPEC.exists():
                assert (SPEC / row.page).is_file(), row.page

    @pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
    def test_tables_are_read_only(self, machine: Any) -> None:
        with pytest.raises(TypeError):
            machine.rows[next(iter(machine.rows))] = None

    @pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
    def test_guard_is_the_row_or_an_internal_error(self, machine: Any) -> None:
        from condis.errors import CondisInternalError
        from condis.machines import Transition

        for state, event in itertools.product(machine.states, machine.inputs):
            row = machine.rows.get((state, event))
            if isinstance(row, Transition):
                assert machine.guard(state, event) is row
            else:
                with pytest.raises(CondisInternalError):
                    machine.guard(state, event)


# --- the guards of the new tables, written out by hand from the pages ---------------------------

V, VI = VcState, VcInput
VC_GUARDS: dict[tuple[VcState, VcInput], tuple[VcState | None, object, str | None]] = {
    (V.CREATED, VI.ACTIVATE): (V.ACTIVATING, None, None),
    (V.ACTIVE, VI.ACTIVATE): (V.REACTIVATING, None, None),
    **{
        (s, VI.ACTIVATE): (None, NDIS_STATUS_FAILURE, None)
        for s in (V.ACTIVATING, V.REACTIVATING, V.DEACTIVATING, V.DELETED)
    },
    (V.ACTIVE, VI.DEACTIVATE): (V.DEACTIVATING, None, None),
    **{(s, VI.DEACTIVATE): (None, NDIS_STATUS_NOT_ACCEPTED, None) for s in V if s is not V.ACTIVE},
    (V.CREATED, VI.DELETE): (V.DELETED, None, None),
    (V.DEACTIVATING, VI.DELETE): (None, NDIS_STATUS_CLOSING, None),
    **{
        (s, VI.DELETE): (None, NDIS_STATUS_NOT_ACCEPTED, "CoNdisDeleteActiveVc")
        for s in (V.ACTIVATING, V.REACTIVATING, V.ACTIVE)
    },
    (V.DELETED, VI.DELETE): (None, NDIS_STATUS_FAILURE, "NdisHandleStale"),
    (V.ACTIVE, VI.SEND): (V.ACTIVE, None, None),
    (V.REACTIVATING, VI.SEND): (V.REACTIVATING, None, None),
    **{
        (s, VI.SEND): (None, None, "CoNdisSendOnInactiveVc")
        for s in (V.CREATED, V.ACTIVATING, V.DEACTIVATING, V.DELETED)
    },
    (V.ACTIVE, VI.CONNECT): (V.ACTIVE, None, None),
    **{(s, VI.CONNECT): (None, None, "CoNdisCallOnInactiveVc") for s in V if s is not V.ACTIVE},
}

C, CI = CallState, CallInput
LIVE = (C.MAKING, C.OFFERED, C.ACCEPTED, C.CONNECTED, C.CLOSE_INDICATED, C.CLOSING)
CALL_GUARDS: dict[tuple[CallState, CallInput], tuple[CallState | None, object, str | None]] = {
    (C.ACCEPTED, CI.CONNECTED): (C.CONNECTED, None, None),
    **{(s, CI.CONNECTED): (None, None, "CoNdisCallState") for s in C if s is not C.ACCEPTED},
    (C.ACCEPTED, CI.INCOMING_CLOSE): (C.CLOSE_INDICATED, None, None),
    (C.CONNECTED, CI.INCOMING_CLOSE): (C.CLOSE_INDICATED, None, None),
    **{
        (s, CI.INCOMING_CLOSE): (None, None, "CoNdisCallState")
        for s in C
        if s not in (C.ACCEPTED, C.CONNECTED)
    },
    (C.CONNECTED, CI.CLOSE): (C.CLOSING, None, None),
    (C.CLOSE_INDICATED, CI.CLOSE): (C.CLOSING, None, None),
    **{
        (s, CI.CLOSE): (None, NDIS_STATUS_FAILURE, "CoNdisCallState")
        for s in C
        if s not in (C.CONNECTED, C.CLOSE_INDICATED)
    },
    (C.CONNECTED, CI.MODIFY_QOS): (C.CONNECTED, None, None),
    (C.OFFERED, CI.MODIFY_QOS): (C.OFFERED, None, None),
    **{
        (s, CI.MODIFY_QOS): (None, NDIS_STATUS_FAILURE, None)
        for s in C
        if s not in (C.CONNECTED, C.OFFERED)
    },
    (C.CONNECTED, CI.INCOMING_QOS): (C.CONNECTED, None, None),
    **{(s, CI.INCOMING_QOS): (None, None, "CoNdisCallState") for s in C if s is not C.CONNECTED},
    (C.CONNECTED, CI.ADD_PARTY): (C.CONNECTED, None, None),
    **{(s, CI.ADD_PARTY): (None, NDIS_STATUS_FAILURE, None) for s in C if s is not C.CONNECTED},
    (C.CONNECTED, CI.SEND): (C.CONNECTED, None, None),
    (C.CLOSE_INDICATED, CI.SEND): (C.CLOSE_INDICATED, None, None),
    **{
        (s, CI.SEND): (None, None, "CoNdisSendOnInactiveVc")
        for s in C
        if s not in (C.CONNECTED, C.CLOSE_INDICATED)
    },
    (C.CLOSED, CI.REPLACE): (C.CLOSED, None, None),
    **{(s, CI.REPLACE): (None, NDIS_STATUS_CALL_ACTIVE, None) for s in LIVE},
}

P, PI = PartyState, PartyInput
PARTY_EXPECTED: dict[
    tuple[PartyState, PartyInput], tuple[PartyState | None, object, str | None]
] = {
    (P.ADDING, PI.ADD_SUCCEEDED): (P.CONNECTED, None, None),
    (P.ADDING, PI.ADD_FAILED): (P.DROPPED, None, None),
    (P.CONNECTED, PI.DROP): (P.DROPPING, None, None),
    (P.DROP_INDICATED, PI.DROP): (P.DROPPING, None, None),
    **{(s, PI.DROP): (None, NDIS_STATUS_FAILURE, None) for s in (P.ADDING, P.DROPPING, P.DROPPED)},
    (P.DROPPING, PI.DROP_SUCCEEDED): (P.DROPPED, None, None),
    (P.DROPPING, PI.DROP_FAILED): (P.CONNECTED, None, None),
    (P.CONNECTED, PI.INCOMING_DROP): (P.DROP_INDICATED, None, None),
    **{(s, PI.INCOMING_DROP): (None, None, "CoNdisCallState") for s in P if s is not P.CONNECTED},
    **{(s, PI.CALL_CLOSED): (P.DROPPED, None, None) for s in P if s is not P.DROPPED},
}

OS, OI = OpenState, OpenInput
OPEN_EXPECTED: dict[tuple[OpenState, OpenInput], tuple[OpenState | None, object, str | None]] = {
    (OS.NOT_OPENED, OI.OPEN): (OS.OPEN, None, None),
    **{(s, OI.OPEN): (None, NDIS_STATUS_FAILURE, None) for s in OS if s is not OS.NOT_OPENED},
    (OS.NOT_OPENED, OI.OPEN_PENDED): (OS.OPEN_PENDING, None, None),
    (OS.OPEN_PENDING, OI.OPEN_COMPLETED): (OS.OPEN, None, None),
    (OS.OPEN, OI.CLOSE): (OS.CLOSED, None, None),
    (OS.OPEN, OI.CLOSE_PENDED): (OS.CLOSE_PENDING, None, None),
    (OS.CLOSE_PENDING, OI.CLOSE_COMPLETED): (OS.CLOSED, None, None),
    (OS.OPEN, OI.USE): (OS.OPEN, None, None),
    (OS.OPEN_PENDING, OI.USE): (None, NDIS_STATUS_FAILURE, "NdisHandleNotYetValid"),
    (OS.NOT_OPENED, OI.USE): (None, NDIS_STATUS_FAILURE, "NdisHandleNotYetValid"),
    (OS.CLOSE_PENDING, OI.USE): (None, NDIS_STATUS_FAILURE, "NdisHandleStale"),
    (OS.CLOSED, OI.USE): (None, NDIS_STATUS_FAILURE, "NdisHandleStale"),
    (OS.OPEN, OI.REGISTER_AF): (OS.OPEN, None, None),
    **{(s, OI.REGISTER_AF): (None, NDIS_STATUS_FAILURE, None) for s in OS if s is not OS.OPEN},
}


def outcome(row: Any) -> tuple[Any, Any, Any]:
    return (row.target, row.status, row.rule)


@pytest.mark.parametrize(
    ("machine", "expected", "inputs"),
    [
        (VC, VC_GUARDS, {VI.ACTIVATE, VI.DEACTIVATE, VI.DELETE, VI.SEND, VI.CONNECT}),
        (
            CALL,
            CALL_GUARDS,
            {
                CI.CONNECTED,
                CI.INCOMING_CLOSE,
                CI.CLOSE,
                CI.MODIFY_QOS,
                CI.INCOMING_QOS,
                CI.ADD_PARTY,
                CI.SEND,
                CI.REPLACE,
            },
        ),
        (PARTY, PARTY_EXPECTED, set(PartyInput)),
        (BINDING_OPEN, OPEN_EXPECTED, set(OpenInput)),
    ],
    ids=["vc", "call", "party", "binding-open"],
)
def test_table_is_the_expectation(machine: Any, expected: dict[Any, Any], inputs: set[Any]) -> None:
    """Every (state, input) pair of these inputs, against the hand-written expectation."""
    actual = {pair: outcome(row) for pair, row in machine.rows.items() if pair[1] in inputs}
    assert actual == expected


# --- published: condis states, docs/STATES.md, condis ddi -----------------------------------------


def invoke(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_states_json_lists_every_machine_with_its_rows() -> None:
    lines = invoke("states", "--json").output.strip().splitlines()
    printed = [json.loads(line) for line in lines]
    assert [m["machine"] for m in printed] == NAMES
    for machine, out in zip(MACHINES, printed, strict=True):
        assert out == to_json(machine)
        assert len(out["rows"]) == len(machine.rows)
    ops = printed[-1]["operations"]
    assert {o["kind"] for o in ops} >= {"open-af", "make-call", "oid-request", "bind"}


def test_states_picks_one_machine_and_refuses_an_unknown_one() -> None:
    out = invoke("states", "party", "--diagram", "mermaid").output
    assert out.startswith("%% party:") and "CONNECTED --> DROPPING: DROP" in out
    result = CliRunner().invoke(main, ["states", "nope"])
    assert result.exit_code == 2 and "no machine 'nope'" in result.output


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
def test_mermaid_lines_are_plain_transitions(machine: Any) -> None:
    text = to_mermaid(machine)
    lines = text.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert lines[1] == f"    [*] --> {machine.initial.name}"
    for line in lines[2:]:
        assert re.fullmatch(r"    [A-Z_]+ --> [A-Z_]+: [A-Z_]+", line), line


def test_the_docs_page_is_the_tables() -> None:
    """docs/STATES.md is `condis states --markdown`; regenerate it when a table changes."""
    page = (ROOT / "docs" / "STATES.md").read_text()
    assert page == markdown()
    assert invoke("states", "--markdown").output == page


def test_ddi_says_where_each_ddi_lives_and_which_guards_it_drives() -> None:
    from condis import Ndis

    rows = [json.loads(line) for line in invoke("ddi", "--json").output.splitlines()]
    by_name = {r["name"]: r for r in rows}
    for name, route in Ndis.routes().items():
        if name in by_name:
            assert by_name[name]["lives_in"] == route.implementation
    assert by_name["NdisClMakeCall"]["lives_in"] == "condis.call.CallEngine.NdisClMakeCall"
    assert by_name["ProtocolCmOpenAf"]["lives_in"] == "condis.af"
    assert by_name["NdisClCloseAddressFamily"]["guards"] == ["af.CLOSE"]
    assert inputs_for("NdisMCmNotifyCloseAddressFamily") == ["af.NOTIFY_CLOSE"]
    assert all(r["lives_in"] for r in rows if r["implemented"])
