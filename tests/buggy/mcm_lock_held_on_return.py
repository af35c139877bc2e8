"""SpinLock: an MCM whose ProtocolCmOpenAf returns to NDIS still holding a spin lock.

The handler takes its adapter's lock to add the AF to its table and returns
on the success path without releasing it; the next open then finds the lock
held.
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import AdapterHandle, AfHandle
from condis.samples import SampleMcm
from condis.samples.mcm import McmAdapter, McmAf
from condis.spinlocks import NDIS_SPIN_LOCK
from condis.status import NDIS_STATUS
from condis.structs import CO_ADDRESS_FAMILY, NDIS_MINIPORT_INIT_PARAMETERS

ROLE = "mcm"
RULE = "SpinLock"


class LockLeakMcm(SampleMcm):
    def __init__(self, ndis: Ndis) -> None:
        super().__init__(ndis)
        self.lock: NDIS_SPIN_LOCK | None = None

    def MiniportInitializeEx(
        self,
        NdisMiniportHandle: AdapterHandle,
        MiniportDriverContext: object,
        MiniportInitParameters: NDIS_MINIPORT_INIT_PARAMETERS,
    ) -> NDIS_STATUS:
        self.lock = self.ndis.NdisAllocateSpinLock()
        return super().MiniportInitializeEx(
            NdisMiniportHandle, MiniportDriverContext, MiniportInitParameters
        )

    def ProtocolCmOpenAf(
        self,
        CallMgrBindingContext: McmAdapter,
        AddressFamily: CO_ADDRESS_FAMILY,
        NdisAfHandle: AfHandle,
    ) -> NDIS_STATUS | tuple[NDIS_STATUS, McmAf]:
        assert self.lock is not None
        self.ndis.NdisAcquireSpinLock(self.lock)
        result = super().ProtocolCmOpenAf(CallMgrBindingContext, AddressFamily, NdisAfHandle)
        if not isinstance(result, tuple):
            self.ndis.NdisReleaseSpinLock(self.lock)
        return result  # the mistake: the success path keeps the lock


def factory(ndis: Ndis) -> LockLeakMcm:
    return LockLeakMcm(ndis)
