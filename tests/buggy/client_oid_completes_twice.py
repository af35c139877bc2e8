"""NdisOidDoubleComplete: a client that completes an OID request a second time.

The client queries the NIC (NdisCoOidRequest without an AF); when the
miniport's completion reaches ProtocolCoOidRequestComplete, the client
passes it on with NdisCoOidRequestComplete, completing the request again.
"""

from __future__ import annotations

from condis import Ndis
from condis.oid import NDIS_OID_REQUEST
from condis.samples import SampleClient
from condis.samples.client import ClientAf, ClientBinding, ClientParty, ClientVc
from condis.samples.mcm import OID_SAMPLE_LINK_SPEED
from condis.status import NDIS_STATUS
from condis.structs import CO_ADDRESS_FAMILY

ROLE = "client"
RULE = "NdisOidDoubleComplete"


class ForwardingOidClient(SampleClient):
    def ProtocolCoAfRegisterNotify(
        self, ProtocolBindingContext: ClientBinding, AddressFamily: CO_ADDRESS_FAMILY
    ) -> None:
        super().ProtocolCoAfRegisterNotify(ProtocolBindingContext, AddressFamily)
        assert ProtocolBindingContext.handle is not None
        request = NDIS_OID_REQUEST(Oid=OID_SAMPLE_LINK_SPEED)
        self.ndis.NdisCoOidRequest(ProtocolBindingContext.handle, None, None, None, request)

    def ProtocolCoOidRequestComplete(
        self,
        ProtocolAfContext: ClientAf | None,
        ProtocolVcContext: ClientVc | None,
        ProtocolPartyContext: ClientParty | None,
        OidRequest: NDIS_OID_REQUEST,
        Status: NDIS_STATUS,
    ) -> None:
        super().ProtocolCoOidRequestComplete(
            ProtocolAfContext, ProtocolVcContext, ProtocolPartyContext, OidRequest, Status
        )
        for af in self.afs("open"):
            if af.handle is not None:
                # The mistake: the request has just been completed.
                self.ndis.NdisCoOidRequestComplete(af.handle, None, None, OidRequest, Status)
                break


def factory(ndis: Ndis) -> ForwardingOidClient:
    return ForwardingOidClient(ndis)
