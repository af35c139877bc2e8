"""CoNdisCloseCallWithQosPending: an MCM that completes a call's close before the QoS
change pending on it.

When a client asks for new call parameters, this MCM's network refuses and hangs
up. From a work item the MCM tells the client of the hang-up
(NdisMCmDispatchIncomingCloseCall); the client closes the call, and the MCM
completes the close at once. Only then does it report the refused change with
NdisMCmModifyCallQoSComplete: too late, since the change had to be completed
before the close was.
"""

from __future__ import annotations

from condis import Ndis
from condis.samples import SampleMcm
from condis.samples.mcm import McmVc
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
)
from condis.structs import CO_CALL_PARAMETERS

ROLE = "mcm"
RULE = "CoNdisCloseCallWithQosPending"


class HangUpFirstMcm(SampleMcm):
    def ProtocolCmModifyCallQoS(
        self, CallMgrVcContext: McmVc, CallParameters: CO_CALL_PARAMETERS
    ) -> NDIS_STATUS:
        vc = CallMgrVcContext
        handle = vc.handle
        assert handle is not None

        def refuse() -> None:
            if vc.active:
                self.ndis.NdisMCmDispatchIncomingCloseCall(NDIS_STATUS_SUCCESS, handle, None, 0)
            # The mistake: the close has completed by now.
            self.ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_FAILURE, handle, CallParameters)

        if not self._defer(vc.af.adapter, refuse):
            return NDIS_STATUS_RESOURCES
        return NDIS_STATUS_PENDING


def factory(ndis: Ndis) -> HangUpFirstMcm:
    return HangUpFirstMcm(ndis)
