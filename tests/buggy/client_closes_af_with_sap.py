"""CoNdisAfCloseWithChildren: a client that tries to close an AF before deregistering
its SAP.

close_af first calls NdisClCloseAddressFamily while the AF still has a
registered SAP (NDIS fails it with NDIS_STATUS_FAILURE), and only then
deregisters and closes in the right order.
"""

from __future__ import annotations

from condis import Ndis
from condis.constants import CO_ADDRESS_FAMILY_Q2931
from condis.samples import SampleClient
from condis.samples.client import ClientAf
from condis.status import NDIS_STATUS
from condis.structs import CO_SAP

ROLE = "client"
RULE = "CoNdisAfCloseWithChildren"

SAP = CO_SAP(SapType=1, Sap=b"hasty")


class HastyCloseClient(SampleClient):
    def close_af(self, af: ClientAf) -> NDIS_STATUS:
        if af.handle is not None and any(s.state == "registered" for s in af.saps):
            # The mistake: the SAP is still registered on this AF.
            self.ndis.NdisClCloseAddressFamily(af.handle)
        return super().close_af(af)


def factory(ndis: Ndis) -> HastyCloseClient:
    return HastyCloseClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [SAP]})
