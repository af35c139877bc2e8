"""NdisDeregisterContext: a client that deregisters when its last binding goes.

Ported from NDIS 5, where a protocol could deregister once its last
binding was released, the client calls NdisDeregisterProtocolDriver from
ProtocolUnbindAdapterEx after closing its last binding. NDIS 6 allows it
only from DriverEntry or the unload routine: from an entry point NDIS calls
it can deadlock.
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import UnbindContextHandle
from condis.samples import SampleClient
from condis.samples.client import ClientBinding
from condis.status import NDIS_STATUS

ROLE = "client"
RULE = "NdisDeregisterContext"


class PortedClient(SampleClient):
    def ProtocolUnbindAdapterEx(
        self, UnbindContext: UnbindContextHandle, ProtocolBindingContext: ClientBinding
    ) -> NDIS_STATUS:
        status = super().ProtocolUnbindAdapterEx(UnbindContext, ProtocolBindingContext)
        if not self.bindings and self.driver_handle is not None:
            # The mistake: deregistering from an entry point NDIS called.
            self.ndis.NdisDeregisterProtocolDriver(self.driver_handle)
        return status


def factory(ndis: Ndis) -> PortedClient:
    return PortedClient(ndis)
