"""The state machine over the sample stand-alone call manager and CoNDIS miniport."""

from __future__ import annotations

import functools

from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from condis import CO_ADDRESS_FAMILY_Q2931, KIRQL, Mode
from condis.handles import VcHandle
from condis.samples import SampleCallManager, SampleCoMiniport
from condis.samples.callmanager import CmVc
from condis.samples.client_state import ClientVc
from machines.host import HostMachine
from machines.vocabulary import (
    AF_STATES,
    COMPLETION,
    INDEX,
    IRQLS,
    MODES,
    SEEDS,
    Completion,
    bare,
    nth,
    step,
    to,
)


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
