"""The sequences that cross entities, each written once, in its documented order.

An engine knows its own object; what must happen to others when that object
changes is a sequence of the host, and lives here. Each class below is one
such sequence, built from the engines it drives; the engines call it
through the small event interfaces they declare (vc.VcEvents,
call.CallEvents), so no engine knows who listens.

* A call ends (its close completed, its VC is deleted, or a new call is
  filed on its VC): a QoS change the call manager pended on it must have
  been completed first (qos.py).
* A VC is deleted: the call filed on it ends (above).
* A binding closes, an adapter halts: what must be gone by then (Teardown).
* A bind completes: the protocol hears of the AFs offered (BindingLife).
* An adapter starts or is removed, a driver loads or unloads (Host).
"""

from __future__ import annotations

from condis.adapters import AdapterEngine
from condis.af import AfEngine
from condis.af_registration import AfRegistry
from condis.bindings import BindingEngine
from condis.call import CallEngine
from condis.constants import NDIS_HALT_ACTION, NDIS_MEDIUM
from condis.data import DataEngine
from condis.drivers import DriverEngine
from condis.kernel import Kernel
from condis.machines import AdapterInput, AdapterState, AfState
from condis.ops import Operation
from condis.party import PartyEngine
from condis.qos import QosEngine
from condis.records import Adapter, Binding, Call, DriverBlock, DriverKind, OpenAddressFamily, Vc
from condis.sap import SapEngine
from condis.timers import TimerEngine
from condis.vc import VcEngine
from condis.workitems import WorkItemEngine

__all__ = ["BindingLife", "CallEnd", "Host", "Teardown"]


class CallEnd:
    """What NDIS checks when a call is over: `call.CallEvents` and `vc.VcEvents`."""

    __slots__ = ("_qos",)

    def __init__(self, qos: QosEngine) -> None:
        self._qos = qos

    def call_ended(self, call: Call, where: str, driver: DriverBlock) -> None:
        self._qos.call_ended(call, where, driver)

    def vc_deleting(self, vc: Vc, ddi: str, driver: DriverBlock) -> None:
        if vc.call is not None:
            self.call_ended(vc.call, ddi, driver)


class Teardown:
    """What must be gone when a binding closes or an adapter halts, in the pages' order.

    NdisCloseAdapterEx (nf-ndis-ndiscloseadapterex): the binding's VCs, then
    the AFs it opened and those its call manager offered, with nothing
    pending on them; then its offers are withdrawn. MiniportHaltEx
    (nc-ndis-miniport_halt): the NBLs out on the adapter's VCs, then the
    VCs, then the AFs of the MCM's offers; then every offer on the adapter
    is withdrawn. A close is checked before it changes anything (each
    violation refused); a halt once MiniportHaltEx has returned.
    """

    __slots__ = ("_afs", "_calls", "_data", "_k", "_parties", "_qos", "_registry", "_saps", "_vcs")

    def __init__(
        self,
        kernel: Kernel,
        registry: AfRegistry,
        afs: AfEngine,
        saps: SapEngine,
        vcs: VcEngine,
        calls: CallEngine,
        qos: QosEngine,
        parties: PartyEngine,
        data: DataEngine,
    ) -> None:
        self._k = kernel
        self._registry = registry
        self._afs = afs
        self._saps = saps
        self._vcs = vcs
        self._calls = calls
        self._qos = qos
        self._parties = parties
        self._data = data

    def operations_on(self, af: OpenAddressFamily) -> list[Operation]:
        """Every operation on `af` or on what lives on it, in this order: the AF's own,
        its SAPs', its VCs', their calls', their QoS changes', their parties'."""
        return [
            *self._afs.operations_on(af),
            *self._saps.operations_on(af),
            *self._vcs.operations_on(af),
            *self._calls.operations_on(af),
            *self._qos.operations_on(af),
            *self._parties.operations_on(af),
        ]

    def check_afs(
        self,
        afs: list[OpenAddressFamily],
        where: str,
        driver: DriverBlock,
        *,
        refused: bool = False,
    ) -> None:
        """Each of `afs` must be closed, with nothing of it still pending."""
        k = self._k
        for af in afs:
            for op in self.operations_on(af):
                if op.outstanding:
                    k.violation(
                        "CoNdisPendingOnTeardown",
                        ddi=where,
                        driver=driver,
                        handle=af.handle,
                        detail=f"{op.kind} operation #{op.id} ({op.handler}) is still "
                        f"{op.state.value}",
                        refused=refused,
                    )
            if af.state is not AfState.CLOSED:
                k.violation(
                    "CoNdisAfOpenOnTeardown",
                    ddi=where,
                    driver=driver,
                    handle=af.handle,
                    detail=f"AF {af.handle.label} of {af.client.protocol.name} is still "
                    f"{af.state.value}",
                    refused=refused,
                )

    def _live(self, afs: list[OpenAddressFamily]) -> list[OpenAddressFamily]:
        return [af for af in afs if self._k.handles.is_live(af.handle)]

    def binding_closing(self, binding: Binding, ddi_name: str) -> None:
        """NdisCloseAdapterEx was called (before it changes anything)."""
        self._vcs.binding_closing(binding, ddi_name)
        self.check_afs(self._live(binding.afs), ddi_name, binding.protocol, refused=True)
        for reg in binding.registrations:
            self.check_afs(self._live(reg.afs), ddi_name, binding.protocol, refused=True)
        for reg in binding.registrations:
            self._registry.withdraw(reg)

    def adapter_halted(self, adapter: Adapter) -> None:
        """MiniportHaltEx returned."""
        self._data.adapter_halted(adapter)
        self._vcs.adapter_halted(adapter)
        for reg in list(adapter.registrations):
            if reg.is_mcm:
                self.check_afs(self._live(reg.afs), "MiniportHaltEx", reg.cm)
            self._registry.withdraw(reg)


