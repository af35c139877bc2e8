"""CoNdisNblOwnership: a client that returns received NBLs twice.

ProtocolCoReceiveNetBufferLists returns the NBLs with
NdisReturnNetBufferLists, as the sample does, and then once more: they are
no longer the client's to return.
"""

from __future__ import annotations

from condis import Ndis
from condis.constants import CO_ADDRESS_FAMILY_Q2931
from condis.data import NET_BUFFER_LIST
from condis.samples import SampleClient
from condis.samples.client import ClientBinding, ClientVc
from condis.structs import CO_SAP

ROLE = "client"
RULE = "CoNdisNblOwnership"

SAP = CO_SAP(SapType=1, Sap=b"twice")


class DoubleReturnClient(SampleClient):
    def ProtocolCoReceiveNetBufferLists(
        self,
        ProtocolBindingContext: ClientBinding,
        ProtocolVcContext: ClientVc,
        NetBufferLists: NET_BUFFER_LIST,
        NumberOfNetBufferLists: int,
        ReceiveFlags: int,
    ) -> None:
        super().ProtocolCoReceiveNetBufferLists(
            ProtocolBindingContext,
            ProtocolVcContext,
            NetBufferLists,
            NumberOfNetBufferLists,
            ReceiveFlags,
        )
        assert ProtocolBindingContext.handle is not None
        # The mistake: these NBLs went back to the miniport a moment ago.
        self.ndis.NdisReturnNetBufferLists(ProtocolBindingContext.handle, NetBufferLists, 0)


def factory(ndis: Ndis) -> DoubleReturnClient:
    return DoubleReturnClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [SAP]})
