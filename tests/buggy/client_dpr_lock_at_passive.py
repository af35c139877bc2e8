"""SpinLockDpr: a client that uses the Dpr spin lock calls at PASSIVE_LEVEL.

ProtocolCoAfRegisterNotify (called at PASSIVE_LEVEL) guards its work with
NdisDprAcquireSpinLock / NdisDprReleaseSpinLock, which may be called only at
DISPATCH_LEVEL.
"""

from __future__ import annotations

from condis import Ndis
from condis.samples import SampleClient
from condis.samples.client import ClientBinding
from condis.structs import CO_ADDRESS_FAMILY

ROLE = "client"
RULE = "SpinLockDpr"


class DprAtPassiveClient(SampleClient):
    def ProtocolCoAfRegisterNotify(
        self, ProtocolBindingContext: ClientBinding, AddressFamily: CO_ADDRESS_FAMILY
    ) -> None:
        lock = self.ndis.NdisAllocateSpinLock()
        # The mistake: the Dpr variants at PASSIVE_LEVEL.
        self.ndis.NdisDprAcquireSpinLock(lock)
        super().ProtocolCoAfRegisterNotify(ProtocolBindingContext, AddressFamily)
        self.ndis.NdisDprReleaseSpinLock(lock)
        self.ndis.NdisFreeSpinLock(lock)


def factory(ndis: Ndis) -> DprAtPassiveClient:
    return DprAtPassiveClient(ndis)
