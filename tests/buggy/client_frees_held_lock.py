"""SpinLockBalanced: a client that frees a spin lock while still holding it.

Tearing down a binding, ProtocolUnbindAdapterEx takes its lock one last time
and calls NdisFreeSpinLock before NdisReleaseSpinLock.
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import UnbindContextHandle
from condis.samples import SampleClient
from condis.samples.client import ClientBinding
from condis.status import NDIS_STATUS

ROLE = "client"
RULE = "SpinLockBalanced"


class FreeWhileHeldClient(SampleClient):
    def ProtocolUnbindAdapterEx(
        self, UnbindContext: UnbindContextHandle, ProtocolBindingContext: ClientBinding
    ) -> NDIS_STATUS:
        status = super().ProtocolUnbindAdapterEx(UnbindContext, ProtocolBindingContext)
        lock = self.ndis.NdisAllocateSpinLock()
        self.ndis.NdisAcquireSpinLock(lock)
        self.ndis.NdisFreeSpinLock(lock)  # the mistake: free, then release
        self.ndis.NdisReleaseSpinLock(lock)
        return status


def factory(ndis: Ndis) -> FreeWhileHeldClient:
    return FreeWhileHeldClient(ndis)
