"""CoNdisCallOnInactiveVc: a call manager that completes an outgoing call before the
VC's activation has completed.

When the miniport pends MiniportCoActivateVc, the call manager treats the
activation as done and calls NdisCmMakeCallComplete with NDIS_STATUS_SUCCESS
at once, on a VC that is still being activated.
"""

from __future__ import annotations

from condis import Ndis
from condis.samples import SampleCallManager
from condis.samples.callmanager import CmVc
from condis.status import NDIS_STATUS, NDIS_STATUS_PENDING, NDIS_STATUS_SUCCESS
from condis.structs import CO_CALL_PARAMETERS

ROLE = "callmanager"
RULE = "CoNdisCallOnInactiveVc"


class ImpatientCallManager(SampleCallManager):
    def activate_vc(self, vc: CmVc, parameters: CO_CALL_PARAMETERS) -> NDIS_STATUS:
        status = super().activate_vc(vc, parameters)
        if status == NDIS_STATUS_PENDING:
            # The mistake: a pended activation is not an active VC.
            self.ProtocolCmActivateVcComplete(NDIS_STATUS_SUCCESS, vc, parameters)
        return status


def factory(ndis: Ndis) -> ImpatientCallManager:
    return ImpatientCallManager(ndis)
