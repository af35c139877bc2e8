"""CoNdisDropLastParty: a client that hangs up a multipoint call by dropping its last party.

Once its AF is open, the client calls the peer as the first party of a
point-to-multipoint call. When it closes that call, it first tries
NdisClDropParty on the only party left; the last party goes with
NdisClCloseCall instead.
"""

from __future__ import annotations

from typing import Any

from condis import Ndis
from condis.handles import TimerHandle
from condis.samples import SampleClient
from condis.samples.client import ClientAf, ClientBinding, ClientVc
from condis.samples.mcm import called_party
from condis.status import NDIS_STATUS, NDIS_STATUS_SUCCESS
from condis.structs import CO_ADDRESS_FAMILY, NDIS_TIMER_CHARACTERISTICS
from condis.verify.workloads import PEER

ROLE = "client"
RULE = "CoNdisDropLastParty"


class MultipointClient(SampleClient):
    def ProtocolCoAfRegisterNotify(
        self, ProtocolBindingContext: ClientBinding, AddressFamily: CO_ADDRESS_FAMILY
    ) -> None:
        super().ProtocolCoAfRegisterNotify(ProtocolBindingContext, AddressFamily)
        assert self.driver_handle is not None
        chars = NDIS_TIMER_CHARACTERISTICS(TimerFunction=self._call_peer)
        status, timer = self.ndis.NdisAllocateTimerObject(self.driver_handle, chars)
        if status == NDIS_STATUS_SUCCESS and timer is not None:
            # Call once the peer has had time to register its SAP.
            self.ndis.NdisSetTimerObject(timer, -10_000, 0, (ProtocolBindingContext, timer))

    def _call_peer(
        self,
        SystemSpecific1: object,
        FunctionContext: Any,
        SystemSpecific2: object,
        SystemSpecific3: object,
    ) -> None:
        binding: ClientBinding
        timer: TimerHandle
        binding, timer = FunctionContext
        self.ndis.NdisFreeTimerObject(timer)
        af: ClientAf
        for af in binding.afs:
            if af.state == "open":
                self.make_call(af, called_party(PEER), multipoint=True)

    def close_call(self, vc: ClientVc) -> NDIS_STATUS:
        connected = [p for p in vc.parties if p.state == "connected"]
        if len(connected) == 1 and connected[0].handle is not None:
            # The mistake: the last party is dropped by closing the call.
            self.ndis.NdisClDropParty(connected[0].handle)
        return super().close_call(vc)


def factory(ndis: Ndis) -> MultipointClient:
    return MultipointClient(ndis)
