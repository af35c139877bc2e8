"""The `Ndis` host: one simulated machine's NDIS library.

`Ndis` is assembled from one mixin per entity (drivers, adapters, bindings,
address families, work items, timers, spin locks and events, unloading) on
top of `NdisCore` (runtime.py). Its public surface has two layers:

* the DDIs, with their WDK names and parameters (`NdisClOpenAddressFamilyEx`,
  `NdisMCmRegisterAddressFamilyEx`...), for drivers to call;
* host operations in PEP 8 names, for the test or tool that plays the rest
  of the machine: `load_driver`, `unload_driver`, `unload_all`, `add_adapter`,
  `halt_adapter`, `unbind_adapter`, `run`, `step`, `driver_context`,
  `snapshot`, and the tables (`drivers`, `adapters`, `bindings`,
  `registrations`, `address_families`, `operations`, `work_items`, `timers`,
  `spin_locks`).

Several `Ndis` objects can live in one process; nothing is global.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from condis.af import AfEngine
from condis.af_close import AfCloseEngine
from condis.af_registration import AfRegistry
from condis.call import CallEngine
from condis.call_close import CallCloseEngine
from condis.call_incoming import IncomingCallEngine
from condis.data import DataEngine, InFlight
from condis.handles import VcHandle
from condis.lifecycle import CallEnd, Teardown
from condis.oid import OidEngine
from condis.party import PartyEngine
from condis.qos import QosEngine
from condis.records import (
    Adapter,
    AfRegistration,
    Binding,
    Call,
    OpenAddressFamily,
    Party,
    RegisteredSap,
    Vc,
)
from condis.routes import route
from condis.sap import SapEngine
from condis.scheduler import Policy
from condis.spinlocks import SyncMixin
from condis.status_ind import StatusEngine
from condis.structs import NDIS_OID_REQUEST
from condis.timers import TimerMixin
from condis.unload import UnloadMixin
from condis.vc import VcEngine
from condis.vc_activation import VcActivationEngine
from condis.vcnames import VcNameEngine
from condis.verifier import Mode
from condis.verifier.leaks import Leak

__all__ = ["Ndis"]


class Ndis(TimerMixin, SyncMixin, UnloadMixin):
    """One host's NDIS: drivers, adapters, bindings, AFs, deferred work, verifier.

    Args:
        policy: how the scheduler picks among ready work items (default FIFO).
        mode: `Mode.STRICT` (default) raises BugCheck on the first violation;
            `Mode.COLLECT` records violations and carries on.
        watchdog_ms: simulated milliseconds a pended operation may stay
            uncompleted before the NdisWatchdog rule fires (completion.py);
            None (default) turns the watchdog off.
    """

    def __init__(
        self,
        *,
        policy: Policy | None = None,
        mode: Mode = Mode.STRICT,
        watchdog_ms: int | None = None,
    ) -> None:
        super().__init__(policy=policy, mode=mode, watchdog_ms=watchdog_ms)
        core = self.core
        self._registry = AfRegistry(core)
        self._afs = AfEngine(core)
        self._af_close = AfCloseEngine(core, self._afs)
        self._saps = SapEngine(core)
        self._party = PartyEngine(core)
        self._qos = QosEngine(core)
        self._call_end = CallEnd(self._qos)
        self._vc = VcEngine(core, self._call_end)
        self._activation = VcActivationEngine(core)
        self._calls = CallEngine(core, self._vc, self._party, self._call_end)
        self._incoming = IncomingCallEngine(core, self._calls)
        self._close = CallCloseEngine(core, self._party, self._call_end)
        self._names = VcNameEngine(self.core, self._vc)
        self._status = StatusEngine(self.core)
        self._oid = OidEngine(self.core)
        self._data = DataEngine(self.core)
        self._teardown = Teardown(
            self.k,
            self._registry,
            self._afs,
            self._saps,
            self._vc,
            self._calls,
            self._qos,
            self._party,
            self._data,
        )
        self.data_counts = self._data.data_counts

    # --- address families and SAPs ------------------------------------------------------------
    NdisMCmRegisterAddressFamilyEx = route("_registry", AfRegistry.NdisMCmRegisterAddressFamilyEx)
    NdisCmRegisterAddressFamilyEx = route("_registry", AfRegistry.NdisCmRegisterAddressFamilyEx)
    NdisClOpenAddressFamilyEx = route("_afs", AfEngine.NdisClOpenAddressFamilyEx)
    NdisCmOpenAddressFamilyComplete = route("_afs", AfEngine.NdisCmOpenAddressFamilyComplete)
    NdisMCmOpenAddressFamilyComplete = route("_afs", AfEngine.NdisMCmOpenAddressFamilyComplete)
    NdisClCloseAddressFamily = route("_af_close", AfCloseEngine.NdisClCloseAddressFamily)
    NdisCmCloseAddressFamilyComplete = route(
        "_af_close", AfCloseEngine.NdisCmCloseAddressFamilyComplete
    )
    NdisMCmCloseAddressFamilyComplete = route(
        "_af_close", AfCloseEngine.NdisMCmCloseAddressFamilyComplete
    )
    NdisCmNotifyCloseAddressFamily = route(
        "_af_close", AfCloseEngine.NdisCmNotifyCloseAddressFamily
    )
    NdisMCmNotifyCloseAddressFamily = route(
        "_af_close", AfCloseEngine.NdisMCmNotifyCloseAddressFamily
    )
    NdisClNotifyCloseAddressFamilyComplete = route(
        "_af_close", AfCloseEngine.NdisClNotifyCloseAddressFamilyComplete
    )
    NdisClRegisterSap = route("_saps", SapEngine.NdisClRegisterSap)
    NdisCmRegisterSapComplete = route("_saps", SapEngine.NdisCmRegisterSapComplete)
    NdisMCmRegisterSapComplete = route("_saps", SapEngine.NdisMCmRegisterSapComplete)
    NdisClDeregisterSap = route("_saps", SapEngine.NdisClDeregisterSap)
    NdisCmDeregisterSapComplete = route("_saps", SapEngine.NdisCmDeregisterSapComplete)
    NdisMCmDeregisterSapComplete = route("_saps", SapEngine.NdisMCmDeregisterSapComplete)
    # --- VCs -------------------------------------------------------------------------------
    NdisCoCreateVc = route("_vc", VcEngine.NdisCoCreateVc)
    NdisMCmCreateVc = route("_vc", VcEngine.NdisMCmCreateVc)
    NdisCoDeleteVc = route("_vc", VcEngine.NdisCoDeleteVc)
    NdisMCmDeleteVc = route("_vc", VcEngine.NdisMCmDeleteVc)
    NdisCmActivateVc = route("_activation", VcActivationEngine.NdisCmActivateVc)
    NdisMCoActivateVcComplete = route("_activation", VcActivationEngine.NdisMCoActivateVcComplete)
    NdisMCmActivateVc = route("_activation", VcActivationEngine.NdisMCmActivateVc)
    NdisCmDeactivateVc = route("_activation", VcActivationEngine.NdisCmDeactivateVc)
    NdisMCoDeactivateVcComplete = route(
        "_activation", VcActivationEngine.NdisMCoDeactivateVcComplete
    )
    NdisMCmDeactivateVc = route("_activation", VcActivationEngine.NdisMCmDeactivateVc)
    # --- calls -----------------------------------------------------------------------------
    NdisClMakeCall = route("_calls", CallEngine.NdisClMakeCall)
    NdisCmMakeCallComplete = route("_calls", CallEngine.NdisCmMakeCallComplete)
    NdisMCmMakeCallComplete = route("_calls", CallEngine.NdisMCmMakeCallComplete)
    NdisCmDispatchIncomingCall = route("_incoming", IncomingCallEngine.NdisCmDispatchIncomingCall)
    NdisMCmDispatchIncomingCall = route("_incoming", IncomingCallEngine.NdisMCmDispatchIncomingCall)
    NdisClIncomingCallComplete = route("_incoming", IncomingCallEngine.NdisClIncomingCallComplete)
    NdisCmDispatchCallConnected = route("_incoming", IncomingCallEngine.NdisCmDispatchCallConnected)
    NdisMCmDispatchCallConnected = route(
        "_incoming", IncomingCallEngine.NdisMCmDispatchCallConnected
    )
    NdisClCloseCall = route("_close", CallCloseEngine.NdisClCloseCall)
    NdisCmCloseCallComplete = route("_close", CallCloseEngine.NdisCmCloseCallComplete)
    NdisMCmCloseCallComplete = route("_close", CallCloseEngine.NdisMCmCloseCallComplete)
    NdisCmDispatchIncomingCloseCall = route(
        "_close", CallCloseEngine.NdisCmDispatchIncomingCloseCall
    )
    NdisMCmDispatchIncomingCloseCall = route(
        "_close", CallCloseEngine.NdisMCmDispatchIncomingCloseCall
    )
    # --- parties ---------------------------------------------------------------------------
    NdisClAddParty = route("_party", PartyEngine.NdisClAddParty)
    NdisCmAddPartyComplete = route("_party", PartyEngine.NdisCmAddPartyComplete)
    NdisMCmAddPartyComplete = route("_party", PartyEngine.NdisMCmAddPartyComplete)
    NdisClDropParty = route("_party", PartyEngine.NdisClDropParty)
    NdisCmDropPartyComplete = route("_party", PartyEngine.NdisCmDropPartyComplete)
    NdisMCmDropPartyComplete = route("_party", PartyEngine.NdisMCmDropPartyComplete)
    NdisCmDispatchIncomingDropParty = route("_party", PartyEngine.NdisCmDispatchIncomingDropParty)
    NdisMCmDispatchIncomingDropParty = route("_party", PartyEngine.NdisMCmDispatchIncomingDropParty)
    # --- QoS -------------------------------------------------------------------------------
    NdisClModifyCallQoS = route("_qos", QosEngine.NdisClModifyCallQoS)
    NdisCmModifyCallQoSComplete = route("_qos", QosEngine.NdisCmModifyCallQoSComplete)
    NdisMCmModifyCallQoSComplete = route("_qos", QosEngine.NdisMCmModifyCallQoSComplete)
    NdisCmDispatchIncomingCallQoSChange = route(
        "_qos", QosEngine.NdisCmDispatchIncomingCallQoSChange
    )
    NdisMCmDispatchIncomingCallQoSChange = route(
        "_qos", QosEngine.NdisMCmDispatchIncomingCallQoSChange
    )
    # --- data ------------------------------------------------------------------------------
    NdisCoSendNetBufferLists = route("_data", DataEngine.NdisCoSendNetBufferLists)
    NdisMCoSendNetBufferListsComplete = route("_data", DataEngine.NdisMCoSendNetBufferListsComplete)
    NdisMCoIndicateReceiveNetBufferLists = route(
        "_data", DataEngine.NdisMCoIndicateReceiveNetBufferLists
    )
    NdisReturnNetBufferLists = route("_data", DataEngine.NdisReturnNetBufferLists)
    # --- OID requests and status indications -----------------------------------------------
    NdisCoOidRequest = route("_oid", OidEngine.NdisCoOidRequest)
    NdisMCmOidRequest = route("_oid", OidEngine.NdisMCmOidRequest)
    NdisCoOidRequestComplete = route("_oid", OidEngine.NdisCoOidRequestComplete)
    NdisMCmOidRequestComplete = route("_oid", OidEngine.NdisMCmOidRequestComplete)
    NdisMCoOidRequestComplete = route("_oid", OidEngine.NdisMCoOidRequestComplete)
    NdisMCoIndicateStatusEx = route("_status", StatusEngine.NdisMCoIndicateStatusEx)
    # --- VC names --------------------------------------------------------------------------
    NdisCoGetTapiCallId = route("_names", VcNameEngine.NdisCoGetTapiCallId)
    NdisClGetProtocolVcContextFromTapiCallId = route(
        "_names", VcNameEngine.NdisClGetProtocolVcContextFromTapiCallId
    )
    NdisCoAssignInstanceName = route("_names", VcNameEngine.NdisCoAssignInstanceName)

    @property
    def vcs(self) -> tuple[Vc, ...]:
        """Every VC not yet deleted, in creation order."""
        return self._vc.vcs

    @property
    def calls(self) -> tuple[Call, ...]:
        """Every call that is not closed."""
        return self._calls.calls

    def call_on(self, vc_handle: VcHandle) -> Call | None:
        """The live call on a VC, if any."""
        return self._calls.call_on(vc_handle)

    @property
    def parties(self) -> tuple[Party, ...]:
        """Every party not yet dropped."""
        return self._party.parties

    @property
    def in_flight(self) -> tuple[InFlight, ...]:
        """Every NBL NDIS knows to be out of its owner's hands, oldest first."""
        return self._data.in_flight

    @property
    def pending_oid_requests(self) -> tuple[NDIS_OID_REQUEST, ...]:
        return self._oid.pending_oid_requests

    @property
    def registrations(self) -> tuple[AfRegistration, ...]:
        """Every AF offer that is live, in registration order."""
        return self._registry.registrations

    @property
    def address_families(self) -> tuple[OpenAddressFamily, ...]:
        """Every AF whose handle is still valid for either side."""
        return self._afs.address_families

    @property
    def saps(self) -> tuple[RegisteredSap, ...]:
        """Every SAP whose handle is still valid for either side."""
        return self._saps.saps

    def _leaks(self) -> Iterator[Leak]:
        yield from super()._leaks()
        yield from self._afs.leaks()
        yield from self._saps.leaks()
        yield from self._vc.leaks()
        yield from self._calls.leaks()
        yield from self._party.leaks()
        yield from self._data.leaks()

    def _invariants(self) -> Iterator[str]:
        yield from super()._invariants()
        yield from self._registry.invariants()
        yield from self._afs.invariants()
        yield from self._saps.invariants()
        yield from self._vc.invariants()
        yield from self._calls.invariants()
        yield from self._party.invariants(v.call for v in self._vc.vcs if v.call is not None)
        yield from self._data.invariants(self._vc.vcs)

    def _adapter_started(self, adapter: Adapter) -> None:
        self._registry.adapter_started(adapter)
        super()._adapter_started(adapter)

    def _adapter_init_failed(self, adapter: Adapter) -> None:
        super()._adapter_init_failed(adapter)
        self._registry.adapter_init_failed(adapter)

    def _binding_bound(self, binding: Binding) -> None:
        super()._binding_bound(binding)
        self._registry.binding_bound(binding)

    def _binding_closing(self, binding: Binding, ddi_name: str) -> None:
        self._teardown.binding_closing(binding, ddi_name)
        super()._binding_closing(binding, ddi_name)

    def _adapter_halted(self, adapter: Adapter) -> None:
        self._teardown.adapter_halted(adapter)
        super()._adapter_halted(adapter)

    def snapshot(self) -> dict[str, Any]:
        """A comparable picture of every table (for "state unchanged" checks).

        Holds plain values only (names, labels, states), never the live
        objects, so two snapshots compare equal exactly when the host's
        state is the same.
        """
        return {
            "drivers": [
                (d.name, d.kind.value, d.roles, None if d.handle is None else d.handle.label)
                for d in self.drivers
            ],
            "adapters": [(a.name, a.state.value, a.handle.label) for a in self._adapters.values()],
            "bindings": [
                (
                    b.label,
                    b.state.value,
                    b.open_state.value,
                    None if b.handle is None else b.handle.label,
                )
                for b in self._bindings
            ],
            "registrations": [
                (
                    r.adapter.name,
                    r.cm.name,
                    r.family.AddressFamily,
                    r.announced,
                    r.withdrawn,
                    tuple(b.label for b in r.notified),
                )
                for r in self._registry.history
            ],
            "afs": [
                (
                    a.handle.label,
                    a.state.value,
                    a.client_valid,
                    a.cm_valid,
                    tuple(
                        (o.kind, o.state.value) for o in (a.open_op, a.close_op, a.notify_op) if o
                    ),
                )
                for a in self._afs.history
            ],
            "saps": [
                (p.handle.label, p.state.value, p.client_valid, p.cm_valid)
                for p in self._saps.history
            ],
            "vcs": [(v.handle.label, v.state.value, v.creator.name) for v in self._vc.vcs],
            "calls": [
                (v.call.vc.handle.label, v.call.state.value, v.call.outgoing)
                for v in self._vc.vcs
                if v.call is not None
            ],
            "parties": [(p.handle.label, p.state.value) for p in self._party.history],
            "in_flight": [(e.direction, e.vc.handle.label) for e in self._data.in_flight],
            "operations": [(o.id, o.kind, o.state.value) for o in self.operations],
            "handles": [h.label for h, _ in self.handles.live()],
            "work_items": [
                (w.handle.label, w.queued is not None, w.runs) for w in self._work_items
            ],
            "timers": [(t.handle.label, t.queued is not None, t.period_ms) for t in self._timers],
            "spin_locks": [(s.label, s.held, s.freed) for s in self._locks],
            "scheduler": [(i.label, i.kind.value, i.due) for i in self.scheduler.pending()],
            "now": self.scheduler.now,
        }
