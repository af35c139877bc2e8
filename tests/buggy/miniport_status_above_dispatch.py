"""Irql_MCO_Function: a miniport that indicates a status change above DISPATCH_LEVEL.

When a VC is activated, the miniport reports the link up from the code that
masks its NIC's interrupts, which runs at HIGH_LEVEL (like an interrupt
service routine at DIRQL). NdisMCoIndicateStatusEx may be called only at
IRQL <= DISPATCH_LEVEL: such code must queue the indication to a DPC or a
work item instead.
"""

from __future__ import annotations

from condis import Ndis
from condis.constants import HIGH_LEVEL
from condis.samples import SampleCoMiniport
from condis.samples.miniport import MiniportVc
from condis.status import NDIS_STATUS, NDIS_STATUS_MEDIA_CONNECT
from condis.status_ind import NDIS_STATUS_INDICATION
from condis.structs import CO_CALL_PARAMETERS

ROLE = "miniport"
RULE = "Irql_MCO_Function"


class MaskedMiniport(SampleCoMiniport):
    def MiniportCoActivateVc(
        self, MiniportVcContext: MiniportVc, CallParameters: CO_CALL_PARAMETERS
    ) -> NDIS_STATUS:
        status = super().MiniportCoActivateVc(MiniportVcContext, CallParameters)
        assert self.driver_object is not None
        block = self.ndis.driver(self.driver_object.DriverName)
        link_up = NDIS_STATUS_INDICATION(StatusCode=NDIS_STATUS_MEDIA_CONNECT)
        with self.ndis.driver_context(block, HIGH_LEVEL):
            # The mistake: a DDI allowed up to DISPATCH_LEVEL, called at HIGH_LEVEL.
            self.ndis.NdisMCoIndicateStatusEx(MiniportVcContext.adapter.handle, None, link_up)
        return status


def factory(ndis: Ndis) -> MaskedMiniport:
    return MaskedMiniport(ndis)
