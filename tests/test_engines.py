"""Engines built alone: a kernel, the engines an engine names, and records made by hand.

No `Ndis` here. Each engine is constructed from a `Core` and the engines its
constructor asks for; the NDIS objects it works on (drivers, an adapter, a
binding, an AF offer, an AF, a call) are records built directly, their
handles issued from the same kernel, and the drivers are handler tables
whose entries record what NDIS called them with. That an engine works so
shows it depends on nothing it was not given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from condis import (
    CO_ADDRESS_FAMILY_Q2931,
    CO_CALL_PARAMETERS,
    CO_SAP,
    NDIS_STATUS_CALL_ACTIVE,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    BugCheck,
)
from condis.af import AfEngine
from condis.af_close import AfCloseEngine
from condis.call import CallEngine
from condis.constants import NDIS_MEDIUM
from condis.core import Core
from condis.handles import AdapterHandle, AfHandle, BindContextHandle, BindingHandle, VcHandle
from condis.machines import (
    AdapterState,
    AfState,
    BindingState,
    CallState,
    OpenState,
    SapState,
    VcState,
)
from condis.ops import Operation, OpState
from condis.party import PartyEngine
from condis.records import (
    Adapter,
    AfRegistration,
    Binding,
    Call,
    DriverBlock,
    DriverKind,
    OpenAddressFamily,
    Vc,
)
from condis.sap import SapEngine
from condis.structs import (
    CO_ADDRESS_FAMILY,
    DRIVER_OBJECT,
    NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS,
    NDIS_CO_CLIENT_OPTIONAL_HANDLERS,
    NDIS_MINIPORT_CO_CHARACTERISTICS,
    NDIS_PROTOCOL_CO_CHARACTERISTICS,
)
from condis.vc import VcEngine

Q2931 = CO_ADDRESS_FAMILY(CO_ADDRESS_FAMILY_Q2931, 3, 1)
PARAMS = CO_CALL_PARAMETERS()


class Calls:
    """Handler tables whose entries record their calls and answer from `replies`."""

    def __init__(self) -> None:
        self.log: list[tuple[str, tuple[Any, ...]]] = []
        self.replies: dict[str, Any] = {}

    def __call__(self, name: str) -> Callable[..., Any]:
        def entry(*args: Any) -> Any:
            self.log.append((name, args))
            return self.replies.get(name)

        return entry

    def names(self) -> list[str]:
        return [name for name, _ in self.log]


class World:
    """An MCM and a client on one adapter, as records, on one kernel."""

    def __init__(self) -> None:
        self.core = Core.build()
        self.k = self.core.kernel
        self.calls = Calls()
        c = self.calls
        cm = NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS(
            **{
                f"Cm{n}Handler": c(f"ProtocolCm{n}")
                for n in (
                    "OpenAf",
                    "CloseAf",
                    "RegisterSap",
                    "DeregisterSap",
                    "MakeCall",
                    "CloseCall",
                    "AddParty",
                    "DropParty",
                )
            },
            CmCreateVcHandler=c("ProtocolCoCreateVc(cm)"),
            CmDeleteVcHandler=c("ProtocolCoDeleteVc(cm)"),
        )
        client = NDIS_CO_CLIENT_OPTIONAL_HANDLERS(
            ClOpenAfCompleteHandlerEx=c("ProtocolClOpenAfCompleteEx"),
            ClCloseAfCompleteHandler=c("ProtocolClCloseAfComplete"),
            ClDeregisterSapCompleteHandler=c("ProtocolClDeregisterSapComplete"),
            ClAddPartyCompleteHandler=c("ProtocolClAddPartyComplete"),
        )
        self.mcm = DriverBlock(
            name="mcm",
            driver_object=DRIVER_OBJECT(DriverName="mcm"),
            code=None,
            kind=DriverKind.MINIPORT,
            miniport_co=NDIS_MINIPORT_CO_CHARACTERISTICS(),
            call_manager=cm,
        )
        self.client = DriverBlock(
            name="client",
            driver_object=DRIVER_OBJECT(DriverName="client"),
            code=None,
            kind=DriverKind.PROTOCOL,
            protocol_co=NDIS_PROTOCOL_CO_CHARACTERISTICS(),
            client=client,
        )
        handles = self.k.handles
        self.adapter = Adapter(
            name="nic0",
            driver=self.mcm,
            handle=handles.issue(AdapterHandle, None),
            medium=NDIS_MEDIUM.NdisMediumAtm,
            state=AdapterState.RUNNING,
            context="adapter context",
        )
        handles.attach(self.adapter.handle, self.adapter)
        done = Operation(1000, "bind", "ProtocolBindAdapterEx", (), None, 0, OpState.DONE_SYNC)
        self.binding = Binding(
            protocol=self.client,
            adapter=self.adapter,
            bind_context=handles.issue(BindContextHandle, None),
            bind_op=done,
            state=BindingState.RUNNING,
            open_state=OpenState.OPEN,
            context="binding context",
        )
        self.binding.handle = handles.issue(BindingHandle, self.binding)
        self.adapter.bindings.append(self.binding)
        self.offer = AfRegistration(family=Q2931, adapter=self.adapter, cm=self.mcm, binding=None)
        self.adapter.registrations.append(self.offer)

    def open_af(self) -> OpenAddressFamily:
        """An AF of the client on the MCM's offer, open, made by hand."""
        handle = self.k.handles.issue(AfHandle, None)
        done = Operation(1001, "open-af", "ProtocolCmOpenAf", (), handle, 0, OpState.DONE_SYNC)
        af = OpenAddressFamily(
            handle=handle,
            registration=self.offer,
            client=self.binding,
            family=Q2931,
            client_context="af context",
            open_op=done,
            state=AfState.OPEN,
            cm_context="cm af context",
            client_valid=True,
        )
        self.k.handles.attach(handle, af)
        self.binding.afs.append(af)
        self.offer.afs.append(af)
        return af

    def trace(self) -> list[tuple[str, str, str | None]]:
        return [(r.phase.value, r.name, r.driver) for r in self.k.trace]


