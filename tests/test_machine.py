"""Random walks through condis with hypothesis state machines.

Two machines drive the public API with random sequences of valid and invalid
actions, under random driver behaviour (sync or pended completion, how a
client answers incoming calls, the IRQL a client runs at) and random
interleavings of deferred work (`RandomPolicy`, and `ndis.step()` as a rule of
its own):

* `McmNetworkMachine`: the sample MCM's loopback network with two to four
  sample clients: AFs, SAPs, VCs, point-to-point and multipoint calls,
  parties, QoS changes, data, unbinding and adapter restarts;
* `CallManagerMachine`: the sample stand-alone call manager over the sample
  CoNDIS miniport, with sample clients: AFs, SAPs, VCs, VC activation,
  outgoing calls and data.

For every example they check that:

1. after every step the host's tables agree (`ndis.check_invariants() == []`),
   the host runs, and no violation was recorded that the step did not provoke
   on purpose;
2. nothing escapes a valid action, and only `BugCheck` (strict hosts),
   `TypeError` or `ValueError` escape an invalid one;
3. an invalid DDI call that the runtime rejects leaves `ndis.snapshot()` as it
   was: a strict host raises `BugCheck`, a collect-mode host records a
   violation and returns a failure status or None;
4. closing everything at the end (calls, VCs, SAPs, AFs, then halting the
   adapters and unloading the drivers) leaves no driver, AF, SAP, VC, call,
   party, NBL, operation, work item, timer or handle behind, and a run of
   valid actions only records no violation at all.

CONDIS_HYPOTHESIS_PROFILE picks the settings: "ci" (the default) or "soak".
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from condis import (
    CO_ADDRESS_FAMILY,
    CO_ADDRESS_FAMILY_PSCHED,
    CO_ADDRESS_FAMILY_Q2931,
    CO_CALL_MANAGER_PARAMETERS,
    CO_CALL_PARAMETERS,
    CO_SAP,
    DISPATCH_LEVEL,
    KIRQL,
    NDIS_STATUS_NOT_ACCEPTED,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    NDIS_STATUS_VC_NOT_ACTIVATED,
    PASSIVE_LEVEL,
    BugCheck,
    Mode,
    Ndis,
    RandomPolicy,
)
from condis.data import NET_BUFFER_LIST
from condis.handles import (
    NDIS_HANDLE,
    AfHandle,
    HandleTable,
    PartyHandle,
    SapHandle,
    VcHandle,
    new_host_id,
)
from condis.samples import SampleCallManager, SampleClient, SampleCoMiniport, SampleMcm
from condis.samples.callmanager import CmVc
from condis.samples.client_state import ClientAf, ClientParty, ClientSap, ClientVc
from condis.samples.mcm import McmVc, called_party
from condis.trace import Trace, TraceRecord

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
        self.limit = STEP_RECORDS

    def append(self, record: TraceRecord) -> None:
        if len(self) >= self.limit:
            raise Livelock(f"one step recorded {STEP_RECORDS} trace records; last: {record}")
        super().append(record)


def step(fn: Callable[..., None]) -> Callable[..., None]:
    """Wrap a rule or invariant: it may add at most STEP_RECORDS trace records, and
    teardown leaves the host alone when one did not finish (its failure is reported)."""

    @functools.wraps(fn)
    def run(self: HostMachine, **kwargs: Any) -> None:
        self.unfinished = True
        self.budget()
        fn(self, **kwargs)
        self.unfinished = False

    return run


# --- the machinery both machines share ----------------------------------------------------


class HostMachine(RuleBasedStateMachine):
    """A host under test, its sample clients, and the rules and checks both machines share.

    Subclasses build the host in an @initialize rule (through `start`), say how
    their call manager spells the completion DDIs (`SPELLING`: "M" for an MCM)
    and how to close what their clients hold (`close_everything`).
    """

    SPELLING = "M"

    def __init__(self) -> None:
        super().__init__()
        self.ndis: Ndis | None = None
        self.mode = Mode.STRICT
        self.clients: dict[str, SampleClient] = {}
        self.miniport_name = ""
        self.adapter_names: list[str] = []
        #: every handle seen live at a step boundary, in order (stale-handle picks)
        self.seen: list[NDIS_HANDLE] = []
        self.seen_ids: set[int] = set()
        #: violations the machine provoked on purpose; no others may appear
        self.expected_violations = 0
        #: an invalid action ran (a run of valid actions only records no violation)
        self.misused = False
        #: a rule or invariant raised: teardown leaves the host alone
        self.unfinished = False

    # --- setup -------------------------------------------------------------------------------

    def start(self, *, seed: int | None, mode: Mode) -> Ndis:
        """The host: scheduled FIFO or at random from `seed`, strict or collecting."""
        self.mode = mode
        self.ndis = Ndis(policy=None if seed is None else RandomPolicy(seed), mode=mode)
        self.ndis.trace = BoundedTrace()
        return self.ndis

    def load_clients(
        self, count: int, families: Sequence[int], incoming: Sequence[Incoming]
    ) -> None:
        """Load `count` sample clients; all but alice register a SAP of their name."""
        ndis = self.host
        for name, answer in zip(CLIENT_NAMES[:count], incoming, strict=False):
            saps = {} if name == "alice" else {family: [sap_of(name)] for family in families}
            client = SampleClient(ndis, saps=saps, incoming=answer)
            ndis.load_driver(client, name)
            self.clients[name] = client

    @property
    def host(self) -> Ndis:
        assert self.ndis is not None, "the host is built by the initialize rule"
        return self.ndis

    def budget(self) -> None:
        """Allow the next step STEP_RECORDS more trace records."""
        if self.ndis is not None and isinstance(self.ndis.trace, BoundedTrace):
            self.ndis.trace.limit = len(self.ndis.trace) + STEP_RECORDS

    def name_of(self, client: SampleClient) -> str:
        return next(name for name, c in self.clients.items() if c is client)

    # --- what the clients hold ------------------------------------------------------------------

    def client_afs(self, *states: str) -> list[tuple[SampleClient, ClientAf]]:
        """(client, AF) for every AF a client lists in one of `states`."""
        return [
            (client, af)
            for client in self.clients.values()
            for binding in client.bindings
            if not binding.unbinding
            for af in binding.afs
            if af.state in states
        ]

    def client_vcs(
        self, test: Callable[[ClientVc], bool], *, af_states: Sequence[str] = ("open",)
    ) -> list[tuple[SampleClient, ClientVc]]:
        """(client, VC) for every VC that passes `test` on a client's AF in `af_states`."""
        return [(c, vc) for c, af in self.client_afs(*af_states) for vc in af.vcs if test(vc)]

    def client_saps(self, *states: str) -> list[tuple[SampleClient, ClientSap]]:
        return [(c, s) for c, af in self.client_afs("open") for s in af.saps if s.state in states]

    def idle_vcs(self, af_states: Sequence[str] = ("open",)) -> list[tuple[SampleClient, ClientVc]]:
        """VCs a client created that carry no call and no send: the client may delete them."""
        return self.client_vcs(
            lambda vc: (
                not vc.incoming
                and vc.call in (None, "closed", "failed")
                and vc.sends_outstanding == 0
                and self.vc_quiet(vc)
            ),
            af_states=af_states,
        )

    def connected(self, vc: ClientVc) -> bool:
        """A call the client may close, send on or change: up, and no close under way."""
        return vc.call == "connected" and not (vc.close_when_sent or vc.close_when_dropped)

    def connected_vcs(self) -> list[tuple[SampleClient, ClientVc]]:
        return list(self.client_vcs(self.connected))

    def on_their_way(self) -> list[tuple[SampleClient, ClientVc]]:
        """VCs with a call or a party on its way: made and not yet answered."""
        return self.client_vcs(
            lambda vc: (
                vc.call in ("making", "offered") or any(p.state == "adding" for p in vc.parties)
            ),
            af_states=LIVE_AF_STATES,
        )

    def closable_afs(self) -> list[tuple[SampleClient, ClientAf]]:
        return [(c, af) for c, af in self.client_afs("open") if self.af_quiet(af)]

    def running_bindings(self) -> list[tuple[str, str]]:
        """(protocol, adapter) of every running client binding."""
        return [
            (b.protocol.name, b.adapter.name)
            for b in self.host.bindings
            if b.protocol.name in self.clients and b.state.value == "running"
        ]

    # --- when an action is safe to take ----------------------------------------------------

    def vc_quiet(self, vc: ClientVc) -> bool:
        """Hook: no one but the client has changed the VC behind its back."""
        return True

    def af_quiet(self, af: ClientAf) -> bool:
        return all(self.vc_quiet(vc) for vc in af.vcs)

    def may_wait(self) -> bool:
        """Whether a driver may wait for its AFs to close (unbind, halt) without waiting
        forever: nobody is left to answer a call that is on its way. (A wait that can
        never end is NdisWaitDeadlock, which stops the host in either mode.)"""
        return not self.on_their_way()

    def may_disrupt(self) -> bool:
        """Whether a binding may go (unbind, halt): every AF on it must be able to close."""
        return self.may_wait() and all(self.af_quiet(af) for _, af in self.client_afs(*AF_STATES))

    # --- what NDIS holds ------------------------------------------------------------------------

    def seen_of(self, kind: type[NDIS_HANDLE], *, live: bool) -> list[NDIS_HANDLE]:
        ndis = self.host
        return [h for h in self.seen if isinstance(h, kind) and ndis.handles.is_live(h) == live]

    def pending(self, kind: str, handle: NDIS_HANDLE) -> bool:
        """An operation of `kind` on `handle` is outstanding (its completion would be valid)."""
        return any(op.kind == kind and op.handle is handle for op in self.host.operations)

    def bad_handle(self, kind: type[NDIS_HANDLE], how: str, index: int) -> Any:
        """A handle a DDI expecting `kind` must reject: stale, of another kind, or foreign
        (typed Any: it is meant to be wrong)."""
        if how == "foreign":
            return FOREIGN_HANDLES[kind]
        if how == "stale":
            stale = self.seen_of(kind, live=False)
            return nth(stale, index) if stale else None
        others = [h for h, _ in self.host.handles.live() if not isinstance(h, kind)]
        return nth(others, index) if others else None

    # --- running actions and checking what they did ----------------------------------------------

    @contextmanager
    def as_driver(self, name: str, irql: KIRQL = PASSIVE_LEVEL) -> Iterator[None]:
        """Run the body as driver `name`'s code at `irql`."""
        with self.host.driver_context(self.host.driver(name), irql):
            yield

    def valid(self, what: str, action: Callable[[], T]) -> T:
        """Run a valid action: nothing may escape it, in either mode."""
        try:
            return action()
        except BugCheck as crash:
            raise AssertionError(f"{what}: a valid action bug-checked: {crash}") from crash
        except (TypeError, ValueError) as exc:
            raise AssertionError(f"{what}: a valid action raised {exc!r}") from exc

    def rejected(self, what: str, call: Callable[[], object]) -> None:
        """`call` breaks a rule the runtime checks before changing anything.

        Strict: it raises BugCheck and the host runs on. Collect: it records a
        violation and returns a failure status or None. Either way the host's
        tables are as they were.
        """
        ndis = self.host
        before = ndis.snapshot()
        count = len(ndis.verifier.violations)
        try:
            result = call()
        except BugCheck as crash:
            assert self.mode is Mode.STRICT, f"{what}: BugCheck escaped in collect mode: {crash}"
            assert ndis.crashed is None, f"{what}: a refused call stopped the host: {crash}"
            result = FAILED
        except (TypeError, ValueError) as exc:
            raise AssertionError(f"{what}: expected a verifier rejection, got {exc!r}") from exc
        else:
            assert self.mode is Mode.COLLECT, f"{what}: a strict host accepted it: {result!r}"
            if isinstance(result, tuple):
                status, out = result
                assert failure(status) and out is None, f"{what}: returned {result!r}"
            else:
                assert result is None or failure(result), f"{what}: returned {result!r}"
        assert ndis.verifier.violations[count:], f"{what}: rejected without a violation"
        after = ndis.snapshot()
        changed = sorted(key for key in before if before[key] != after[key])
        assert not changed, f"{what}: a rejected call changed {changed}"
        self.expected_violations = len(ndis.verifier.violations)
        self.misused = True

    def refused_arguments(self, what: str, call: Callable[[], object]) -> None:
        """`call` passes a wrong Python type or a missing value: TypeError or ValueError,
        nothing recorded, nothing changed."""
        ndis = self.host
        before = ndis.snapshot()
        count = len(ndis.verifier.violations)
        with pytest.raises((TypeError, ValueError)):
            call()
        assert len(ndis.verifier.violations) == count, f"{what}: recorded a violation"
        assert ndis.snapshot() == before, f"{what}: changed the host"
        assert ndis.crashed is None

    # --- invariants ------------------------------------------------------------------------------

    @invariant()
    @step
    def host_is_sound(self) -> None:
        """The host runs, its tables agree, and no violation appeared unprovoked."""
        if self.ndis is None:
            return
        ndis = self.ndis
        assert ndis.crashed is None, f"the host stopped: {ndis.crashed!r}"
        assert ndis.check_invariants() == []
        unexpected = ndis.verifier.violations[self.expected_violations :]
        assert not unexpected, f"unprovoked violations: {unexpected}"
        for handle, _ in ndis.handles.live():
            if id(handle) not in self.seen_ids:
                self.seen_ids.add(id(handle))
                self.seen.append(handle)

    @invariant()
    @step
    def clients_agree_with_ndis(self) -> None:
        """What the sample clients hold open, registered or connected, NDIS holds so."""
        if self.ndis is None:
            return
        ndis = self.ndis
        for _, af in self.client_afs("open"):
            assert af.handle is not None and ndis.handles.is_live(af.handle), af
            for sap in af.saps:
                if sap.state == "registered":
                    assert sap.handle is not None and ndis.handles.is_live(sap.handle), sap
            for vc in af.vcs:
                assert vc.handle is not None and ndis.handles.is_live(vc.handle), vc
                if vc.call == "connected":
                    assert ndis.call_on(vc.handle) is not None, f"{vc.handle}: no call in NDIS"

    # --- deferred work -------------------------------------------------------------------------

    @rule()
    @step
    def run_one_item(self) -> None:
        """Run one deferred item (work item, timer or NDIS completion), as the policy picks."""
        self.valid("ndis.step()", self.host.step)

    @rule()
    @step
    def run_until_idle(self) -> None:
        """Drain the scheduler: every pended operation the samples can complete completes."""
        self.valid("ndis.run()", self.host.run)

    # --- valid client actions both machines share ---------------------------------------------

    @precondition(lambda self: bool(self.client_afs("open")))
    @rule(index=INDEX, sap=st.sampled_from(SAP_NAMES), irql=IRQLS)
    @step
    def register_sap(self, index: int, sap: str, irql: KIRQL) -> None:
        """A client registers a SAP on an open AF (taken already: the call manager fails it)."""
        client, af = nth(self.client_afs("open"), index)
        with self.as_driver(self.name_of(client), irql):
            self.valid("register_sap", lambda: client.register_sap(af, sap_of(sap)))

    @precondition(lambda self: bool(self.client_afs("open")))
    @rule(index=INDEX, irql=IRQLS)
    @step
    def create_vc(self, index: int, irql: KIRQL) -> None:
        """A client creates a VC on an open AF and keeps it idle."""
        client, af = nth(self.client_afs("open"), index)
        with self.as_driver(self.name_of(client), irql):
            self.valid("create_vc", lambda: client.create_vc(af))

    @precondition(lambda self: bool(self.idle_vcs()))
    @rule(index=INDEX, irql=IRQLS)
    @step
    def delete_vc(self, index: int, irql: KIRQL) -> None:
        """A client deletes a VC it created that carries no call."""
        client, vc = nth(self.idle_vcs(), index)
        with self.as_driver(self.name_of(client), irql):
            status = self.valid("delete_vc", lambda: client.delete_vc(vc))
        assert status == NDIS_STATUS_SUCCESS, f"delete_vc returned {status!r}"

    @precondition(lambda self: bool(self.client_vcs(lambda vc: vc.call == "offered")))
    @rule(index=INDEX, accept=st.booleans(), irql=IRQLS)
    @step
    def answer_call(self, index: int, accept: bool, irql: KIRQL) -> None:
        """A client that pended an incoming call accepts or rejects it."""
        client, vc = nth(self.client_vcs(lambda vc: vc.call == "offered"), index)
        status = NDIS_STATUS_SUCCESS if accept else NDIS_STATUS_NOT_ACCEPTED
        with self.as_driver(self.name_of(client), irql):
            self.valid("answer", lambda: client.answer(vc, status))

    @precondition(lambda self: bool(self.connected_vcs()))
    @rule(index=INDEX, irql=IRQLS)
    @step
    def close_call(self, index: int, irql: KIRQL) -> None:
        """A client hangs up a call (a multipoint root drops its other parties first)."""
        client, vc = nth(self.connected_vcs(), index)
        with self.as_driver(self.name_of(client), irql):
            self.valid("close_call", lambda: client.close_call(vc))

    @precondition(lambda self: bool(self.client_vcs(self.connected)))
    @rule(index=INDEX, packets=st.integers(min_value=1, max_value=3), irql=IRQLS)
    @step
    def send(self, index: int, packets: int, irql: KIRQL) -> None:
        """A client sends NBLs on a connected VC."""
        client, vc = nth(self.client_vcs(self.connected), index)
        data = [f"packet {i}".encode() for i in range(packets)]
        with self.as_driver(self.name_of(client), irql):
            self.valid("send", lambda: client.send(vc, *data))

    @rule(
        what=st.sampled_from(
            ["deregister a SAP", "close an AF", "unbind a client", "restart an adapter"]
        ),
        index=INDEX,
        irql=IRQLS,
    )
    @step
    def withdraw(self, what: str, index: int, irql: KIRQL) -> None:
        """Take something away (one rule, so that it does not happen too often): a client
        deregisters a SAP or closes an AF (its calls, VCs and SAPs go first); NDIS
        unbinds a client, or an adapter halts with whatever is open on it and starts
        again. Nothing happens when nothing fits."""
        ndis = self.host
        if what == "deregister a SAP" and self.client_saps("registered"):
            client, sap = nth(self.client_saps("registered"), index)
            with self.as_driver(self.name_of(client), irql):
                self.valid("deregister_sap", lambda: client.deregister_sap(sap))
        elif what == "close an AF" and self.closable_afs():
            client, af = nth(self.closable_afs(), index)
            with self.as_driver(self.name_of(client), irql):
                self.valid("close_af", lambda: client.close_af(af))
        elif what == "unbind a client" and self.running_bindings() and self.may_disrupt():
            binding = ndis.binding(*nth(self.running_bindings(), index))
            self.valid("unbind_adapter", lambda: ndis.unbind_adapter(binding))
        elif what == "restart an adapter" and self.may_disrupt():
            name = nth(self.adapter_names, index)
            if ndis.adapter(name).state.value == "running":
                self.valid("halt_adapter", lambda: ndis.halt_adapter(name))
            self.valid("add_adapter", lambda: ndis.add_adapter(self.miniport_name, name))

    @precondition(
        lambda self: (
            self.mode is Mode.COLLECT
            and bool(self.client_vcs(lambda vc: not vc.incoming and vc.call is None))
        )
    )
    @rule(index=INDEX)
    @step
    def send_without_a_call(self, index: int) -> None:
        """Collect mode: a client sends on a VC with no call. NDIS reports
        CoNdisSendOnInactiveVc and gives the NBL back later, failed with
        NDIS_STATUS_VC_NOT_ACTIVATED; the scheduler runs until it has."""
        client, vc = nth(self.client_vcs(lambda vc: not vc.incoming and vc.call is None), index)
        ndis = self.host
        count = len(ndis.verifier.violations)
        self.valid("send on an idle VC", lambda: client.send(vc, b"too early"))
        rules = [v.rule for v in ndis.verifier.violations[count:]]
        assert rules == ["CoNdisSendOnInactiveVc"], rules
        self.expected_violations = len(ndis.verifier.violations)
        self.misused = True
        while vc.sends_outstanding:
            assert self.valid("ndis.step()", ndis.step) is not None, "the NBL never came back"
        assert vc.send_statuses[-1] == NDIS_STATUS_VC_NOT_ACTIVATED, vc.send_statuses

    # --- invalid DDI calls both machines share -------------------------------------------------

    @rule(which=st.sampled_from(MISUSES), index=INDEX)
    @step
    def misuse(self, which: str, index: int) -> None:
        """An invalid DDI call (one rule for all of them, so that they take a fair share
        of the steps): a handle that is stale, of the wrong kind or foreign; a call the
        runtime must refuse in the state at hand (`refuse_*`); a completion of nothing
        pending; a wrong Python type or a missing value. Nothing happens when nothing
        fits."""
        family, _, what = which.partition(": ")
        if family == "bad handle":
            ddi, _, how = what.partition(", ")
            self.call_with_a_bad_handle(ddi, how, index)
        elif family == "refuse":
            getattr(self, "refuse_" + what.lower().replace(" ", "_").replace("'", ""))(index)
        elif family == "complete":
            self.complete_what_is_not_pending(what, index)
        else:
            self.ddi_with_bad_arguments(what, index)

    def call_with_a_bad_handle(self, ddi: str, how: str, index: int) -> None:
        """NdisClCloseAddressFamily, NdisCoDeleteVc, NdisClMakeCall, NdisClCloseCall or
        NdisCoSendNetBufferLists with a stale, wrong-kind or foreign handle
        (NdisHandleStale, NdisHandleWrongKind, NdisHandleForeign)."""
        handle = self.bad_handle(AfHandle if ddi == "close AF" else VcHandle, how, index)
        if handle is None:
            return
        ndis = self.host
        call: Callable[[], object] = {
            "close AF": lambda: ndis.NdisClCloseAddressFamily(handle),
            "delete VC": lambda: ndis.NdisCoDeleteVc(handle),
            "make call": lambda: ndis.NdisClMakeCall(handle, to("bob")),
            "close call": lambda: ndis.NdisClCloseCall(handle, None, None, 0),
            "send": lambda: ndis.NdisCoSendNetBufferLists(handle, NET_BUFFER_LIST.of(b"x"), 0),
        }[ddi]
        self.rejected(f"{ddi} ({how} handle)", call)

    def refuse_af_handle_the_client_may_not_use(self, index: int) -> None:
        """NdisClCloseAddressFamily with an AF handle closed, closing or still opening
        (NdisHandleStale, NdisHandleNotYetValid)."""
        usable = {id(af.handle) for af in self.host.address_families if af.client_valid}
        afs = [h for h in self.seen if isinstance(h, AfHandle) and id(h) not in usable]
        if afs:
            ndis, handle = self.host, nth(afs, index)
            self.rejected(
                f"NdisClCloseAddressFamily({handle.label}, not the client's)",
                lambda: ndis.NdisClCloseAddressFamily(handle),
            )

    def refuse_close_af_with_vcs_on_it(self, index: int) -> None:
        """NdisClCloseAddressFamily on an AF that still has VCs (CoNdisAfCloseWithChildren)."""
        ndis = self.host
        afs = [
            af.handle
            for af in ndis.address_families
            if af.client_valid and af.state.value == "open" and any(vc.af is af for vc in ndis.vcs)
        ]
        if afs:
            handle = nth(afs, index)
            self.rejected(
                f"NdisClCloseAddressFamily({handle.label}, VCs on it)",
                lambda: ndis.NdisClCloseAddressFamily(handle),
            )

    def refuse_delete_a_busy_vc(self, index: int) -> None:
        """NdisCoDeleteVc on a VC that is active or carries a call or a send
        (CoNdisDeleteActiveVc)."""
        ndis = self.host
        busy = [
            vc.handle
            for vc in ndis.vcs
            if vc.state.value != "deactivating"
            and (
                vc.state.value != "created"
                or ndis.call_on(vc.handle) is not None
                or any(e.vc is vc for e in ndis.in_flight)
            )
        ]
        if busy:
            handle = nth(busy, index)
            self.rejected(
                f"NdisCoDeleteVc({handle.label}, busy)", lambda: ndis.NdisCoDeleteVc(handle)
            )

    def refuse_delete_a_vc_the_client_did_not_create(self, index: int) -> None:
        """A client deletes a VC its call manager created for it (CoNdisVcNotCreator)."""
        ndis = self.host
        theirs = [
            (vc.af.client.protocol.name, vc.handle)
            for vc in ndis.vcs
            if vc.af is not None and vc.creator is not vc.af.client.protocol
        ]
        if theirs:
            client, handle = nth(theirs, index)

            def delete() -> object:
                with self.as_driver(client):
                    return ndis.NdisCoDeleteVc(handle)

            self.rejected(f"NdisCoDeleteVc({handle.label}, not the creator)", delete)

    def refuse_close_a_call_that_is_not_up(self, index: int) -> None:
        """NdisClCloseCall on a VC with no call, or one not up (CoNdisCallState)."""
        ndis = self.host
        vcs = []
        for vc in ndis.vcs:
            call = ndis.call_on(vc.handle)
            state = None if call is None else call.state.value
            if vc.af is not None and state not in ("connected", "close indicated"):
                vcs.append(vc.handle)
        if vcs:
            handle = nth(vcs, index)
            self.rejected(
                f"NdisClCloseCall({handle.label}, no call up)",
                lambda: ndis.NdisClCloseCall(handle, None, None, 0),
            )

    def refuse_send_with_a_wrong_source_handle(self, index: int) -> None:
        """NdisCoSendNetBufferLists with an NBL whose SourceHandle is not its VC
        (CoNdisNblOwnership)."""
        ndis = self.host
        if ndis.vcs:
            vc = nth(ndis.vcs, index)
            other = None if index % 2 else ndis.handles.live()[0][0]
            nbl = NET_BUFFER_LIST.of(b"stray", SourceHandle=other)
            self.rejected(
                f"NdisCoSendNetBufferLists({vc.handle.label}, SourceHandle)",
                lambda: ndis.NdisCoSendNetBufferLists(vc.handle, nbl, 0),
            )

    def refuse_complete_a_send_never_made(self, index: int) -> None:
        """NdisMCoSendNetBufferListsComplete with an NBL nobody sent (CoNdisNblOwnership)."""
        ndis = self.host
        if ndis.vcs:
            vc = nth(ndis.vcs, index)
            nbl = NET_BUFFER_LIST.of(b"never sent", SourceHandle=vc.handle)
            self.rejected(
                f"NdisMCoSendNetBufferListsComplete({vc.handle.label}, never sent)",
                lambda: ndis.NdisMCoSendNetBufferListsComplete(vc.handle, nbl, 0),
            )

    def refuse_return_nbls_never_indicated(self, index: int) -> None:
        """NdisReturnNetBufferLists with an NBL NDIS never indicated (CoNdisNblOwnership)."""
        ndis, bindings = self.host, self.running_bindings()
        if bindings:
            binding = ndis.binding(*nth(bindings, index))
            handle, nbl = binding.handle, NET_BUFFER_LIST.of(b"not indicated")
            assert handle is not None
            self.rejected(
                f"NdisReturnNetBufferLists({binding.label}, never indicated)",
                lambda: ndis.NdisReturnNetBufferLists(handle, nbl, 0),
            )

    def refuse_open_af_at_dispatch_level(self, index: int) -> None:
        """A client calls NdisClOpenAddressFamilyEx at DISPATCH_LEVEL (its page says
        PASSIVE_LEVEL). Strict hosts only: a collect-mode host goes on after the report."""
        ndis, bindings = self.host, self.running_bindings()
        if self.mode is not Mode.STRICT or not bindings:
            return
        protocol, adapter = nth(bindings, index)
        handle = ndis.binding(protocol, adapter).handle
        family = CO_ADDRESS_FAMILY(CO_ADDRESS_FAMILY_Q2931, 3, 1)
        assert handle is not None

        def open_af() -> object:
            with self.as_driver(protocol, DISPATCH_LEVEL):
                return ndis.NdisClOpenAddressFamilyEx(handle, family, object())

        self.rejected(f"NdisClOpenAddressFamilyEx({handle.label}, DISPATCH_LEVEL)", open_af)

    def refuse_close_another_clients_af(self, index: int) -> None:
        """A client closes an AF that another client opened (NdisHandleForeign). Strict
        hosts only: a collect-mode host goes on after the report."""
        afs = self.client_afs("open")
        if self.mode is not Mode.STRICT or len(self.clients) < 2 or not afs:
            return
        owner, af = nth(afs, index)
        thief = nth([name for name in self.clients if name != self.name_of(owner)], index // 7)
        handle = af.handle
        assert handle is not None

        def close() -> object:
            with self.as_driver(thief):
                return self.host.NdisClCloseAddressFamily(handle)

        self.rejected(f"NdisClCloseAddressFamily({handle.label}, by {thief})", close)

    def refuse_a_call_event_in_the_wrong_state(self, index: int) -> None:
        """The call manager indicates a call event on a VC whose call is not in a state
        for it (CoNdisCallState): a connection, a remote close or a QoS change."""
        ndis = self.host
        event = nth(["call connected", "incoming close", "incoming QoS change"], index)
        allowed = {
            "call connected": ("accepted",),
            "incoming close": ("connected", "accepted"),
            "incoming QoS change": ("connected",),
        }[event]
        vcs = []
        for vc in ndis.vcs:
            current = ndis.call_on(vc.handle)
            if vc.af is not None and (current is None or current.state.value not in allowed):
                vcs.append(vc.handle)
        if not vcs:
            return
        handle = nth(vcs, index // 3)
        spelling = f"Ndis{self.SPELLING}Cm"
        call: Callable[[], object] = {
            "call connected": lambda: getattr(ndis, spelling + "DispatchCallConnected")(handle),
            "incoming close": lambda: getattr(ndis, spelling + "DispatchIncomingCloseCall")(
                NDIS_STATUS_SUCCESS, handle, None, 0
            ),
            "incoming QoS change": lambda: getattr(
                ndis, spelling + "DispatchIncomingCallQoSChange"
            )(handle, to("bob")),
        }[event]
        self.rejected(f"{event}({handle.label})", call)

    def refuse_the_other_spelling(self, index: int) -> None:
        """A call manager (de)activates a VC with the other kind's DDI: NdisMCm* over a
        plain miniport, NdisCm* on an MCM's VC (CoNdisMcmSpelling)."""
        ndis = self.host
        if not ndis.vcs:
            return
        handle = nth(ndis.vcs, index).handle
        wrong = "Ndis" if self.SPELLING == "M" else "NdisM"
        if index % 2:
            activate = getattr(ndis, wrong + "CmActivateVc")
            self.rejected(
                f"{wrong}CmActivateVc({handle.label})", lambda: activate(handle, to("bob"))
            )
        else:
            deactivate = getattr(ndis, wrong + "CmDeactivateVc")
            self.rejected(f"{wrong}CmDeactivateVc({handle.label})", lambda: deactivate(handle))

    def completion_call(self, name: str, handle: NDIS_HANDLE) -> Callable[[], object]:
        """A call of completion DDI `name` (a COMPLETIONS key) for `handle`, with SUCCESS."""
        ndis: Any = self.host
        ok = NDIS_STATUS_SUCCESS
        if name == "ClNotifyCloseAddressFamilyComplete":
            return lambda: ndis.NdisClNotifyCloseAddressFamilyComplete(handle, ok)
        if name == "ClIncomingCallComplete":
            return lambda: ndis.NdisClIncomingCallComplete(ok, handle, to("bob"))
        if name == "MCoActivateVcComplete":
            return lambda: ndis.NdisMCoActivateVcComplete(ok, handle, to("bob"))
        if name == "MCoDeactivateVcComplete":
            return lambda: ndis.NdisMCoDeactivateVcComplete(ok, handle)
        ddi = getattr(ndis, f"Ndis{self.SPELLING}{name}")
        args: tuple[object, ...] = {
            "CmOpenAddressFamilyComplete": (ok, handle, None),
            "CmCloseAddressFamilyComplete": (ok, handle),
            "CmRegisterSapComplete": (ok, handle, None),
            "CmDeregisterSapComplete": (ok, handle),
            "CmMakeCallComplete": (ok, handle, None, None, to("bob")),
            "CmCloseCallComplete": (ok, handle, None),
            "CmModifyCallQoSComplete": (ok, handle, to("bob")),
            "CmAddPartyComplete": (ok, handle, None, to("bob")),
            "CmDropPartyComplete": (ok, handle),
        }[name]
        return lambda: ddi(*args)

    def complete_what_is_not_pending(self, name: str, index: int) -> None:
        """A completion DDI for an operation that is not pending on that handle
        (CoNdisCompleteNotPending, CoNdisDoubleComplete, or a stale handle)."""
        kind, handle_kind = COMPLETIONS[name]
        candidates = [
            h for h in self.seen if isinstance(h, handle_kind) and not self.pending(kind, h)
        ]
        if candidates:
            handle = nth(candidates, index)
            self.rejected(f"{name}({handle.label})", self.completion_call(name, handle))

    def ddi_with_bad_arguments(self, which: str, index: int) -> None:
        """A DDI given a wrong Python type or a missing value: TypeError or ValueError."""
        ndis: Any = self.host
        vc = nth([*self.seen_of(VcHandle, live=True), FOREIGN_HANDLES[VcHandle]], index)
        af = nth([*self.seen_of(AfHandle, live=True), FOREIGN_HANDLES[AfHandle]], index)
        complete_open = getattr(ndis, f"Ndis{self.SPELLING}CmOpenAddressFamilyComplete")
        call: Callable[[], object] = {
            "AF handle of another type": lambda: ndis.NdisClCloseAddressFamily("NdisAfHandle#1"),
            "AF handle missing": lambda: ndis.NdisClCloseAddressFamily(None),
            "VC handle of another type": lambda: ndis.NdisCoDeleteVc(index),
            "call parameters of another type": lambda: ndis.NdisClMakeCall(vc, {"to": "bob"}),
            "no NBLs": lambda: ndis.NdisCoSendNetBufferLists(vc, None, 0),
            "NBLs of another type": lambda: ndis.NdisCoSendNetBufferLists(vc, b"raw", 0),
            "negative close data size": lambda: ndis.NdisClCloseCall(vc, None, None, -1),
            "no SAP": lambda: ndis.NdisClRegisterSap(af, object(), None),
            "status of another type": lambda: complete_open("SUCCESS", af, None),
        }[which]
        self.refused_arguments(which, call)

    # --- teardown -------------------------------------------------------------------------------

    def teardown(self) -> None:
        """Close everything, halt the adapters, unload the drivers, and check that nothing
        is left.

        Skipped when a step failed (its failure is what gets reported) or the
        host never started.
        """
        if self.ndis is None or self.unfinished or self.ndis.crashed is not None:
            return
        ndis = self.ndis
        self.budget()
        self.close_everything()
        for name in self.adapter_names:
            if ndis.adapter(name).state.value == "running":
                self.valid("halt_adapter", functools.partial(ndis.halt_adapter, name))
        self.valid("ndis.run()", ndis.run)
        for block in reversed(ndis.drivers):
            self.valid("unload_driver", functools.partial(ndis.unload_driver, block.name))
        assert ndis.crashed is None
        assert ndis.check_invariants() == []
        leaks: dict[str, Sequence[object]] = {
            "drivers": ndis.drivers,
            "address families": ndis.address_families,
            "SAPs": ndis.saps,
            "VCs": ndis.vcs,
            "calls": ndis.calls,
            "parties": ndis.parties,
            "NBLs in flight": ndis.in_flight,
            "operations": ndis.operations,
            "work items": ndis.work_items,
            "timers": ndis.timers,
            "bindings": ndis.bindings,
            "adapters": ndis.adapters,
            "scheduled items": ndis.scheduler.pending(),
            "handles": [h for h, _ in ndis.handles.live()],
        }
        left = {what: items for what, items in leaks.items() if items}
        assert not left, f"left after teardown: {left}"
        for name, client in self.clients.items():
            assert client.bindings == [], f"{name} still lists bindings {client.bindings}"
        unexpected = ndis.verifier.violations[self.expected_violations :]
        assert not unexpected, f"violations during teardown: {unexpected}"
        if not self.misused:
            assert ndis.verifier.violations == []
        # conftest.py keeps every host of a test for its final check: let the trace of
        # a host that passed go, or thousands of examples fill the memory.
        ndis.trace = Trace()

    def close_everything(self) -> None:
        """One thing at a time, the scheduler drained between: let go of whatever the
        call manager was asked to do (`let_go`), answer the calls offered, hang up,
        delete the VCs, deregister the SAPs, close the AFs."""
        ndis = self.host
        for _ in range(TEARDOWN_ROUNDS):
            self.valid("ndis.run()", ndis.run)
            if not self.client_afs(*AF_STATES):
                return
            offered = self.client_vcs(lambda vc: vc.call == "offered", af_states=LIVE_AF_STATES)
            connected = self.client_vcs(self.connected, af_states=LIVE_AF_STATES)
            idle = self.idle_vcs(af_states=LIVE_AF_STATES)
            saps = self.client_saps("registered")
            if self.let_go():
                continue
            if offered:
                client, vc = offered[0]
                self.valid("answer", functools.partial(client.answer, vc, NDIS_STATUS_NOT_ACCEPTED))
            elif connected:
                client, vc = connected[0]
                self.valid("close_call", functools.partial(client.close_call, vc))
            elif idle:
                for client, vc in idle:
                    self.valid("delete_vc", functools.partial(client.delete_vc, vc))
            elif saps:
                for client, sap in saps:
                    self.valid("deregister_sap", functools.partial(client.deregister_sap, sap))
            else:
                for client, af in self.closable_afs():
                    self.valid("close_af", functools.partial(client.close_af, af))
        held = [(self.name_of(c), af.state, af.vcs) for c, af in self.client_afs(*AF_STATES)]
        raise AssertionError(f"the clients never let go: {held}")

    def let_go(self) -> bool:
        """Hook: undo one thing the machine had the call manager do; False if none is left."""
        return False


# --- the MCM's loopback network --------------------------------------------------------------


class McmNetworkMachine(HostMachine):
    """The sample MCM with two to four sample clients calling each other."""

    SPELLING = "M"

    def __init__(self) -> None:
        super().__init__()
        self.mcm: SampleMcm | None = None

    @initialize(
        completion=COMPLETION,
        clients=st.integers(min_value=2, max_value=4),
        incoming=st.lists(INCOMING, min_size=4, max_size=4),
        families=st.sampled_from(
            [(CO_ADDRESS_FAMILY_Q2931,), (CO_ADDRESS_FAMILY_Q2931, CO_ADDRESS_FAMILY_PSCHED)]
        ),
        adapters=st.integers(min_value=1, max_value=2),
        seed=SEEDS,
        mode=MODES,
    )
    def build(
        self,
        completion: Completion,
        clients: int,
        incoming: list[Incoming],
        families: tuple[int, ...],
        adapters: int,
        seed: int | None,
        mode: Mode,
    ) -> None:
        """The MCM ("samplemcm"; adapter mcm0, maybe mcm1) and the clients, AFs open."""
        ndis = self.start(seed=seed, mode=mode)
        self.mcm = SampleMcm(ndis, address_families=families, completion=completion)
        ndis.load_driver(self.mcm, "samplemcm")
        self.load_clients(clients, families, incoming)
        self.miniport_name = "samplemcm"
        self.adapter_names = [f"mcm{i}" for i in range(adapters)]
        for name in self.adapter_names:
            ndis.add_adapter("samplemcm", name)
        ndis.run()

    # --- what the MCM knows and the client does not (yet) --------------------------------------

    def mcm_vc(self, handle: VcHandle | None) -> McmVc | None:
        assert self.mcm is not None
        for adapter in self.mcm.adapters.values():
            found = adapter.vcs.get(handle) if handle is not None else None
            if found is not None:
                return found
        return None

    def hang_up_on_its_way(self, vc: ClientVc) -> bool:
        """The other end of the call on `vc` hung up (or dropped the party) and the
        MCM's work item that tells this client has not run yet."""
        mine = self.mcm_vc(vc.handle)
        if mine is None or vc.call not in ("connected", "accepted"):
            return False
        if vc.parties:  # a multipoint root: a leaf that left
            leaves = {p.handle: p for p in mine.parties}
            return any(
                p.state == "connected" and not getattr(leaves.get(p.handle), "connected", False)
                for p in vc.parties
            )
        if mine.party is not None:  # a leaf whose root hung up
            return not mine.party.connected
        return mine.peer is None  # point-to-point: the peer hung up; a leaf: it was dropped

    def other_ends(self, vc: ClientVc) -> list[ClientVc]:
        """The clients' VCs at the other end(s) of the call on `vc`, as the MCM links them."""
        here = self.mcm_vc(vc.handle)
        if here is None or vc.call in (None, "closed", "failed"):
            return []
        linked = [here.peer, *(p.leaf for p in here.parties)]
        if here.party is not None:
            linked.append(here.party.root)
        handles = {id(m.handle) for m in linked if m is not None and m.handle is not None}
        every = self.client_vcs(bool, af_states=AF_STATES)
        return [other for _, other in every if id(other.handle) in handles]

    # --- what the clients hold ------------------------------------------------------------------

    def callee(self, index: int) -> str:
        """The name of a SAP some client registered or, one time in five, "nobody"."""
        names = sorted({s.sap.Sap.decode() for _, s in self.client_saps("registered")})
        return nth(names, index) if names and index % 5 else "nobody"

    def roots(self) -> list[tuple[SampleClient, ClientVc]]:
        """Multipoint calls a client made that are up, with no party on its way."""
        return self.client_vcs(
            lambda vc: (
                self.connected(vc)
                and bool(vc.parties)
                and all(p.state == "connected" for p in vc.parties)
            )
        )

    def droppable(self) -> list[tuple[SampleClient, ClientParty]]:
        """Parties of an up multipoint call that are not its last."""
        out: list[tuple[SampleClient, ClientParty]] = []
        for client, vc in self.connected_vcs():
            parties = [p for p in vc.parties if p.state == "connected"]
            if len(parties) > 1 and len(parties) == len(vc.parties):
                out.extend((client, p) for p in parties)
        return out

    # --- valid actions ------------------------------------------------------------------------

    @precondition(lambda self: bool(self.client_afs("open")))
    @rule(
        index=INDEX,
        callee=INDEX,
        multipoint=st.booleans(),
        priority=st.integers(min_value=0, max_value=7),
        irql=IRQLS,
        settle=st.booleans(),
    )
    @step
    def make_call(
        self, index: int, callee: int, multipoint: bool, priority: int, irql: KIRQL, settle: bool
    ) -> None:
        """A client calls a registered SAP, or one nobody registered, point-to-point or
        multipoint; with `settle`, the scheduler then runs until the call is answered."""
        client, af = nth(self.client_afs("open"), index)
        parameters = to(self.callee(callee), priority)
        with self.as_driver(self.name_of(client), irql):
            self.valid("make_call", lambda: client.make_call(af, parameters, multipoint=multipoint))
        if settle:
            self.valid("ndis.run()", self.host.run)

    @precondition(lambda self: bool(self.roots()))
    @rule(index=INDEX, callee=INDEX, irql=IRQLS, settle=st.booleans())
    @step
    def add_party(self, index: int, callee: int, irql: KIRQL, settle: bool) -> None:
        """A client adds a party (a registered SAP, or one nobody registered) to its
        multipoint call; with `settle`, the scheduler then runs until it is answered."""
        client, vc = nth(self.roots(), index)
        parameters = to(self.callee(callee))
        with self.as_driver(self.name_of(client), irql):
            self.valid("add_party", lambda: client.add_party(vc, parameters))
        if settle:
            self.valid("ndis.run()", self.host.run)

    @precondition(lambda self: bool(self.droppable()))
    @rule(index=INDEX, irql=IRQLS)
    @step
    def drop_party(self, index: int, irql: KIRQL) -> None:
        """A client drops a party that is not its call's last."""
        client, party = nth(self.droppable(), index)
        with self.as_driver(self.name_of(client), irql):
            self.valid("drop_party", lambda: client.drop_party(party))

    def qos_vcs(self) -> list[tuple[SampleClient, ClientVc]]:
        """Connected calls whose QoS a client may change now."""
        return self.connected_vcs()

    @precondition(lambda self: bool(self.qos_vcs()))
    @rule(
        index=INDEX,
        priority=st.integers(min_value=0, max_value=7),
        with_media=st.booleans(),
        irql=IRQLS,
    )
    @step
    def modify_qos(self, index: int, priority: int, with_media: bool, irql: KIRQL) -> None:
        """A client asks for new call parameters (without media ones the MCM refuses)."""
        client, vc = nth(self.qos_vcs(), index)
        parameters = to("bob", priority) if with_media else bare()
        with self.as_driver(self.name_of(client), irql):
            self.valid("modify_qos", lambda: client.modify_qos(vc, parameters))

    @rule(completion=COMPLETION, index=INDEX, incoming=INCOMING)
    @step
    def change_behaviour(self, completion: Completion, index: int, incoming: Incoming) -> None:
        """The MCM switches between sync and pended completion; a client changes how it
        answers incoming calls."""
        assert self.mcm is not None
        self.mcm.completion = completion
        nth(list(self.clients.values()), index).incoming = incoming


# --- a stand-alone call manager over a CoNDIS miniport ------------------------------------------


class CallManagerMachine(HostMachine):
    """The sample call manager over the sample CoNDIS miniport, with sample clients."""

    SPELLING = ""

    def __init__(self) -> None:
        super().__init__()
        self.cm: SampleCallManager | None = None
        self.miniport: SampleCoMiniport | None = None

    @initialize(
        completion=COMPLETION,
        miniport_completion=COMPLETION,
        clients=st.integers(min_value=1, max_value=3),
        seed=SEEDS,
        mode=MODES,
    )
    def build(
        self,
        completion: Completion,
        miniport_completion: Completion,
        clients: int,
        seed: int | None,
        mode: Mode,
    ) -> None:
        """The miniport (adapter atm0), the call manager and the clients, AFs open."""
        ndis = self.start(seed=seed, mode=mode)
        self.miniport = SampleCoMiniport(ndis, completion=miniport_completion)
        ndis.load_driver(self.miniport, "samplecominiport")
        self.cm = SampleCallManager(ndis, completion=completion)
        ndis.load_driver(self.cm, "samplecallmanager")
        self.load_clients(clients, (CO_ADDRESS_FAMILY_Q2931,), ["accept"] * clients)
        self.miniport_name = "samplecominiport"
        self.adapter_names = ["atm0"]
        ndis.add_adapter("samplecominiport", "atm0")
        ndis.run()

    # --- VCs the call manager activated on its own ------------------------------------------

    def ndis_vc_state(self, handle: VcHandle | None) -> str | None:
        ndis = self.host
        if handle is None or not ndis.handles.is_live(handle):
            return None
        return next((vc.state.value for vc in ndis.vcs if vc.handle is handle), None)

    def client_vc_of(self, vc: CmVc) -> ClientVc | None:
        found = self.client_vcs(lambda c: c.handle is vc.handle, af_states=AF_STATES)
        return found[0][1] if found else None

    def callless(self, *states: str) -> list[CmVc]:
        """The call manager's contexts of client VCs that carry no call (nor a call on
        its way) and whose NDIS state is one of `states`."""
        assert self.cm is not None
        out = []
        for binding in self.cm.bindings:
            for vc in binding.vcs.values():
                mine = self.client_vc_of(vc)
                if (
                    mine is not None
                    and mine.call in (None, "closed", "failed")
                    and vc.making is None
                    and not (vc.closing or vc.deactivating)
                    and self.ndis_vc_state(vc.handle) in states
                ):
                    out.append(vc)
        return out

    def vc_quiet(self, vc: ClientVc) -> bool:
        """A VC without a call that the call manager activated is not the client's to
        delete (CoNdisDeleteActiveVc); the machine deactivates it first."""
        return vc.call not in (None, "closed", "failed") or self.ndis_vc_state(vc.handle) in (
            None,
            "created",
        )

    # --- valid actions ------------------------------------------------------------------------

    @precondition(lambda self: bool(self.client_afs("open")))
    @rule(
        index=INDEX,
        with_media=st.booleans(),
        multipoint=st.booleans(),
        priority=st.integers(min_value=0, max_value=7),
        irql=IRQLS,
        settle=st.booleans(),
    )
    @step
    def make_call(
        self,
        index: int,
        with_media: bool,
        multipoint: bool,
        priority: int,
        irql: KIRQL,
        settle: bool,
    ) -> None:
        """A client makes an outgoing call; the network answers every point-to-point call
        whose parameters the miniport can activate. With `settle`, the scheduler then
        runs until it has."""
        client, af = nth(self.client_afs("open"), index)
        parameters = to("bob", priority) if with_media else bare()
        with self.as_driver(self.name_of(client), irql):
            self.valid("make_call", lambda: client.make_call(af, parameters, multipoint=multipoint))
        if settle:
            self.valid("ndis.run()", self.host.run)

    @precondition(lambda self: bool(self.callless("created", "active")))
    @rule(index=INDEX, priority=st.integers(min_value=0, max_value=7), with_media=st.booleans())
    @step
    def activate_vc(self, index: int, priority: int, with_media: bool) -> None:
        """The call manager activates (or re-parameterizes) a VC that carries no call;
        without media parameters the miniport refuses."""
        assert self.cm is not None
        cm, vc = self.cm, nth(self.callless("created", "active"), index)
        parameters = to("bob", priority) if with_media else bare()
        with self.as_driver("samplecallmanager"):
            self.valid("activate_vc", lambda: cm.activate_vc(vc, parameters))

    @precondition(lambda self: bool(self.callless("active")))
    @rule(index=INDEX)
    @step
    def deactivate_vc(self, index: int) -> None:
        """The call manager deactivates a VC it activated with no call on it."""
        assert self.cm is not None
        cm, vc = self.cm, nth(self.callless("active"), index)
        with self.as_driver("samplecallmanager"):
            self.valid("deactivate_vc", lambda: cm.deactivate_vc(vc))

    @rule(completion=COMPLETION, miniport_completion=COMPLETION)
    @step
    def change_behaviour(self, completion: Completion, miniport_completion: Completion) -> None:
        """The call manager and the miniport switch between sync and pended completion."""
        assert self.cm is not None and self.miniport is not None
        self.cm.completion = completion
        self.miniport.completion = miniport_completion

    # --- teardown -------------------------------------------------------------------------------

    def let_go(self) -> bool:
        """Deactivate one VC the call manager activated without a call."""
        assert self.cm is not None
        cm, active = self.cm, self.callless("active")
        if not active:
            return False
        with self.as_driver("samplecallmanager"):
            self.valid("deactivate_vc", functools.partial(cm.deactivate_vc, active[0]))
        return True


McmNetworkMachine.TestCase.settings = PROFILE
CallManagerMachine.TestCase.settings = PROFILE
TestMcmNetwork = McmNetworkMachine.TestCase
TestCallManager = CallManagerMachine.TestCase
