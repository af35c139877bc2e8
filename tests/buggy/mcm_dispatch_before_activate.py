"""CoNdisCallOnInactiveVc: an MCM that offers an incoming call before activating the
callee's VC.

The MCM activates the VC it created for the callee only when the callee has
accepted (in ProtocolCmIncomingCallComplete), so NdisMCmDispatchIncomingCall
runs on a VC that is not yet active.
"""

from __future__ import annotations

from condis import Ndis
from condis.samples import SampleMcm
from condis.samples.mcm import McmVc
from condis.status import NDIS_STATUS, NDIS_STATUS_SUCCESS
from condis.structs import CO_CALL_PARAMETERS

ROLE = "mcm"
RULE = "CoNdisCallOnInactiveVc"


class LateActivationMcm(SampleMcm):
    def activate_vc(self, vc: McmVc, parameters: CO_CALL_PARAMETERS) -> NDIS_STATUS:
        if vc.incoming and not vc.active:
            return NDIS_STATUS_SUCCESS  # the mistake: put off until the callee answers
        return super().activate_vc(vc, parameters)

    def ProtocolCmIncomingCallComplete(
        self, Status: NDIS_STATUS, CallMgrVcContext: McmVc, CallParameters: CO_CALL_PARAMETERS
    ) -> None:
        if Status == NDIS_STATUS_SUCCESS:
            super().activate_vc(CallMgrVcContext, CallParameters)
        super().ProtocolCmIncomingCallComplete(Status, CallMgrVcContext, CallParameters)


def factory(ndis: Ndis) -> LateActivationMcm:
    return LateActivationMcm(ndis)
