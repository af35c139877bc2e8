"""CoNdisCallState: an MCM that tells the callee twice that its call is connected.

After the callee accepts an incoming call, the MCM calls
NdisMCmDispatchCallConnected once as the sample does, and once more from a
work item, for a call that is already connected.
"""

from __future__ import annotations

from condis import Ndis
from condis.samples import SampleMcm
from condis.samples.mcm import McmVc
from condis.status import NDIS_STATUS, NDIS_STATUS_SUCCESS
from condis.structs import CO_CALL_PARAMETERS

ROLE = "mcm"
RULE = "CoNdisCallState"


class ConnectedTwiceMcm(SampleMcm):
    def ProtocolCmIncomingCallComplete(
        self, Status: NDIS_STATUS, CallMgrVcContext: McmVc, CallParameters: CO_CALL_PARAMETERS
    ) -> None:
        super().ProtocolCmIncomingCallComplete(Status, CallMgrVcContext, CallParameters)
        handle = CallMgrVcContext.handle
        if Status == NDIS_STATUS_SUCCESS and handle is not None:
            # The mistake: the call was connected a moment ago.
            self.ndis.NdisMCmDispatchCallConnected(handle)


def factory(ndis: Ndis) -> ConnectedTwiceMcm:
    return ConnectedTwiceMcm(ndis)