class TestAfs:
    def test_open_runs_protocol_cm_open_af_and_the_handle_is_the_clients(self) -> None:
        w = World()
        afs = AfEngine(w.core)
        w.calls.replies["ProtocolCmOpenAf"] = (NDIS_STATUS_SUCCESS, "cm ctx")
        status, handle = afs.NdisClOpenAddressFamilyEx(w.binding.handle, Q2931, "mine")
        assert status == NDIS_STATUS_SUCCESS and handle is not None
        ((name, args),) = w.calls.log
        assert name == "ProtocolCmOpenAf" and args == ("adapter context", Q2931, handle)
        (af,) = afs.address_families
        assert (af.state, af.client_valid, af.cm_context) == (AfState.OPEN, True, "cm ctx")
        assert w.trace() == [
            ("call", "NdisClOpenAddressFamilyEx", "client"),
            ("call", "ProtocolCmOpenAf", "mcm"),
            ("return", "ProtocolCmOpenAf", "mcm"),
            ("return", "NdisClOpenAddressFamilyEx", "client"),
        ]
        assert list(w.core.ops.invariants()) == []

    def test_a_pended_open_reaches_the_client_when_the_mcm_completes_it(self) -> None:
        w = World()
        afs = AfEngine(w.core)
        w.calls.replies["ProtocolCmOpenAf"] = NDIS_STATUS_PENDING
        status, handle = afs.NdisClOpenAddressFamilyEx(w.binding.handle, Q2931, "mine")
        assert status == NDIS_STATUS_PENDING and handle is not None
        assert [op.kind for op in w.core.ops.outstanding] == ["open-af"]
        afs.NdisMCmOpenAddressFamilyComplete(NDIS_STATUS_SUCCESS, handle, "cm ctx")
        assert w.calls.log[-1] == (
            "ProtocolClOpenAfCompleteEx",
            ("mine", handle, NDIS_STATUS_SUCCESS),
        )
        assert w.core.ops.outstanding == ()

    def test_no_offer_no_open_and_nothing_made(self) -> None:
        w = World()
        w.offer.withdrawn = True
        afs = AfEngine(w.core)
        before = [h.label for h, _ in w.k.handles.live()]
        status, handle = afs.NdisClOpenAddressFamilyEx(w.binding.handle, Q2931, "mine")
        assert (status, handle) == (NDIS_STATUS_FAILURE, None)
        assert w.calls.log == [] and afs.address_families == ()
        assert [h.label for h, _ in w.k.handles.live()] == before

    def test_close_runs_protocol_cm_close_af_and_the_handle_dies(self) -> None:
        w = World()
        afs = AfEngine(w.core)
        close = AfCloseEngine(w.core, afs)
        af = w.open_af()
        w.calls.replies["ProtocolCmCloseAf"] = NDIS_STATUS_SUCCESS
        assert close.NdisClCloseAddressFamily(af.handle) == NDIS_STATUS_SUCCESS
        assert w.calls.log == [("ProtocolCmCloseAf", ("cm af context",))]
        assert af.state is AfState.CLOSED and not w.k.handles.is_live(af.handle)
        assert af not in w.binding.afs and af not in w.offer.afs


class TestSaps:
    def test_register_then_deregister(self) -> None:
        w = World()
        saps = SapEngine(w.core)
        af = w.open_af()
        sap = CO_SAP(SapType=1, Sap=b"bob")
        w.calls.replies["ProtocolCmRegisterSap"] = (NDIS_STATUS_SUCCESS, "cm sap")
        status, handle = saps.NdisClRegisterSap(af.handle, "my sap", sap)
        assert status == NDIS_STATUS_SUCCESS and handle is not None
        (record,) = af.saps
        assert record.state is SapState.REGISTERED and record.cm_context == "cm sap"
        w.calls.replies["ProtocolCmDeregisterSap"] = NDIS_STATUS_SUCCESS
        assert saps.NdisClDeregisterSap(handle) == NDIS_STATUS_PENDING  # as the page says
        assert w.calls.names()[-2:] == [
            "ProtocolCmDeregisterSap",
            "ProtocolClDeregisterSapComplete",
        ]
        assert af.saps == {} and saps.saps == ()

    def test_a_sap_needs_an_open_af(self) -> None:
        w = World()
        saps = SapEngine(w.core)
        af = w.open_af()
        af.state = AfState.CLOSING  # the row for REGISTER_SAP refuses
        status, handle = saps.NdisClRegisterSap(af.handle, "ctx", CO_SAP(SapType=1, Sap=b"x"))
        assert (status, handle) == (NDIS_STATUS_FAILURE, None)
        assert w.calls.log == []


