"""Irql_Connection_Function: a client that asks for a VC's TAPI call ID at PASSIVE_LEVEL.

NdisCoGetTapiCallId may be called only at DISPATCH_LEVEL; this client calls
it from ProtocolClIncomingCall, which NDIS runs at PASSIVE_LEVEL here, to name
each incoming call.
"""

from __future__ import annotations

from condis import Ndis
from condis.constants import CO_ADDRESS_FAMILY_Q2931
from condis.samples import SampleClient
from condis.samples.client import ClientSap, ClientVc
from condis.status import NDIS_STATUS
from condis.structs import CO_CALL_PARAMETERS, CO_SAP
from condis.vcnames import VAR_STRING

ROLE = "client"
RULE = "Irql_Connection_Function"

SAP = CO_SAP(SapType=1, Sap=b"tapi")


class TapiClient(SampleClient):
    def ProtocolClIncomingCall(
        self,
        ProtocolSapContext: ClientSap,
        ProtocolVcContext: ClientVc,
        CallParameters: CO_CALL_PARAMETERS,
    ) -> NDIS_STATUS:
        assert ProtocolVcContext.handle is not None
        # The mistake: a DISPATCH_LEVEL-only DDI at PASSIVE_LEVEL.
        self.ndis.NdisCoGetTapiCallId(ProtocolVcContext.handle, VAR_STRING(ulTotalSize=64))
        return super().ProtocolClIncomingCall(ProtocolSapContext, ProtocolVcContext, CallParameters)


def factory(ndis: Ndis) -> TapiClient:
    return TapiClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [SAP]})
