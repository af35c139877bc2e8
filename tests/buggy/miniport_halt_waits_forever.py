"""NdisWaitDeadlock: a miniport whose MiniportHaltEx waits for an event nothing sets.

MiniportHaltEx waits, with no timeout, for a "transmit idle" event that the
miniport's send path was supposed to signal but never does.
"""

from __future__ import annotations

from condis import Ndis
from condis.constants import NDIS_HALT_ACTION
from condis.samples import SampleCoMiniport
from condis.samples.miniport import MiniportAdapter

ROLE = "miniport"
RULE = "NdisWaitDeadlock"


class StuckHaltMiniport(SampleCoMiniport):
    def MiniportHaltEx(
        self, MiniportAdapterContext: MiniportAdapter, HaltAction: NDIS_HALT_ACTION
    ) -> None:
        idle = self.ndis.NdisInitializeEvent()
        self.ndis.NdisWaitEvent(idle, 0)  # the mistake: nothing will ever set it
        super().MiniportHaltEx(MiniportAdapterContext, HaltAction)


def factory(ndis: Ndis) -> StuckHaltMiniport:
    return StuckHaltMiniport(ndis)
