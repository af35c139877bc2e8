"""SpinLockDprRelease: a miniport that releases with the Dpr macro a lock it took without it.

The miniport counts the NBLs it is asked to send under a spin lock. It takes
the lock with NdisAcquireSpinLock, which raises the IRQL to DISPATCH_LEVEL,
and lets it go with NdisDprReleaseSpinLock, which does not restore it: the
pair must match.
"""

from __future__ import annotations

from typing import Any

from condis import Ndis
from condis.constants import NDIS_HALT_ACTION
from condis.samples import SampleCoMiniport
from condis.samples.miniport import MiniportAdapter, MiniportVc
from condis.status import NDIS_STATUS
from condis.structs import NDIS_MINIPORT_INIT_PARAMETERS

ROLE = "miniport"
RULE = "SpinLockDprRelease"


class CountingMiniport(SampleCoMiniport):
    def __init__(self, ndis: Ndis) -> None:
        super().__init__(ndis)
        self.sent = 0
        self.locks: dict[Any, Any] = {}  # adapter handle -> its lock

    def MiniportInitializeEx(
        self,
        NdisMiniportHandle: Any,
        MiniportDriverContext: object,
        MiniportInitParameters: NDIS_MINIPORT_INIT_PARAMETERS,
    ) -> NDIS_STATUS:
        self.locks[NdisMiniportHandle] = self.ndis.NdisAllocateSpinLock()
        return super().MiniportInitializeEx(
            NdisMiniportHandle, MiniportDriverContext, MiniportInitParameters
        )

    def MiniportHaltEx(
        self, MiniportAdapterContext: MiniportAdapter, HaltAction: NDIS_HALT_ACTION
    ) -> None:
        self.ndis.NdisFreeSpinLock(self.locks.pop(MiniportAdapterContext.handle))
        super().MiniportHaltEx(MiniportAdapterContext, HaltAction)

    def MiniportCoSendNetBufferLists(
        self, MiniportVcContext: MiniportVc, NetBufferLists: Any, SendFlags: int
    ) -> None:
        lock = self.locks[MiniportVcContext.adapter.handle]
        self.ndis.NdisAcquireSpinLock(lock)
        self.sent += 1
        # The mistake: NdisAcquireSpinLock pairs with NdisReleaseSpinLock.
        self.ndis.NdisDprReleaseSpinLock(lock)
        super().MiniportCoSendNetBufferLists(MiniportVcContext, NetBufferLists, SendFlags)


def factory(ndis: Ndis) -> CountingMiniport:
    return CountingMiniport(ndis)
