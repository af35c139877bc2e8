"""NdisOidDoubleRequest: a client that issues an NDIS_OID_REQUEST that is still pending.

When an AF is offered, the client asks the NIC for its link speed and, not
seeing the answer at once, issues the same request structure again while
the miniport still has the first one pending.
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
RULE = "NdisOidDoubleRequest"


class ImpatientOidClient(SampleClient):
    def ProtocolCoAfRegisterNotify(
        self, ProtocolBindingContext: ClientBinding, AddressFamily: CO_ADDRESS_FAMILY
    ) -> None:
        super().ProtocolCoAfRegisterNotify(ProtocolBindingContext, AddressFamily)
        handle = ProtocolBindingContext.handle
        assert handle is not None
        request = NDIS_OID_REQUEST(Oid=OID_SAMPLE_LINK_SPEED)
        if self.ndis.NdisCoOidRequest(handle, None, None, None, request) == NDIS_STATUS_PENDING:
            # The mistake: the same request again while the first is pending.
            self.ndis.NdisCoOidRequest(handle, None, None, None, request)


def factory(ndis: Ndis) -> ImpatientOidClient:
    return ImpatientOidClient(ndis)