class BindingLife:
    """What a binding's bind and close mean for the rest of the host: `BindingEvents`.

    A bind that completed: the protocol hears of the AFs offered on its adapter
    (af_registration.py). NdisCloseAdapterEx: the teardown checks above.
    """

    __slots__ = ("_registry", "_teardown")

    def __init__(self, registry: AfRegistry, teardown: Teardown) -> None:
        self._registry = registry
        self._teardown = teardown

    def binding_bound(self, binding: Binding) -> None:
        self._registry.binding_bound(binding)

    def binding_closing(self, binding: Binding, ddi: str) -> None:
        self._teardown.binding_closing(binding, ddi)


class Host:
    """The machine around NDIS: Plug and Play starts and removes NICs, drivers load.

    Adapter start (nc-ndis-miniport_initialize): MiniportInitializeEx; if it
    failed, the offers made in it are withdrawn and whatever was allocated
    with the adapter handle must have been freed; if it succeeded, the offers
    it made are announced (each as a protocol's bind completes) and NDIS
    binds every loaded protocol, in load order.

    Adapter halt (adapters.py says why the order differs): for an MCM,
    MiniportHaltEx, the halt-time checks (Teardown.adapter_halted), then the
    protocols are unbound; for any other miniport, the protocols are unbound
    (call managers first), then MiniportHaltEx and the checks. Either way the
    work items and timers allocated with the adapter handle must be freed by
    then, and the adapter handle closes.

    A protocol that loads is bound to every adapter that is up. A driver that
    unloads leaves nothing queued: its work items, then its timers, are
    withdrawn unrun.
    """

    __slots__ = (
        "_adapters",
        "_bindings",
        "_drivers",
        "_k",
        "_registry",
        "_teardown",
        "_timers",
        "_work_items",
    )

    def __init__(
        self,
        kernel: Kernel,
        drivers: DriverEngine,
        adapters: AdapterEngine,
        bindings: BindingEngine,
        registry: AfRegistry,
        teardown: Teardown,
        work_items: WorkItemEngine,
        timers: TimerEngine,
    ) -> None:
        self._k = kernel
        self._drivers = drivers
        self._adapters = adapters
        self._bindings = bindings
        self._registry = registry
        self._teardown = teardown
        self._work_items = work_items
        self._timers = timers

    # --- drivers ---------------------------------------------------------------------------

    def driver_loaded(self, block: DriverBlock) -> None:
        """DriverEntry succeeded: a protocol is bound to every adapter that is up."""
        if block.kind is DriverKind.PROTOCOL:
            for adapter in self._adapters.adapters:
                if adapter.is_up:
                    self._bindings.bind(block, adapter)

    def driver_unloaded(self, block: DriverBlock) -> None:
        """`block` is gone: no callback may run its code again."""
        self._work_items.driver_unloaded(block)
        self._timers.driver_unloaded(block)

    # --- adapters --------------------------------------------------------------------------

    def add_adapter(self, block: DriverBlock, name: str, medium: NDIS_MEDIUM) -> Adapter:
        adapter = self._adapters.initialize(block, name, medium)
        if adapter.state is not AdapterState.RUNNING:
            self._registry.adapter_init_failed(adapter)
            self._resources_freed(adapter, "MiniportInitializeEx")
            self._k.handles.close(adapter.handle)
            return adapter
        self._registry.adapter_started(adapter)
        for driver in self._drivers.drivers:
            if driver.kind is DriverKind.PROTOCOL and adapter.is_up:
                self._bindings.bind(driver, adapter)
        return adapter

    def halt_adapter(self, adapter: Adapter, action: NDIS_HALT_ACTION) -> None:
        adapter.move(AdapterInput.HALT)
        if adapter.driver.is_mcm:
            self._adapters.halt(adapter, action)
            # Check the AFs when MiniportHaltEx returns, before the clients' unbind
            # could close what the MCM left open.
            self._teardown.adapter_halted(adapter)
            self._bindings.unbind_all(adapter)
        else:
            self._bindings.unbind_all(adapter)
            self._adapters.halt(adapter, action)
            self._teardown.adapter_halted(adapter)
        self._resources_freed(adapter, "MiniportHaltEx")
        adapter.move(AdapterInput.HALTED)
        self._k.handles.close(adapter.handle)

    def _resources_freed(self, adapter: Adapter, where: str) -> None:
        self._work_items.adapter_gone(adapter, where)
        self._timers.adapter_gone(adapter, where)

    def shutdown(self) -> None:
        """Run what is pending, halt every adapter still up (running again after each)."""
        self._k.run()
        for adapter in list(self._adapters.adapters):
            if adapter.is_up:
                self.halt_adapter(adapter, NDIS_HALT_ACTION.NdisHaltDeviceDisabled)
                self._k.run()
