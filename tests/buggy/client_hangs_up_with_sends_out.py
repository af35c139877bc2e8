"""CoNdisCloseCallWithSends: a client that hangs up while a send is still out.

When the remote end closes an incoming call, the client sends a last "bye"
frame and calls NdisClCloseCall at once, without waiting for that send to
come back through ProtocolCoSendNetBufferListsComplete. (With synchronous
peers the sample MCM completes the send before NdisCoSendNetBufferLists
returns, so only the pended runs catch it.)
"""

from __future__ import annotations

from condis import Ndis
from condis.constants import CO_ADDRESS_FAMILY_Q2931
from condis.samples import SampleClient
from condis.samples.client import ClientVc
from condis.status import NDIS_STATUS, NDIS_STATUS_PENDING
from condis.structs import CO_SAP

ROLE = "client"
RULE = "CoNdisCloseCallWithSends"

SAP = CO_SAP(SapType=1, Sap=b"bye")


class GoodbyeClient(SampleClient):
    def ProtocolClIncomingCloseCall(
        self,
        CloseStatus: NDIS_STATUS,
        ProtocolVcContext: ClientVc,
        CloseData: bytes | None,
        Size: int,
    ) -> None:
        vc = ProtocolVcContext
        if vc.call != "connected" or vc.handle is None:
            super().ProtocolClIncomingCloseCall(CloseStatus, vc, CloseData, Size)
            return
        self.send(vc, b"bye")
        vc.call = "closing"
        # The mistake: "bye" has not come back yet.
        status = self.ndis.NdisClCloseCall(vc.handle, None, None, 0)
        if status != NDIS_STATUS_PENDING:
            self._close_call_done(vc, status)


def factory(ndis: Ndis) -> GoodbyeClient:
    return GoodbyeClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [SAP]})
