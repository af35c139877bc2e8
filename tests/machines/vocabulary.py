"""What the state machines are made of: their settings, the strategies and names
they pick from, and the helpers they share.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from condis import (
    CO_CALL_MANAGER_PARAMETERS,
    CO_CALL_PARAMETERS,
    CO_SAP,
    DISPATCH_LEVEL,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    PASSIVE_LEVEL,
    Mode,
)
from condis.handles import (
    NDIS_HANDLE,
    AfHandle,
    HandleTable,
    PartyHandle,
    SapHandle,
    VcHandle,
    new_host_id,
)
from condis.samples.mcm import called_party
from condis.trace import Row, Trace

if TYPE_CHECKING:
    from machines.base import HostBase


# --- settings ------------------------------------------------------------------------------

settings.register_profile(
    "ci",
    max_examples=2000,
    stateful_step_count=50,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "soak",
    max_examples=50_000,
    stateful_step_count=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
PROFILE = settings.get_profile(os.environ.get("CONDIS_HYPOTHESIS_PROFILE", "ci"))

# --- vocabulary ----------------------------------------------------------------------------

T = TypeVar("T")
Completion = Literal["sync", "pended"]
Incoming = Literal["accept", "reject", "pend"]

#: the sample clients, in load order; every one but alice registers a SAP of its name
CLIENT_NAMES = ("alice", "bob", "carol", "dave")
#: SAP names a call or a registration may use ("nobody" is never registered at first)
SAP_NAMES = ("bob", "carol", "dave", "alice", "nobody")
#: a sample client's AF states (ClientAf.state), and those in which it still holds things
AF_STATES = ("opening", "open", "closing", "closed", "failed")
LIVE_AF_STATES = ("open", "closing")
#: teardown gives up (and fails) after this many rounds of closing things
TEARDOWN_ROUNDS = 500
#: trace records one step may add before it counts as a livelock (a wait loop that
#: never ends); a whole call's life with data takes a few hundred
STEP_RECORDS = 50_000

#: a host no machine drives: its handles are foreign to every host under test
_FOREIGN = HandleTable(new_host_id())
FOREIGN_HANDLES: dict[type[NDIS_HANDLE], NDIS_HANDLE] = {
    kind: _FOREIGN.issue(kind, None) for kind in (AfHandle, SapHandle, VcHandle, PartyHandle)
}

#: completion DDI (without "Ndis" and, for a call manager's, "M") ->
#: (kind of the operation it completes, kind of handle it takes)
COMPLETIONS: dict[str, tuple[str, type[NDIS_HANDLE]]] = {
    "CmOpenAddressFamilyComplete": ("open-af", AfHandle),
    "CmCloseAddressFamilyComplete": ("close-af", AfHandle),
    "CmRegisterSapComplete": ("register-sap", SapHandle),
    "CmDeregisterSapComplete": ("deregister-sap", SapHandle),
    "CmMakeCallComplete": ("make-call", VcHandle),
    "CmCloseCallComplete": ("close-call", VcHandle),
    "CmModifyCallQoSComplete": ("modify-qos", VcHandle),
    "CmAddPartyComplete": ("add-party", PartyHandle),
    "CmDropPartyComplete": ("drop-party", PartyHandle),
    "ClNotifyCloseAddressFamilyComplete": ("notify-close-af", AfHandle),
    "ClIncomingCallComplete": ("incoming-call", VcHandle),
    "MCoActivateVcComplete": ("activate-vc", VcHandle),
    "MCoDeactivateVcComplete": ("deactivate-vc", VcHandle),
}

#: DDI calls the runtime must reject before changing anything (HostMachine.refuse_*)
INVALID_CALLS = (
    "AF handle the client may not use",
    "close AF with VCs on it",
    "delete a busy VC",
    "delete a VC the client did not create",
    "close a call that is not up",
    "send with a wrong source handle",
    "complete a send never made",
    "return NBLs never indicated",
    "open AF at dispatch level",
    "close another client's AF",
    "a call event in the wrong state",
    "the other spelling",
)

#: wrong Python types and missing values a DDI must refuse with TypeError or ValueError
BAD_ARGUMENTS = (
    "AF handle of another type",
    "AF handle missing",
    "VC handle of another type",
    "call parameters of another type",
    "no NBLs",
    "NBLs of another type",
    "negative close data size",
    "no SAP",
    "status of another type",
)

#: every invalid call the `misuse` rule makes, as "family: what"
MISUSES = (
    *(
        f"bad handle: {ddi}, {how}"
        for ddi in ("close AF", "delete VC", "make call", "close call", "send")
        for how in ("stale", "wrong kind", "foreign")
    ),
    *(f"refuse: {what}" for what in INVALID_CALLS),
    *(f"complete: {what}" for what in sorted(COMPLETIONS)),
    *(f"bad arguments: {what}" for what in BAD_ARGUMENTS),
)

FAILED = object()  # what a rejected call "returned" when it raised BugCheck
INDEX = st.integers(min_value=0, max_value=255)
IRQLS = st.sampled_from([PASSIVE_LEVEL, PASSIVE_LEVEL, DISPATCH_LEVEL])
SEEDS = st.none() | st.integers(min_value=0, max_value=2**32 - 1)
MODES = st.sampled_from([Mode.STRICT, Mode.COLLECT])
COMPLETION: st.SearchStrategy[Completion] = st.sampled_from(["sync", "pended"])
#: how a sample client answers incoming calls; accepting them most often
INCOMING: st.SearchStrategy[Incoming] = st.sampled_from(["accept", "accept", "reject", "pend"])


def sap_of(name: str) -> CO_SAP:
    return CO_SAP(SapType=1, Sap=name.encode())


def to(name: str, priority: int = 0) -> CO_CALL_PARAMETERS:
    """Call parameters addressed to SAP `name`, with media parameters."""
    return called_party(sap_of(name), ReceivePriority=priority)


def bare() -> CO_CALL_PARAMETERS:
    """Call parameters without media parameters (the sample call managers and the
    sample miniport refuse them)."""
    return CO_CALL_PARAMETERS(CallMgrParameters=CO_CALL_MANAGER_PARAMETERS())


def nth(items: Sequence[T], index: int) -> T:
    return items[index % len(items)]


def failure(status: object) -> bool:
    """A status a rejected call may return: anything but SUCCESS and PENDING."""
    return status not in (NDIS_STATUS_SUCCESS, NDIS_STATUS_PENDING)


class Livelock(AssertionError):
    """A step recorded more than STEP_RECORDS trace records."""


class BoundedTrace(Trace):
    """A trace that stops a step which records without end, instead of hanging the test."""

    def __init__(self) -> None:
        super().__init__()
        #: the seq at which the current step has recorded too much
        self.budget_end = STEP_RECORDS

    def recorder(self) -> Callable[[Row], None]:
        add = super().recorder()
        assert add is not None

        def bounded(row: Row) -> None:
            if row[0] >= self.budget_end:
                raise Livelock(f"one step recorded {STEP_RECORDS} trace records; last: {row}")
            add(row)

        return bounded


def step(fn: Callable[..., None]) -> Callable[..., None]:
    """Wrap a rule or invariant: it may add at most STEP_RECORDS trace records, and
    teardown leaves the host alone when one did not finish (its failure is reported)."""

    @functools.wraps(fn)
    def run(self: HostBase, **kwargs: Any) -> None:
        self.unfinished = True
        self.budget()
        fn(self, **kwargs)
        self.unfinished = False

    return run
