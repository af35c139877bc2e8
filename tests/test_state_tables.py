"""Every transition table, over every (state, input) pair.

Each table is checked against an expectation written out here by hand from
the module docstrings and the WDK pages, h11-style: all pairs, no sampling.
A pair without a row must be refused by the entity's step/move method with
its state left as it was. The records are built directly (the tables and
their records are public API), with the fewest fields each needs.
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from pathlib import Path

import pytest

from condis.adapters import ADAPTER_TRANSITIONS, Adapter, AdapterInput, AdapterState
from condis.af import (
    AF_TRANSITIONS,
    AfInput,
    AfRegistration,
    AfState,
    AfTransition,
    OpenAddressFamily,
)
from condis.bindings import BINDING_TRANSITIONS, Binding, BindingInput, BindingState
from condis.constants import CO_ADDRESS_FAMILY_Q2931, NDIS_MEDIUM
from condis.drivers import DriverBlock, DriverKind
from condis.errors import CondisInternalError
from condis.handles import AdapterHandle, AfHandle, BindContextHandle
from condis.ops import OP_TRANSITIONS, Operation, OpInput, OpState, OpTransition
from condis.structs import CO_ADDRESS_FAMILY, DRIVER_OBJECT
from condis.verifier import RULES

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec"

# --- the completion contract (ops.py) ---------------------------------------------------------

S, OI = OpState, OpInput
#: (state, input) -> (target, rule, delivers); a missing pair has no row.
OP_EXPECTED: dict[tuple[OpState, OpInput], tuple[OpState, str | None, bool] | None] = {
    # the handler is running
    (S.IN_HANDLER, OI.RETURNED): (S.DONE_SYNC, None, True),
    (S.IN_HANDLER, OI.RETURNED_PENDING): (S.PENDING, None, False),
    (S.IN_HANDLER, OI.COMPLETED): (S.COMPLETED_IN_HANDLER, None, True),
    # the driver completed before its handler returned: it must now return PENDING
    (S.COMPLETED_IN_HANDLER, OI.RETURNED_PENDING): (S.DONE_ASYNC, None, False),
    (S.COMPLETED_IN_HANDLER, OI.RETURNED): (S.DONE_ASYNC, "CoNdisCompletedButNotPended", False),
    (S.COMPLETED_IN_HANDLER, OI.COMPLETED): (S.COMPLETED_IN_HANDLER, "CoNdisDoubleComplete", False),
    # pended: exactly one completion
    (S.PENDING, OI.COMPLETED): (S.DONE_ASYNC, None, True),
    (S.PENDING, OI.RETURNED): None,
    (S.PENDING, OI.RETURNED_PENDING): None,
    # finished: a completion is a driver bug, a second return cannot happen
    (S.DONE_SYNC, OI.COMPLETED): (S.DONE_SYNC, "CoNdisCompleteNotPending", False),
    (S.DONE_SYNC, OI.RETURNED): None,
    (S.DONE_SYNC, OI.RETURNED_PENDING): None,
    (S.DONE_ASYNC, OI.COMPLETED): (S.DONE_ASYNC, "CoNdisDoubleComplete", False),
    (S.DONE_ASYNC, OI.RETURNED): None,
    (S.DONE_ASYNC, OI.RETURNED_PENDING): None,
}
OUTSTANDING = {S.IN_HANDLER, S.COMPLETED_IN_HANDLER, S.PENDING}
OP_PAIRS = list(itertools.product(OpState, OpInput))


def operation(state: OpState) -> Operation:
    return Operation(
        id=7,
        kind="open AF",
        handler="ProtocolCmOpenAf",
        completers=("NdisCmOpenAddressFamilyComplete",),
        handle=None,
        started=0,
        state=state,
    )


class TestOpTransitions:
    """condis.ops.OP_TRANSITIONS through Operation.step."""

    def test_expectation_covers_every_pair(self) -> None:
        assert set(OP_EXPECTED) == set(OP_PAIRS)
        assert set(OP_TRANSITIONS) <= set(OP_PAIRS)

    @pytest.mark.parametrize(("state", "event"), OP_PAIRS, ids=lambda v: v.name)
    def test_pair(self, state: OpState, event: OpInput) -> None:
        op = operation(state)
        expected = OP_EXPECTED[(state, event)]
        if expected is None:
            assert (state, event) not in OP_TRANSITIONS
            message = f"operation open AF#7: no row for {state} x {event}"
            with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
                op.step(event)
            assert op.state is state
            return
        target, rule, delivers = expected
        row = op.step(event)
        assert row == OpTransition(target, rule=rule, delivers=delivers)
        assert OP_TRANSITIONS[(state, event)] is row
        assert op.state is target

    @pytest.mark.parametrize("state", list(OpState), ids=lambda v: v.name)
    def test_outstanding(self, state: OpState) -> None:
        assert operation(state).outstanding is (state in OUTSTANDING)

    def test_rule_rows_are_the_violations(self) -> None:
        """Completing what never pended, completing twice, completing but not pending."""
        ruled = {pair: row.rule for pair, row in OP_TRANSITIONS.items() if row.rule}
        assert ruled == {
            (S.COMPLETED_IN_HANDLER, OI.RETURNED): "CoNdisCompletedButNotPended",
            (S.COMPLETED_IN_HANDLER, OI.COMPLETED): "CoNdisDoubleComplete",
            (S.DONE_SYNC, OI.COMPLETED): "CoNdisCompleteNotPending",
            (S.DONE_ASYNC, OI.COMPLETED): "CoNdisDoubleComplete",
        }
        assert set(ruled.values()) <= set(RULES)
        assert not any(row.delivers for row in OP_TRANSITIONS.values() if row.rule)

    def test_legal_paths_deliver_exactly_once(self) -> None:
        """Along every path of legal rows from IN_HANDLER, the result is delivered once."""
        finished: list[tuple[OpInput, ...]] = []
        queue: deque[tuple[OpState, tuple[OpInput, ...], int]] = deque([(S.IN_HANDLER, (), 0)])
        while queue:
            state, path, delivered = queue.popleft()
            legal = [
                (event, row)
                for (s, event), row in OP_TRANSITIONS.items()
                if s is state and row.rule is None
            ]
            if not legal:
                assert state in (S.DONE_SYNC, S.DONE_ASYNC), path
                assert delivered == 1, path
                finished.append(path)
            for event, row in legal:
                queue.append((row.target, (*path, event), delivered + row.delivers))
        assert sorted(finished, key=len) == [
            (OI.RETURNED,),
            (OI.RETURNED_PENDING, OI.COMPLETED),
            (OI.COMPLETED, OI.RETURNED_PENDING),
        ]


# --- address families (af.py) -----------------------------------------------------------------

A, AI = AfState, AfInput
AF_EXPECTED: dict[tuple[AfState, AfInput], AfState] = {
    (A.OPENING, AI.OPEN_SUCCEEDED): A.OPEN,
    (A.OPENING, AI.OPEN_FAILED): A.CLOSED,
    (A.OPEN, AI.CLOSE): A.CLOSING,
    (A.CLOSING, AI.CLOSE_SUCCEEDED): A.CLOSED,
    (A.CLOSING, AI.CLOSE_REFUSED): A.OPEN,
    # guards: the DDIs that need an open AF
    (A.OPEN, AI.NOTIFY_CLOSE): A.OPEN,
    (A.OPEN, AI.REGISTER_SAP): A.OPEN,
}
AF_PAIRS = list(itertools.product(AfState, AfInput))


def driver_block(name: str, kind: DriverKind) -> DriverBlock:
    return DriverBlock(name=name, driver_object=DRIVER_OBJECT(name), code=None, kind=kind)


def adapter(state: AdapterState = AdapterState.RUNNING) -> Adapter:
    return Adapter(
        name="nic0",
        driver=driver_block("mcm", DriverKind.MINIPORT),
        handle=AdapterHandle(0, 1),
        medium=NDIS_MEDIUM.NdisMediumAtm,
        state=state,
    )


def binding(state: BindingState, nic: Adapter | None = None) -> Binding:
    return Binding(
        protocol=driver_block("client", DriverKind.PROTOCOL),
        adapter=nic or adapter(),
        bind_context=BindContextHandle(0, 1),
        bind_op=operation(S.DONE_SYNC),
        state=state,
    )


def open_af(state: AfState) -> OpenAddressFamily:
    nic = adapter()
    family = CO_ADDRESS_FAMILY(CO_ADDRESS_FAMILY_Q2931, 3, 1)
    registration = AfRegistration(family=family, adapter=nic, cm=nic.driver, binding=None)
    return OpenAddressFamily(
        handle=AfHandle(0, 1),
        registration=registration,
        client=binding(BindingState.RUNNING, nic),
        family=family,
        client_context=None,
        open_op=operation(S.IN_HANDLER),
        state=state,
    )


class TestAfTransitions:
    """condis.af.AF_TRANSITIONS through OpenAddressFamily.move."""

    def test_table_is_the_expectation(self) -> None:
        assert {pair: row.target for pair, row in AF_TRANSITIONS.items()} == AF_EXPECTED
        assert all(isinstance(row, AfTransition) for row in AF_TRANSITIONS.values())

    @pytest.mark.parametrize(("state", "event"), AF_PAIRS, ids=lambda v: v.name)
    def test_pair(self, state: AfState, event: AfInput) -> None:
        af = open_af(state)
        target = AF_EXPECTED.get((state, event))
        if target is None:
            message = f"AF NdisAfHandle#1: {event.value} in {state}"
            with pytest.raises(CondisInternalError, match=f"^{re.escape(message)}$"):
                af.move(event)
            assert af.state is state
        else:
            af.move(event)
            assert af.state is target

    def test_closed_is_final(self) -> None:
        assert not [pair for pair in AF_TRANSITIONS if pair[0] is A.CLOSED]

    def test_rows_cite_ddi_pages(self) -> None:
        for row in AF_TRANSITIONS.values():
            assert re.match(r"^ddi/n[cf]-ndis-[a-z_]+\.md$", row.page), row.page
            if SPEC.exists():
                assert (SPEC / row.page).is_file(), row.page


# --- adapters (adapters.py) -------------------------------------------------------------------

D, DI = AdapterState, AdapterInput
ADAPTER_EXPECTED: dict[tuple[AdapterState, AdapterInput], AdapterState] = {
    (D.HALTED, DI.INITIALIZE): D.INITIALIZING,
    (D.INITIALIZING, DI.INIT_SUCCEEDED): D.RUNNING,
    (D.INITIALIZING, DI.INIT_FAILED): D.HALTED,
    (D.RUNNING, DI.HALT): D.HALTING,
    (D.HALTING, DI.HALTED): D.HALTED,
    # guards: an MCM registers AFs while initializing or running
    (D.INITIALIZING, DI.REGISTER_AF): D.INITIALIZING,
    (D.RUNNING, DI.REGISTER_AF): D.RUNNING,
}
ADAPTER_PAIRS = list(itertools.product(AdapterState, AdapterInput))


class TestAdapterTransitions:
    """condis.adapters.ADAPTER_TRANSITIONS through Adapter.move."""

    def test_table_is_the_expectation(self) -> None:
        assert dict(ADAPTER_TRANSITIONS) == ADAPTER_EXPECTED

    @pytest.mark.parametrize(("state", "event"), ADAPTER_PAIRS, ids=lambda v: v.name)
    def test_pair(self, state: AdapterState, event: AdapterInput) -> None:
        nic = adapter(state)
        target = ADAPTER_EXPECTED.get((state, event))
        if target is None:
            message = f"adapter nic0: {event.value} is not legal in {state}"
            with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
                nic.move(event)
            assert nic.state is state
        else:
            nic.move(event)
            assert nic.state is target
        assert nic.is_up is (nic.state is D.RUNNING)

    def test_every_state_returns_to_halted(self) -> None:
        """From any state some sequence of legal inputs leads back to HALTED."""
        for start in AdapterState:
            seen, frontier = {start}, [start]
            while frontier:
                state = frontier.pop()
                for (s, _), target in ADAPTER_TRANSITIONS.items():
                    if s is state and target not in seen:
                        seen.add(target)
                        frontier.append(target)
            assert D.HALTED in seen, start


# --- bindings (bindings.py) -------------------------------------------------------------------

B, BI = BindingState, BindingInput
BINDING_EXPECTED: dict[tuple[BindingState, BindingInput], BindingState] = {
    (B.OPENING, BI.BIND_COMPLETE): B.RUNNING,
    (B.OPENING, BI.BIND_FAILED): B.UNBOUND,
    (B.RUNNING, BI.UNBIND): B.CLOSING,
    (B.CLOSING, BI.UNBIND_COMPLETE): B.UNBOUND,
    # guards: what a binding that is not closing may do
    (B.OPENING, BI.REGISTER_AF): B.OPENING,
    (B.RUNNING, BI.REGISTER_AF): B.RUNNING,
    (B.OPENING, BI.OPEN_AF): B.OPENING,
    (B.RUNNING, BI.OPEN_AF): B.RUNNING,
    (B.RUNNING, BI.SERVE_OPEN): B.RUNNING,
}
BINDING_PAIRS = list(itertools.product(BindingState, BindingInput))


class TestBindingTransitions:
    """condis.bindings.BINDING_TRANSITIONS through Binding.move."""

    def test_table_is_the_expectation(self) -> None:
        assert dict(BINDING_TRANSITIONS) == BINDING_EXPECTED

    @pytest.mark.parametrize(("state", "event"), BINDING_PAIRS, ids=lambda v: v.name)
    def test_pair(self, state: BindingState, event: BindingInput) -> None:
        b = binding(state)
        target = BINDING_EXPECTED.get((state, event))
        if target is None:
            message = f"binding: {event.value} is not legal in {state}"
            with pytest.raises(CondisInternalError, match=f"^{re.escape(message)}$"):
                b.move(event)
            assert b.state is state
        else:
            b.move(event)
            assert b.state is target
        assert b.label == "client->nic0"

    def test_unbound_is_final(self) -> None:
        assert not [pair for pair in BINDING_TRANSITIONS if pair[0] is B.UNBOUND]


@pytest.mark.parametrize(
    "table",
    [OP_TRANSITIONS, AF_TRANSITIONS, ADAPTER_TRANSITIONS, BINDING_TRANSITIONS],
    ids=["ops", "af", "adapters", "bindings"],
)
def test_tables_are_read_only(table: object) -> None:
    with pytest.raises(TypeError):
        table[next(iter(table))] = None  # type: ignore[index]
