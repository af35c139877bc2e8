"""The host a state machine drives, its sample clients, and what every step checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from condis import KIRQL, PASSIVE_LEVEL, BugCheck, Mode, Ndis, RandomPolicy
from condis.handles import NDIS_HANDLE
from condis.samples import SampleClient
from condis.samples.client_state import ClientAf, ClientSap, ClientVc
from machines.vocabulary import (
    AF_STATES,
    CLIENT_NAMES,
    FAILED,
    FOREIGN_HANDLES,
    LIVE_AF_STATES,
    STEP_RECORDS,
    BoundedTrace,
    Incoming,
    T,
    failure,
    nth,
    sap_of,
    step,
)


class HostBase(RuleBasedStateMachine):
    """The host under test and its sample clients: what they hold, when an action is
    safe to take, how an action is run and checked, the invariants checked after
    every step, and the rules that run deferred work (`HostMachine` says what a
    machine built on it provides)."""

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
        policy = None if seed is None else RandomPolicy(seed)
        self.ndis = Ndis(policy=policy, mode=mode, trace=BoundedTrace())
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
            self.ndis.trace.budget_end = self.ndis.trace.next_seq + STEP_RECORDS

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
