"""Hosts and scripted drivers for the address-family tests.

Each path (an MCM, or a stand-alone call manager over the sample CoNDIS
miniport) is built with synchronous or pended completions and scripted
replies; the trace helpers read what crossed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from condis import (
    CO_ADDRESS_FAMILY,
    CO_ADDRESS_FAMILY_Q2931,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    Ndis,
)
from condis.samples import SampleCallManager, SampleClient, SampleCoMiniport, SampleMcm
from condis.samples.callmanager import CmAf
from condis.samples.mcm import McmAf
from condis.trace import TraceRecord

Q2931 = CO_ADDRESS_FAMILY(CO_ADDRESS_FAMILY_Q2931, 3, 1)
SAMPLE, HOLD, COMPLETE_INSIDE = "sample", "hold", "complete-inside"


def returns(ndis: Ndis, name: str) -> list[TraceRecord]:
    return [r for r in ndis.trace if r.name == name and r.phase.value == "return"]


def statuses(ndis: Ndis, name: str) -> list[Any]:
    return [r.status for r in returns(ndis, name)]


def inside(outer: str, record: TraceRecord, ndis: Ndis) -> bool:
    """True when `record` happens while a call of `outer` (at a lower depth) has not returned."""
    enclosing = [
        r for r in ndis.trace if r.name == outer and r.seq < record.seq and r.depth < record.depth
    ]
    return bool(enclosing) and enclosing[-1].phase.value == "call"


class _Scripted:
    """A sample call manager whose ProtocolCmOpenAf / ProtocolCmCloseAf answer as the test says.

    open_reply: SAMPLE (the sample's own answer), HOLD (PENDING; the test completes it with
    complete_open), COMPLETE_INSIDE (complete, then return PENDING) or a status to return.
    close_reply: SAMPLE or a status to return.
    """

    PREFIX = ""
    open_reply: Any = SAMPLE
    close_reply: Any = SAMPLE

    def __init__(self, ndis: Ndis, **kwargs: Any) -> None:
        super().__init__(ndis, **kwargs)  # type: ignore[call-arg]
        self.held: dict[Any, Any] = {}
        self.notify_completions: list[int] = []

    def ddi(self, stem: str) -> Any:
        return getattr(self.ndis, self.PREFIX + stem)  # type: ignore[attr-defined]

    def ProtocolCmOpenAf(self, CallMgrBindingContext: Any, AddressFamily: Any, NdisAfHandle: Any):
        if self.open_reply == SAMPLE:
            return super().ProtocolCmOpenAf(  # type: ignore[misc]
                CallMgrBindingContext, AddressFamily, NdisAfHandle
            )
        if not isinstance(self.open_reply, str):
            return self.open_reply
        ctx = self._context(CallMgrBindingContext, AddressFamily, NdisAfHandle)
        if self.open_reply == HOLD:
            self.held[NdisAfHandle] = ctx
            return NDIS_STATUS_PENDING
        ctx.open = True
        self.ddi("OpenAddressFamilyComplete")(NDIS_STATUS_SUCCESS, NdisAfHandle, ctx)
        return NDIS_STATUS_PENDING

    def complete_open(self, handle: Any, status: int) -> None:
        """Complete a held open, releasing the AF context first when it failed."""
        ctx = self.held.pop(handle)
        ctx.open = status == NDIS_STATUS_SUCCESS
        if not ctx.open:
            self._forget(ctx)
        self.ddi("OpenAddressFamilyComplete")(status, handle, ctx)

    def ProtocolCmCloseAf(self, CallMgrAfContext: Any):
        if self.close_reply == SAMPLE:
            return super().ProtocolCmCloseAf(CallMgrAfContext)  # type: ignore[misc]
        return self.close_reply

    def ProtocolCmNotifyCloseAfComplete(self, CallMgrAfContext: Any, Status: Any) -> None:
        self.notify_completions.append(Status)
        super().ProtocolCmNotifyCloseAfComplete(CallMgrAfContext, Status)  # type: ignore[misc]


class ScriptedMcm(_Scripted, SampleMcm):
    PREFIX = "NdisMCm"

    def _context(self, adapter: Any, family: Any, handle: Any) -> McmAf:
        adapter.afs[handle] = McmAf(adapter=adapter, family=family, handle=handle)
        return adapter.afs[handle]

    def _forget(self, ctx: McmAf) -> None:
        del ctx.adapter.afs[ctx.handle]


class ScriptedCallManager(_Scripted, SampleCallManager):
    PREFIX = "NdisCm"

    def _context(self, binding: Any, family: Any, handle: Any) -> CmAf:
        binding.afs[handle] = CmAf(binding=binding, handle=handle)
        return binding.afs[handle]

    def _forget(self, ctx: CmAf) -> None:
        del ctx.binding.afs[ctx.handle]


class RecordingClient(SampleClient):
    """The sample client, recording what NDIS passes to its AF handlers.

    notify_reply: SAMPLE, or a status ProtocolClNotifyCloseAf returns without closing anything.
    """

    notify_reply: Any = SAMPLE

    def __init__(self, ndis: Ndis, **kwargs: Any) -> None:
        super().__init__(ndis, **kwargs)
        self.open_completions: list[tuple[Any, int]] = []
        self.close_completions: list[int] = []
        self.live_in_close_complete: list[str] = []

    def ProtocolClOpenAfCompleteEx(self, ProtocolAfContext, NdisAfHandle, Status):
        self.open_completions.append((NdisAfHandle, Status))
        super().ProtocolClOpenAfCompleteEx(ProtocolAfContext, NdisAfHandle, Status)

    def ProtocolClCloseAfComplete(self, Status, ProtocolAfContext):
        self.close_completions.append(Status)
        self.live_in_close_complete = [a.handle.label for a in self.ndis.address_families]
        super().ProtocolClCloseAfComplete(Status, ProtocolAfContext)

    def ProtocolClNotifyCloseAf(self, ProtocolAfContext):
        if self.notify_reply == SAMPLE:
            return super().ProtocolClNotifyCloseAf(ProtocolAfContext)
        return self.notify_reply


@dataclass
class Host:
    """What build() made: the host, its call manager and client, and their names."""

    ndis: Ndis
    cm: Any
    client: RecordingClient
    cm_name: str
    adapter: str

    @property
    def prefix(self) -> str:
        return self.cm.PREFIX

    def spelled(self, stem: str) -> str:
        return self.prefix + stem

    def wrong(self, stem: str) -> str:
        return ("NdisCm" if self.prefix == "NdisMCm" else "NdisMCm") + stem

    @property
    def binding_handle(self) -> Any:
        return self.client.bindings[0].handle

    def open_af(self) -> Any:
        return self.client.afs("open")[0]

    def handles(self) -> list[str]:
        return self.ndis.snapshot()["handles"]


def build(
    path: str,
    completion: str = "sync",
    *,
    afs: tuple[int, ...] = (CO_ADDRESS_FAMILY_Q2931,),
    open_reply: Any = SAMPLE,
    close_reply: Any = SAMPLE,
    notify_reply: Any = SAMPLE,
    client_class: type[RecordingClient] = RecordingClient,
) -> Host:
    """An adapter up with one call manager (MCM or stand-alone) and the recording client."""
    ndis = Ndis()
    cm: Any
    if path == "mcm":
        cm_name, miniport, adapter = "samplemcm", "samplemcm", "mcm0"
        cm = ScriptedMcm(ndis, address_families=afs, completion=completion)
        ndis.load_driver(cm, cm_name)
    else:
        cm_name, miniport, adapter = "samplecallmanager", "samplecominiport", "atm0"
        ndis.load_driver(SampleCoMiniport(ndis), miniport)
        cm = ScriptedCallManager(ndis, address_families=afs, completion=completion)
        ndis.load_driver(cm, cm_name)
    cm.open_reply, cm.close_reply = open_reply, close_reply
    client = client_class(ndis)
    client.notify_reply = notify_reply
    ndis.load_driver(client, "sampleclient")
    ndis.add_adapter(miniport, adapter)
    ndis.run()
    return Host(ndis, cm, client, cm_name, adapter)


def co_miniport_host(*protocols: tuple[Any, str], miniport: Any = None) -> Ndis:
    """A CoNDIS miniport adapter 'atm0' with the given (driver class, name) protocols bound."""
    ndis = Ndis()
    ndis.load_driver((miniport or SampleCoMiniport)(ndis), "samplecominiport")
    for cls, name in protocols:
        ndis.load_driver(cls(ndis), name)
    ndis.add_adapter("samplecominiport", "atm0")
    ndis.run()
    return ndis
