"""The `Ndis` host: one simulated machine's NDIS library, a facade over its engines.

`Ndis` builds, in layer order, the kernel (kernel.py, with its operations
and its handle resolver), one engine per entity, the lifecycle sequences
that cross entities (lifecycle.py), the audit (audit.py) and the unloader,
each given exactly what it needs. Its public surface has two layers:

* the DDIs, with their WDK names, parameters and docstrings, each a typed
  route (routes.py) to the engine method that implements it;
* host operations in PEP 8 names, for the test or tool that plays the rest
  of the machine: `load_driver`, `unload_driver`, `unload_all`, `add_adapter`,
  `halt_adapter`, `unbind_adapter`, `shutdown`, `run`, `step`,
  `driver_context`, `snapshot`, `check_invariants`, `leaks`, and the tables
  (`drivers`, `adapters`, `bindings`, `registrations`, `address_families`,
  `saps`, `vcs`, `calls`, `parties`, `in_flight`, `operations`, `work_items`,
  `timers`, `spin_locks`).

Several `Ndis` objects can live in one process; nothing is global.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any, TextIO

from condis.adapters import AdapterEngine
from condis.af import AfEngine
from condis.af_close import AfCloseEngine
from condis.af_registration import AfRegistry
from condis.audit import Audit
from condis.bindings import BindingEngine
from condis.call import CallEngine
from condis.call_close import CallCloseEngine
from condis.call_incoming import IncomingCallEngine
from condis.constants import KIRQL, NDIS_HALT_ACTION, NDIS_MEDIUM, PASSIVE_LEVEL
from condis.core import Core
from condis.crossing import NDIS_SPIN_LOCK
from condis.data import DataCounts, DataEngine, InFlight
from condis.drivers import DriverEngine
from condis.handles import HandleTable, VcHandle
from condis.kernel import Kernel
from condis.lifecycle import BindingLife, CallEnd, Host, Teardown
from condis.machines import BindingState
from condis.oid import OidEngine
from condis.ops import Operation
from condis.party import PartyEngine
from condis.qos import QosEngine
from condis.records import (
    Adapter,
    AfRegistration,
    Binding,
    Call,
    DriverBlock,
    DriverKind,
    NdisConfig,
    OpenAddressFamily,
    Party,
    RegisteredSap,
    Vc,
)
from condis.routes import Route, route, routes
from condis.sap import SapEngine
from condis.scheduler import Item, Policy, Scheduler
from condis.spinlocks import SyncEngine
from condis.status import NDIS_STATUS
from condis.status_ind import StatusEngine
from condis.structs import NDIS_OID_REQUEST
from condis.timers import Timer, TimerEngine
from condis.trace import Trace
from condis.unload import Unloader
from condis.vc import VcEngine
from condis.vc_activation import VcActivationEngine
from condis.vcnames import VcNameEngine
from condis.verifier import FaultInjector, Mode, Verifier
from condis.verifier.leaks import Leak
from condis.workitems import WorkItem, WorkItemEngine

__all__ = ["Ndis"]


class Ndis:
    """One host's NDIS: drivers, adapters, bindings, AFs, deferred work, verifier.

    Args:
        policy: how the scheduler picks among ready work items (default FIFO).
        mode: `Mode.STRICT` (default) raises BugCheck on the first violation;
            `Mode.COLLECT` records violations and carries on.
        watchdog_ms: simulated milliseconds a pended operation may stay
            uncompleted before the NdisWatchdog rule fires (operations.py);
            None (default) turns the watchdog off.
        trace: True (default) keeps every trace record; False keeps none
            (sequence numbers still count every crossing, and leaks are still
            placed); or a `Trace` to record into.
        trace_limit: keep only the last N records (a ring), enough for the
            excerpt a violation carries; `trace.first_seq` says where it starts.
        trace_sink: a text stream that receives every record as a JSON line
            as it is made (the `condis demo --json` format), kept or not.
    """

    def __init__(
        self,
        *,
        policy: Policy | None = None,
        mode: Mode = Mode.STRICT,
        watchdog_ms: int | None = None,
        trace: bool | Trace = True,
        trace_limit: int | None = None,
        trace_sink: TextIO | None = None,
    ) -> None:
        kernel = Kernel(
            policy=policy,
            mode=mode,
            watchdog_ms=watchdog_ms,
            trace=trace,
            trace_limit=trace_limit,
            trace_sink=trace_sink,
        )
        core = self._core = Core.of(kernel)
        k = self._k = core.kernel
        self.handles: HandleTable = k.handles
        self.verifier: Verifier = k.verifier
        self.faults: FaultInjector = k.faults
        self.scheduler: Scheduler = k.scheduler
        # entities, each with what it needs
        self._drivers = DriverEngine(core)
        self._adapters = AdapterEngine(core)
        self._registry = AfRegistry(core)
        self._afs = AfEngine(core)
        self._af_close = AfCloseEngine(core, self._afs)
        self._saps = SapEngine(core)
        self._party = PartyEngine(core)
        self._qos = QosEngine(core)
        call_end = CallEnd(self._qos)
        self._vc = VcEngine(core, call_end)
        self._activation = VcActivationEngine(core)
        self._calls = CallEngine(core, self._vc, self._party, call_end)
        self._incoming = IncomingCallEngine(core, self._calls)
        self._close = CallCloseEngine(core, self._party, call_end)
        self._data = DataEngine(core)
        self._oid = OidEngine(core)
        self._status = StatusEngine(core)
        self._names = VcNameEngine(core, self._vc)
        self._work_items = WorkItemEngine(core)
        self._timers = TimerEngine(core)
        self._sync = SyncEngine(core)
        # the sequences that cross entities
        teardown = Teardown(
            k,
            self._registry,
            self._afs,
            self._saps,
            self._vc,
            self._calls,
            self._qos,
            self._party,
            self._data,
        )
        self._bindings = BindingEngine(core, BindingLife(self._registry, teardown))
        self._host = Host(
            k,
            self._drivers,
            self._adapters,
            self._bindings,
            self._registry,
            teardown,
            self._work_items,
            self._timers,
        )
        self._audit = Audit(
            k,
            core.ops,
            drivers=self._drivers,
            adapters=self._adapters,
            bindings=self._bindings,
            sync=self._sync,
            work_items=self._work_items,
            timers=self._timers,
            registry=self._registry,
            afs=self._afs,
            saps=self._saps,
            vcs=self._vc,
            calls=self._calls,
            parties=self._party,
            data=self._data,
        )
        self._unload = Unloader(
            core, self._drivers, self._adapters, self._bindings, self._host, self._audit
        )
        self.config: NdisConfig = self._bindings.config
        self.data_counts: DataCounts = self._data.data_counts

    @property
    def trace(self) -> Trace:
        """The records of this host's crossings (see the `trace` arguments)."""
        return self._k.trace

    # --- the DDIs, by area, each routed to its engine ------------------------------------------

    # registration, adapters, bindings, unloading
    NdisMRegisterMiniportDriver = route("_drivers", DriverEngine.NdisMRegisterMiniportDriver)
    NdisRegisterProtocolDriver = route("_drivers", DriverEngine.NdisRegisterProtocolDriver)
    NdisSetOptionalHandlers = route("_drivers", DriverEngine.NdisSetOptionalHandlers)
    NdisMSetMiniportAttributes = route("_adapters", AdapterEngine.NdisMSetMiniportAttributes)
    NdisOpenAdapterEx = route("_bindings", BindingEngine.NdisOpenAdapterEx)
    NdisCompleteBindAdapterEx = route("_bindings", BindingEngine.NdisCompleteBindAdapterEx)
    NdisCloseAdapterEx = route("_bindings", BindingEngine.NdisCloseAdapterEx)
    NdisCompleteUnbindAdapterEx = route("_bindings", BindingEngine.NdisCompleteUnbindAdapterEx)
    NdisMDeregisterMiniportDriver = route("_unload", Unloader.NdisMDeregisterMiniportDriver)
    NdisDeregisterProtocolDriver = route("_unload", Unloader.NdisDeregisterProtocolDriver)
    # address families
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
    # SAPs
    NdisClRegisterSap = route("_saps", SapEngine.NdisClRegisterSap)
    NdisCmRegisterSapComplete = route("_saps", SapEngine.NdisCmRegisterSapComplete)
    NdisMCmRegisterSapComplete = route("_saps", SapEngine.NdisMCmRegisterSapComplete)
    NdisClDeregisterSap = route("_saps", SapEngine.NdisClDeregisterSap)
    NdisCmDeregisterSapComplete = route("_saps", SapEngine.NdisCmDeregisterSapComplete)
    NdisMCmDeregisterSapComplete = route("_saps", SapEngine.NdisMCmDeregisterSapComplete)
    # VCs
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
    # calls
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
    # parties
    NdisClAddParty = route("_party", PartyEngine.NdisClAddParty)
    NdisCmAddPartyComplete = route("_party", PartyEngine.NdisCmAddPartyComplete)
    NdisMCmAddPartyComplete = route("_party", PartyEngine.NdisMCmAddPartyComplete)
    NdisClDropParty = route("_party", PartyEngine.NdisClDropParty)
    NdisCmDropPartyComplete = route("_party", PartyEngine.NdisCmDropPartyComplete)
    NdisMCmDropPartyComplete = route("_party", PartyEngine.NdisMCmDropPartyComplete)
    NdisCmDispatchIncomingDropParty = route("_party", PartyEngine.NdisCmDispatchIncomingDropParty)
    NdisMCmDispatchIncomingDropParty = route("_party", PartyEngine.NdisMCmDispatchIncomingDropParty)
    # QoS
    NdisClModifyCallQoS = route("_qos", QosEngine.NdisClModifyCallQoS)
    NdisCmModifyCallQoSComplete = route("_qos", QosEngine.NdisCmModifyCallQoSComplete)
    NdisMCmModifyCallQoSComplete = route("_qos", QosEngine.NdisMCmModifyCallQoSComplete)
    NdisCmDispatchIncomingCallQoSChange = route(
        "_qos", QosEngine.NdisCmDispatchIncomingCallQoSChange
    )
    NdisMCmDispatchIncomingCallQoSChange = route(
        "_qos", QosEngine.NdisMCmDispatchIncomingCallQoSChange
    )
    # data
    NdisCoSendNetBufferLists = route("_data", DataEngine.NdisCoSendNetBufferLists)
    NdisMCoSendNetBufferListsComplete = route("_data", DataEngine.NdisMCoSendNetBufferListsComplete)
    NdisMCoIndicateReceiveNetBufferLists = route(
        "_data", DataEngine.NdisMCoIndicateReceiveNetBufferLists
    )
    NdisReturnNetBufferLists = route("_data", DataEngine.NdisReturnNetBufferLists)
    # OID requests and status indications
    NdisCoOidRequest = route("_oid", OidEngine.NdisCoOidRequest)
    NdisMCmOidRequest = route("_oid", OidEngine.NdisMCmOidRequest)
    NdisCoOidRequestComplete = route("_oid", OidEngine.NdisCoOidRequestComplete)
    NdisMCmOidRequestComplete = route("_oid", OidEngine.NdisMCmOidRequestComplete)
    NdisMCoOidRequestComplete = route("_oid", OidEngine.NdisMCoOidRequestComplete)
    NdisMCoIndicateStatusEx = route("_status", StatusEngine.NdisMCoIndicateStatusEx)
    # VC names
    NdisCoGetTapiCallId = route("_names", VcNameEngine.NdisCoGetTapiCallId)
    NdisClGetProtocolVcContextFromTapiCallId = route(
        "_names", VcNameEngine.NdisClGetProtocolVcContextFromTapiCallId
    )
    NdisCoAssignInstanceName = route("_names", VcNameEngine.NdisCoAssignInstanceName)
    # deferred work, spin locks and events
    NdisAllocateIoWorkItem = route("_work_items", WorkItemEngine.NdisAllocateIoWorkItem)
    NdisQueueIoWorkItem = route("_work_items", WorkItemEngine.NdisQueueIoWorkItem)
    NdisFreeIoWorkItem = route("_work_items", WorkItemEngine.NdisFreeIoWorkItem)
    NdisAllocateTimerObject = route("_timers", TimerEngine.NdisAllocateTimerObject)
    NdisSetTimerObject = route("_timers", TimerEngine.NdisSetTimerObject)
    NdisCancelTimerObject = route("_timers", TimerEngine.NdisCancelTimerObject)
    NdisFreeTimerObject = route("_timers", TimerEngine.NdisFreeTimerObject)
    NdisAllocateSpinLock = route("_sync", SyncEngine.NdisAllocateSpinLock)
    NdisAcquireSpinLock = route("_sync", SyncEngine.NdisAcquireSpinLock)
    NdisReleaseSpinLock = route("_sync", SyncEngine.NdisReleaseSpinLock)
    NdisDprAcquireSpinLock = route("_sync", SyncEngine.NdisDprAcquireSpinLock)
    NdisDprReleaseSpinLock = route("_sync", SyncEngine.NdisDprReleaseSpinLock)
    NdisFreeSpinLock = route("_sync", SyncEngine.NdisFreeSpinLock)
    NdisInitializeEvent = route("_sync", SyncEngine.NdisInitializeEvent)
    NdisSetEvent = route("_sync", SyncEngine.NdisSetEvent)
    NdisResetEvent = route("_sync", SyncEngine.NdisResetEvent)
    NdisWaitEvent = route("_sync", SyncEngine.NdisWaitEvent)

    @classmethod
    def routes(cls) -> Mapping[str, Route[Any, Any, Any]]:
        """Every DDI of the facade and the engine method it routes to."""
        return routes(cls)

    # --- host operations -----------------------------------------------------------------------

    def load_driver(self, driver: object, name: str | None = None) -> NDIS_STATUS:
        """Load `driver` and run its DriverEntry(DriverObject, RegistryPath).

        `driver` is an object with a DriverEntry method, or the DriverEntry
        callable itself. Returns DriverEntry's status. After a successful
        DriverEntry that registered a protocol, NDIS binds it to every adapter
        that is up.
        """
        status, block = self._drivers.load(driver, name)
        if block.loaded:
            self._host.driver_loaded(block)
        return status

    def add_adapter(
        self,
        driver: DriverBlock | str,
        name: str | None = None,
        *,
        medium: NDIS_MEDIUM = NDIS_MEDIUM.NdisMediumAtm,
    ) -> Adapter:
        """Start a NIC driven by miniport `driver`: MiniportInitializeEx, then binding.

        Returns the adapter; its `state` says whether initialization worked.
        """
        self._k.check_alive()
        block = self._drivers.loaded("add_adapter", driver)
        if block.kind is not DriverKind.MINIPORT:
            raise ValueError(f"add_adapter: {block.name} did not register as a miniport driver")
        if not isinstance(medium, NDIS_MEDIUM):
            raise TypeError(
                f"add_adapter: medium must be an NDIS_MEDIUM, not {type(medium).__name__}"
            )
        return self._host.add_adapter(block, name or self._adapters.default_name(block), medium)

    def halt_adapter(
        self,
        adapter: Adapter | str,
        HaltAction: NDIS_HALT_ACTION = NDIS_HALT_ACTION.NdisHaltDeviceDisabled,
    ) -> None:
        """Remove a NIC: unbind its protocols and call MiniportHaltEx (lifecycle.Host)."""
        self._k.check_alive()
        target = self.adapter(adapter) if isinstance(adapter, str) else adapter
        if not isinstance(target, Adapter):
            raise TypeError(
                f"halt_adapter: adapter must be an Adapter or a name, not {type(adapter).__name__}"
            )
        if not any(a is target for a in self._adapters.history):
            raise ValueError(f"halt_adapter: {target.name!r} is not an adapter of this host")
        if not isinstance(HaltAction, NDIS_HALT_ACTION):
            raise TypeError("halt_adapter: HaltAction must be an NDIS_HALT_ACTION")
        if not target.is_up:
            raise ValueError(
                f"halt_adapter: adapter {target.name} is {target.state.value}, not running"
            )
        self._host.halt_adapter(target, HaltAction)

    def shutdown(self) -> None:
        """Shut the host down: run what is pending, halt every adapter still up, run again.

        As at system shutdown, each halt unbinds the adapter's protocols, so
        every driver gets its chance to release what it holds; `leaks()`
        afterwards lists what none did.
        """
        self._k.check_alive()
        self._host.shutdown()

    def unbind_adapter(self, binding: Binding) -> None:
        """Have NDIS unbind `binding` (as when a user disables the binding)."""
        self._k.check_alive()
        if not isinstance(binding, Binding):
            raise TypeError(
                f"unbind_adapter: binding must be a Binding, not {type(binding).__name__}"
            )
        if not any(b is binding for b in self._bindings.bindings):
            raise ValueError(f"unbind_adapter: {binding.label} is not a binding of this host")
        if binding.state is not BindingState.RUNNING:
            raise ValueError(f"unbind_adapter: binding {binding.label} is {binding.state.value}")
        self._bindings.unbind(binding)

    def unload_driver(self, name: str) -> None:
        """Unload the driver called `name`: halt its adapters, run its unload routine,
        report what it left behind (unload.py)."""
        self._unload.unload_driver(name)

    def unload_all(self) -> None:
        """Unload every loaded driver that has an unload routine, last loaded first."""
        self._unload.unload_all()

    def run(self, *, until: int | None = None) -> int:
        """Run deferred work (work items, timers, NDIS completions) until idle.

        Returns the number of items that ran. `until` stops the clock there.
        """
        return self._k.run(until=until)

    def step(self) -> Item | None:
        """Run one deferred item; None if there was nothing to run."""
        return self._k.step()

    def driver_context(
        self, driver: DriverBlock | str, irql: KIRQL = PASSIVE_LEVEL
    ) -> AbstractContextManager[None]:
        """Run the body as `driver`'s code at `irql`, as if on one of its threads.

        Tests and upper layers use this to call DDIs the way the driver would,
        for example at DISPATCH_LEVEL. `driver` is a loaded driver of this host
        (its block, or its name); anything else is a TypeError or ValueError
        saying so, before anything runs.
        """
        return self._k.driver_context(self._drivers.loaded("driver_context", driver), irql)

    def check_invariants(self) -> list[str]:
        """Every way the host's own tables disagree with each other; [] when sound.

        They hold between DDIs, in strict and collect mode alike, whatever the
        drivers did: a broken invariant is a bug in condis, not in a driver.
        Call it from outside driver code (no frame on the stack).
        """
        return list(self._audit.invariants())

    def leaks(self) -> list[Leak]:
        """Everything drivers allocated through NDIS and still hold, oldest first.

        AFs, SAPs, VCs, calls, parties, pended operations, NBLs out of their
        owner's hands, work items, timers and spin locks held, each with
        the trace record where it first appeared (verifier/leaks.py). After
        every adapter has halted, anything here is a driver's leak.
        """
        return self._audit.leaks()

    def snapshot(self) -> dict[str, Any]:
        """A comparable picture of every table (for "state unchanged" checks).

        Holds plain values only (names, labels, states), never the live
        objects, so two snapshots compare equal exactly when the host's
        state is the same.
        """
        return self._audit.snapshot()

    # --- the host's state and tables -------------------------------------------------------------

    @property
    def crashed(self) -> BaseException | None:
        """The exception that stopped the host, or None while it runs."""
        return self._k.crashed

    @property
    def now(self) -> int:
        """Simulated system time, in 100-ns units."""
        return self._k.scheduler.now

    @property
    def watchdog_ms(self) -> int | None:
        return self._k.watchdog_ms

    @property
    def current_irql(self) -> KIRQL:
        """The IRQL of the code running now (PASSIVE_LEVEL when nothing runs)."""
        return self._k.current_irql

    @property
    def current_driver(self) -> DriverBlock | None:
        """The driver whose code is running now, if any."""
        return self._k.current_driver

    @property
    def drivers(self) -> tuple[DriverBlock, ...]:
        """Every loaded driver, in load order."""
        return self._drivers.drivers

    def driver(self, name: str) -> DriverBlock:
        """The loaded driver called `name`."""
        return self._drivers.driver(name)

    @property
    def adapters(self) -> tuple[Adapter, ...]:
        """Every adapter that is up or on its way up or down, in start order."""
        return self._adapters.adapters

    def adapter(self, name: str) -> Adapter:
        """The adapter called `name` (up or not)."""
        return self._adapters.adapter(name)

    @property
    def bindings(self) -> tuple[Binding, ...]:
        """Every binding not yet unbound, in bind order."""
        return self._bindings.bindings

    def binding(self, protocol: str, adapter: str) -> Binding:
        """The live binding of protocol `protocol` to adapter `adapter`."""
        return self._bindings.binding(protocol, adapter)

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
        """Every OID request its target pended and has not completed."""
        return self._oid.pending_oid_requests

    @property
    def operations(self) -> tuple[Operation, ...]:
        """Every operation still outstanding, oldest first."""
        return self._core.ops.outstanding

    @property
    def work_items(self) -> tuple[WorkItem, ...]:
        """Work items allocated and not yet freed."""
        return self._work_items.work_items

    @property
    def timers(self) -> tuple[Timer, ...]:
        """Timer objects allocated and not yet freed."""
        return self._timers.timers

    @property
    def spin_locks(self) -> tuple[NDIS_SPIN_LOCK, ...]:
        """Spin locks allocated and not freed."""
        return self._sync.spin_locks