class Ended:
    """A CallEvents that records the calls that ended."""

    def __init__(self) -> None:
        self.ended: list[Call] = []

    def call_ended(self, call: Call, where: str, driver: DriverBlock) -> None:
        self.ended.append(call)

    def vc_deleting(self, vc: Vc, ddi: str, driver: DriverBlock) -> None:
        if vc.call is not None:
            self.ended.append(vc.call)


class TestCalls:
    def make_vc(self, w: World, vcs: VcEngine) -> Vc:
        af = w.open_af()
        w.calls.replies["ProtocolCoCreateVc(cm)"] = (NDIS_STATUS_SUCCESS, "cm vc")
        status, handle = vcs.NdisCoCreateVc(w.binding.handle, af.handle, "my vc")
        assert status == NDIS_STATUS_SUCCESS and handle is not None
        (vc,) = vcs.vcs
        return vc

    def test_make_call_connects_on_an_active_vc(self) -> None:
        w = World()
        events = Ended()
        vcs = VcEngine(w.core, events)
        calls = CallEngine(w.core, vcs, PartyEngine(w.core), events)
        vc = self.make_vc(w, vcs)
        vc.state = VcState.ACTIVE  # the MCM activated it (VcActivationEngine's business)
        w.calls.replies["ProtocolCmMakeCall"] = NDIS_STATUS_SUCCESS
        status, party = calls.NdisClMakeCall(vc.handle, PARAMS)
        assert (status, party) == (NDIS_STATUS_SUCCESS, None)
        assert w.calls.log[-1] == ("ProtocolCmMakeCall", ("cm vc", PARAMS, None))
        (call,) = calls.calls
        assert call.state is CallState.CONNECTED and call.vc is vc
        assert calls.NdisClMakeCall(vc.handle, PARAMS) == (NDIS_STATUS_CALL_ACTIVE, None)
        assert events.ended == []

    def test_a_new_call_ends_the_last_one(self) -> None:
        w = World()
        events = Ended()
        vcs = VcEngine(w.core, events)
        calls = CallEngine(w.core, vcs, PartyEngine(w.core), events)
        vc = self.make_vc(w, vcs)
        w.calls.replies["ProtocolCmMakeCall"] = NDIS_STATUS_FAILURE
        calls.NdisClMakeCall(vc.handle, PARAMS)
        first = vc.call
        assert first is not None and first.state is CallState.CLOSED
        calls.NdisClMakeCall(vc.handle, PARAMS)
        assert events.ended == [first] and vc.call is not first


class TestParties:
    def connected_call(self, w: World, parties: PartyEngine) -> Call:
        af = w.open_af()
        handle = w.k.handles.issue(VcHandle, None)
        vc = Vc(handle=handle, adapter=w.adapter, creator=w.client, af=af, state=VcState.ACTIVE)
        w.k.handles.attach(handle, vc)
        call = Call(vc=vc, outgoing=True, parameters=PARAMS, state=CallState.CONNECTED)
        vc.call = call
        root = parties.new(call, "root")
        parties.connect_call(call, "cm root")
        assert root.state == "connected"
        return call

    def test_add_then_drop_a_party(self) -> None:
        w = World()
        parties = PartyEngine(w.core)
        call = self.connected_call(w, parties)
        w.calls.replies["ProtocolCmAddParty"] = (NDIS_STATUS_SUCCESS, "cm leaf")
        status, handle = parties.NdisClAddParty(call.vc.handle, "leaf", PARAMS)
        assert status == NDIS_STATUS_SUCCESS and handle is not None
        assert [p.state for p in call.parties] == ["connected", "connected"]
        w.calls.replies["ProtocolCmDropParty"] = NDIS_STATUS_SUCCESS
        assert parties.NdisClDropParty(handle) == NDIS_STATUS_SUCCESS
        assert w.calls.log[-1] == ("ProtocolCmDropParty", ("cm leaf", None, 0))
        assert len(call.parties) == 1 and not w.k.handles.is_live(handle)

    def test_the_last_party_goes_with_the_call(self) -> None:
        w = World()
        parties = PartyEngine(w.core)
        call = self.connected_call(w, parties)
        (root,) = call.parties
        with pytest.raises(BugCheck) as crash:
            parties.NdisClDropParty(root.handle)
        assert crash.value.rule == "CoNdisDropLastParty"
        assert root.state == "connected" and w.calls.log == []
