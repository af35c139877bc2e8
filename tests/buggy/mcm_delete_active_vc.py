"""CoNdisDeleteActiveVc: an MCM that deletes the VC of an incoming call while the
call is still on it.

When the callee's client closes an incoming call, ProtocolCmCloseCall tries
NdisMCmDeleteVc on the VC first, before deactivating it and completing the
close (the sample deletes it afterwards, as it should; NDIS refuses the early
delete with NDIS_STATUS_NOT_ACCEPTED).
"""

from __future__ import annotations

from condis import Ndis
from condis.samples import SampleMcm
from condis.samples.mcm import McmParty, McmVc
from condis.status import NDIS_STATUS

ROLE = "mcm"
RULE = "CoNdisDeleteActiveVc"


class EagerDeleteMcm(SampleMcm):
    def ProtocolCmCloseCall(
        self,
        CallMgrVcContext: McmVc,
        CallMgrPartyContext: McmParty | None,
        CloseData: bytes | None,
        Size: int,
    ) -> NDIS_STATUS:
        vc = CallMgrVcContext
        if vc.incoming and vc.handle is not None:
            # The mistake: the VC is still active and its call is closing.
            self.ndis.NdisMCmDeleteVc(vc.handle)
        return super().ProtocolCmCloseCall(vc, CallMgrPartyContext, CloseData, Size)


def factory(ndis: Ndis) -> EagerDeleteMcm:
    return EagerDeleteMcm(ndis)
