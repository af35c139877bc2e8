"""CoNdisCompleteStatus: an MCM that fails a pended AF open with NDIS_STATUS_PENDING
as the final status.

The work item that finishes the open drops the AF (the NIC refuses it) and
passes the status variable it never updated, still NDIS_STATUS_PENDING, to
NdisMCmOpenAddressFamilyComplete instead of a failure status.
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import AfHandle
from condis.samples import SampleMcm
from condis.samples.mcm import McmAdapter, McmAf
from condis.status import NDIS_STATUS, NDIS_STATUS_PENDING
from condis.structs import CO_ADDRESS_FAMILY

ROLE = "mcm"
RULE = "CoNdisCompleteStatus"


class CompleteWithPendingMcm(SampleMcm):
    def ProtocolCmOpenAf(
        self,
        CallMgrBindingContext: McmAdapter,
        AddressFamily: CO_ADDRESS_FAMILY,
        NdisAfHandle: AfHandle,
    ) -> NDIS_STATUS | tuple[NDIS_STATUS, McmAf]:
        result = super().ProtocolCmOpenAf(CallMgrBindingContext, AddressFamily, NdisAfHandle)
        if not isinstance(result, tuple):
            return result
        _, af = result
        status = NDIS_STATUS_PENDING

        def refuse() -> None:
            af.open = False
            del CallMgrBindingContext.afs[NdisAfHandle]
            # The mistake: `status` should now hold a failure, not NDIS_STATUS_PENDING.
            self.ndis.NdisMCmOpenAddressFamilyComplete(status, NdisAfHandle, af)

        self._defer(CallMgrBindingContext, refuse)
        return status


def factory(ndis: Ndis) -> CompleteWithPendingMcm:
    return CompleteWithPendingMcm(ndis)
