"""CoNdisNblLeak: an MCM whose halt stops the NIC with sends still queued on it.

The MCM queues every send for its wire and never completes it, and its
MiniportHaltEx stops the NIC and returns at once: the sends it holds are
never completed. NDIS finds them when the halt returns, before anything
else the halt left behind.

Verified strict (``STRICT``), as Windows stops at the first bug check: the
same halt also leaves its clients' AFs open, which collecting would list
next (CoNdisAfOpenOnTeardown). Only the stages after data was sent
(``SKIP`` the others) have a send to leak; before them, the open AFs are
the first thing found.
"""

from __future__ import annotations

from typing import Any

from condis import Ndis
from condis.constants import NDIS_HALT_ACTION
from condis.data import NET_BUFFER_LIST
from condis.samples import SampleMcm
from condis.samples.mcm_state import McmAdapter, McmVc

ROLE = "mcm"
RULE = "CoNdisNblLeak"
STRICT = True
SKIP = frozenset({(p, stop) for p in ("sync", "pended") for stop in ("init", "open", "call")})


class WireQueueMcm(SampleMcm):
    def __init__(self, ndis: Ndis) -> None:
        super().__init__(ndis)
        self.wire: list[Any] = []

    def MiniportCoSendNetBufferLists(
        self, MiniportVcContext: McmVc, NetBufferLists: NET_BUFFER_LIST, SendFlags: int
    ) -> None:
        self.wire.append(NetBufferLists)  # queued for the wire; completed when sent

    def MiniportHaltEx(
        self, MiniportAdapterContext: McmAdapter, HaltAction: NDIS_HALT_ACTION
    ) -> None:
        # The mistake: the NIC stops with the queue full, and nothing completes it.
        MiniportAdapterContext.halted = True
        del self.adapters[MiniportAdapterContext.handle]


def factory(ndis: Ndis) -> WireQueueMcm:
    return WireQueueMcm(ndis)
