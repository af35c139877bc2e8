"""NdisHandleWrongKind: a client that swaps two handle arguments.

Querying its call manager, the client passes the NdisAfHandle where
NdisCoOidRequest expects the NdisBindingHandle, and the binding handle where
the AF handle goes.
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import AfHandle, BindingHandle
from condis.oid import NDIS_OID_REQUEST
from condis.samples import SampleClient
from condis.samples.client import ClientBinding
from condis.samples.mcm import OID_SAMPLE_LINK_SPEED
from condis.structs import CO_ADDRESS_FAMILY

ROLE = "client"
RULE = "NdisHandleWrongKind"


class SwappedHandlesClient(SampleClient):
    def ProtocolCoAfRegisterNotify(
        self, ProtocolBindingContext: ClientBinding, AddressFamily: CO_ADDRESS_FAMILY
    ) -> None:
        super().ProtocolCoAfRegisterNotify(ProtocolBindingContext, AddressFamily)
        binding = ProtocolBindingContext
        for af in binding.afs:
            if af.state == "open" and af.handle is not None and binding.handle is not None:
                request = NDIS_OID_REQUEST(Oid=OID_SAMPLE_LINK_SPEED)
                swapped_binding: BindingHandle = af.handle  # type: ignore[assignment]
                swapped_af: AfHandle = binding.handle  # type: ignore[assignment]
                # The mistake: (NdisAfHandle, NdisBindingHandle) instead of the reverse.
                self.ndis.NdisCoOidRequest(swapped_binding, swapped_af, None, None, request)


def factory(ndis: Ndis) -> SwappedHandlesClient:
    return SwappedHandlesClient(ndis)
