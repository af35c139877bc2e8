"""CoNdisSendOnInactiveVc: a miniport that indicates a receive on a VC it is deactivating.

When asked to deactivate a VC, the miniport first passes up a last "carrier
lost" frame on it with NdisMCoIndicateReceiveNetBufferLists; data may be
indicated only on an active VC whose call is connected.
"""

from __future__ import annotations

from condis import Ndis
from condis.data import NDIS_RECEIVE_FLAGS_RESOURCES, NET_BUFFER_LIST
from condis.samples import SampleCoMiniport
from condis.samples.miniport import MiniportVc
from condis.status import NDIS_STATUS

ROLE = "miniport"
RULE = "CoNdisSendOnInactiveVc"


class ChattyMiniport(SampleCoMiniport):
    def MiniportCoDeactivateVc(self, MiniportVcContext: MiniportVc) -> NDIS_STATUS:
        vc = MiniportVcContext
        frame = NET_BUFFER_LIST.of(b"carrier lost", SourceHandle=vc.handle)
        # The mistake: the VC is being deactivated; its call is closing.
        self.ndis.NdisMCoIndicateReceiveNetBufferLists(
            vc.handle, frame, 1, NDIS_RECEIVE_FLAGS_RESOURCES
        )
        return super().MiniportCoDeactivateVc(vc)


def factory(ndis: Ndis) -> ChattyMiniport:
    return ChattyMiniport(ndis)
