"""NdisOidComplete: a client that completes an OID request with NDIS_STATUS_PENDING.

The client queries the NIC (NdisCoOidRequest without an AF) and hands the
status it got back straight to NdisCoOidRequestComplete: when the miniport
pends the request, that "completes" it with NDIS_STATUS_PENDING.
"""

from __future__ import annotations

from condis import Ndis
from condis.oid import NDIS_OID_REQUEST
from condis.samples import SampleClient
from condis.samples.client import ClientBinding
from condis.samples.mcm import OID_SAMPLE_LINK_SPEED
from condis.status import NDIS_STATUS_PENDING
from condis.structs import CO_ADDRESS_FAMILY

ROLE = "client"
RULE = "NdisOidComplete"


class PendingOidClient(SampleClient):
    def ProtocolCoAfRegisterNotify(
        self, ProtocolBindingContext: ClientBinding, AddressFamily: CO_ADDRESS_FAMILY
    ) -> None:
        super().ProtocolCoAfRegisterNotify(ProtocolBindingContext, AddressFamily)
        binding = ProtocolBindingContext
        assert binding.handle is not None
        request = NDIS_OID_REQUEST(Oid=OID_SAMPLE_LINK_SPEED)
        status = self.ndis.NdisCoOidRequest(binding.handle, None, None, None, request)
        af = binding.afs[-1] if binding.afs else None
        if status == NDIS_STATUS_PENDING and af is not None and af.handle is not None:
            # The mistake: NDIS_STATUS_PENDING is not a final status.
            self.ndis.NdisCoOidRequestComplete(af.handle, None, None, request, status)


def factory(ndis: Ndis) -> PendingOidClient:
    return PendingOidClient(ndis)
