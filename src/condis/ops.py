"""The completion contract every pendable operation follows.

Many CoNDIS operations go the same way: a driver calls a DDI, NDIS calls the
other driver's handler, and the handler either finishes and returns a
status, or returns NDIS_STATUS_PENDING and later calls the completion DDI
the page names (ProtocolCmOpenAf -> NdisCmOpenAddressFamilyComplete). The
handler may also call the completion DDI before it returns PENDING (on
Windows another processor can get there first), and NDIS then delivers the
completion at once. This module is that contract as one table, shared by all
operations, after trio's rule that a parked task is rescheduled exactly once.

Inputs are what NDIS observes: the handler returned PENDING, the handler
returned another status, or the driver called the completion DDI. A row with
a rule is a violation: completing what never pended, completing twice, or
completing inside the handler and then not returning PENDING.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Final

from condis.handles import NDIS_HANDLE

__all__ = ["OP_TRANSITIONS", "OpInput", "OpState", "OpTransition", "Operation"]


class OpState(Enum):
    IN_HANDLER = "in handler"
    COMPLETED_IN_HANDLER = "completed in handler"
    PENDING = "pending"
    DONE_SYNC = "done (synchronously)"
    DONE_ASYNC = "done (completed)"


class OpInput(Enum):
    RETURNED_PENDING = "handler returned NDIS_STATUS_PENDING"
    RETURNED = "handler returned a final status"
    COMPLETED = "completion DDI called"


@dataclass(frozen=True, slots=True)
class OpTransition:
    target: OpState
    #: the rule broken by taking this row, or None for a legal row
    rule: str | None = None
    #: True when this input delivers the operation's result to the initiator now
    delivers: bool = False


_S, _I = OpState, OpInput
OP_TRANSITIONS: Final[Mapping[tuple[OpState, OpInput], OpTransition]] = MappingProxyType(
    {
        (_S.IN_HANDLER, _I.RETURNED): OpTransition(_S.DONE_SYNC, delivers=True),
        (_S.IN_HANDLER, _I.RETURNED_PENDING): OpTransition(_S.PENDING),
        (_S.IN_HANDLER, _I.COMPLETED): OpTransition(_S.COMPLETED_IN_HANDLER, delivers=True),
        (_S.COMPLETED_IN_HANDLER, _I.RETURNED_PENDING): OpTransition(_S.DONE_ASYNC),
        (_S.COMPLETED_IN_HANDLER, _I.RETURNED): OpTransition(
            _S.DONE_ASYNC, rule="CoNdisCompletedButNotPended"
        ),
        (_S.COMPLETED_IN_HANDLER, _I.COMPLETED): OpTransition(
            _S.COMPLETED_IN_HANDLER, rule="CoNdisDoubleComplete"
        ),
        (_S.PENDING, _I.COMPLETED): OpTransition(_S.DONE_ASYNC, delivers=True),
        (_S.DONE_SYNC, _I.COMPLETED): OpTransition(_S.DONE_SYNC, rule="CoNdisCompleteNotPending"),
        (_S.DONE_ASYNC, _I.COMPLETED): OpTransition(_S.DONE_ASYNC, rule="CoNdisDoubleComplete"),
    }
)
del _S, _I


@dataclass(slots=True, eq=False)
class Operation:
    """One pendable operation: which handler runs it and who must complete it."""

    id: int
    kind: str
    handler: str
    #: the completion DDI spellings allowed, e.g. ("NdisMCmOpenAddressFamilyComplete",)
    completers: tuple[str, ...]
    handle: NDIS_HANDLE | None
    started: int
    state: OpState = OpState.IN_HANDLER

    @property
    def outstanding(self) -> bool:
        """True until the operation has reached a DONE state."""
        return self.state in (OpState.IN_HANDLER, OpState.COMPLETED_IN_HANDLER, OpState.PENDING)

    def step(self, event: OpInput) -> OpTransition:
        """Take the row for (state, event); the caller reports its rule if any."""
        row = OP_TRANSITIONS.get((self.state, event))
        if row is None:
            raise ValueError(f"operation {self.kind}#{self.id}: no row for {self.state} x {event}")
        self.state = row.target
        return row
