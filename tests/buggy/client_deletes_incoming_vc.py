"""CoNdisVcNotCreator: a client that deletes the VC of an incoming call.

The call manager created that VC (NdisMCmCreateVc) and deletes it; when the
remote end hangs up, this client closes the call and then calls
NdisCoDeleteVc on the VC itself.
"""

from __future__ import annotations

from condis import Ndis
from condis.constants import CO_ADDRESS_FAMILY_Q2931
from condis.samples import SampleClient
from condis.samples.client import ClientVc
from condis.status import NDIS_STATUS
from condis.structs import CO_SAP

ROLE = "client"
RULE = "CoNdisVcNotCreator"

SAP = CO_SAP(SapType=1, Sap=b"tidy")


class TidyClient(SampleClient):
    def ProtocolClIncomingCloseCall(
        self,
        CloseStatus: NDIS_STATUS,
        ProtocolVcContext: ClientVc,
        CloseData: bytes | None,
        Size: int,
    ) -> None:
        super().ProtocolClIncomingCloseCall(CloseStatus, ProtocolVcContext, CloseData, Size)
        vc = ProtocolVcContext
        if vc.incoming and vc.call == "closed" and vc.handle is not None:
            # The mistake: only the VC's creator, the call manager, may delete it.
            self.ndis.NdisCoDeleteVc(vc.handle)


def factory(ndis: Ndis) -> TidyClient:
    return TidyClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [SAP]})
