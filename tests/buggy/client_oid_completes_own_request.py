"""NdisInvalidOidCompletion: a client that completes an OID request it issued itself.

The client queries its call manager through the AF with NdisCoOidRequest,
which the call manager answers synchronously, and then calls
NdisCoOidRequestComplete for that request, as if it had been asked and had
pended: the request is not pending on anyone.
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
RULE = "NdisInvalidOidCompletion"


class SelfCompletingOidClient(SampleClient):
    def ProtocolCoAfRegisterNotify(
        self, ProtocolBindingContext: ClientBinding, AddressFamily: CO_ADDRESS_FAMILY
    ) -> None:
        super().ProtocolCoAfRegisterNotify(ProtocolBindingContext, AddressFamily)
        binding = ProtocolBindingContext
        for af in binding.afs:
            if af.state != "open" or af.handle is None:
                continue
            assert binding.handle is not None
            request = NDIS_OID_REQUEST(Oid=OID_SAMPLE_LINK_SPEED)
            status = self.ndis.NdisCoOidRequest(binding.handle, af.handle, None, None, request)
            if status != NDIS_STATUS_PENDING:
                # The mistake: completing a request that was answered, and not ours to complete.
                self.ndis.NdisCoOidRequestComplete(af.handle, None, None, request, status)


def factory(ndis: Ndis) -> SelfCompletingOidClient:
    return SelfCompletingOidClient(ndis)
