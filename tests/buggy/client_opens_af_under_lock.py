"""Irql_Protocol_Driver_Function: a client that opens an AF while holding a spin lock.

ProtocolCoAfRegisterNotify takes the client's lock around its bookkeeping and
the call to NdisClOpenAddressFamilyEx, which must be called at PASSIVE_LEVEL.
"""

from __future__ import annotations

from condis import Ndis
from condis.samples import SampleClient
from condis.samples.client import ClientBinding
from condis.structs import CO_ADDRESS_FAMILY

ROLE = "client"
RULE = "Irql_Protocol_Driver_Function"


class LockedOpenClient(SampleClient):
    def ProtocolCoAfRegisterNotify(
        self, ProtocolBindingContext: ClientBinding, AddressFamily: CO_ADDRESS_FAMILY
    ) -> None:
        lock = self.ndis.NdisAllocateSpinLock()
        # The mistake: NdisClOpenAddressFamilyEx runs at DISPATCH_LEVEL.
        self.ndis.NdisAcquireSpinLock(lock)
        super().ProtocolCoAfRegisterNotify(ProtocolBindingContext, AddressFamily)
        self.ndis.NdisReleaseSpinLock(lock)
        self.ndis.NdisFreeSpinLock(lock)


def factory(ndis: Ndis) -> LockedOpenClient:
    return LockedOpenClient(ndis)
