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
"""

from __future__ import annotations

from condis.af import AfEngine
from condis.af_registration import AfRegistry
from condis.call import CallEngine
from condis.data import DataEngine
from condis.kernel import Kernel
from condis.machines import AfState
from condis.ops import Operation
from condis.party import PartyEngine
from condis.qos import QosEngine
from condis.records import Adapter, Binding, Call, DriverBlock, OpenAddressFamily, Vc
from condis.sap import SapEngine
from condis.vc import VcEngine

__all__ = ["CallEnd", "Teardown"]


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
