"""NdisHandleNotYetValid: a client that uses an AF handle before its open completes.

Right after NdisClOpenAddressFamilyEx returns, the client registers its SAP
with the NdisAfHandle, even when the open returned NDIS_STATUS_PENDING and
ProtocolClOpenAfCompleteEx has not yet reported it open.
"""

from __future__ import annotations

from condis import Ndis
from condis.samples import SampleClient
from condis.samples.client import ClientBinding
from condis.structs import CO_ADDRESS_FAMILY, CO_SAP

ROLE = "client"
RULE = "NdisHandleNotYetValid"

SAP = CO_SAP(SapType=1, Sap=b"early")


class EarlySapClient(SampleClient):
    def ProtocolCoAfRegisterNotify(
        self, ProtocolBindingContext: ClientBinding, AddressFamily: CO_ADDRESS_FAMILY
    ) -> None:
        super().ProtocolCoAfRegisterNotify(ProtocolBindingContext, AddressFamily)
        for af in ProtocolBindingContext.afs:
            if af.state == "opening" and af.handle is not None:
                # The mistake: the open is still pending.
                self.ndis.NdisClRegisterSap(af.handle, af, SAP)


def factory(ndis: Ndis) -> EarlySapClient:
    return EarlySapClient(ndis)
