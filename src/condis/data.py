"""Data on VCs: NET_BUFFER_LIST chains, sends, receives, and who owns what.

Theory of operation (guide/sending-net-buffer-structures-from-condis-drivers.md,
receiving-net-buffer-structures-in-condis-drivers.md, ns-nbl-net_buffer_list.md
and the DDI pages below).

Send: a client (or a call manager on its own VC) calls NdisCoSendNetBufferLists
and gives up ownership of the NBLs; NDIS passes them to the miniport's
MiniportCoSendNetBufferLists (the MCM's, on an MCM's adapter), which must
complete every one, in any order and any grouping, with
NdisMCoSendNetBufferListsComplete; NDIS then hands them back through the
sender's ProtocolCoSendNetBufferListsComplete.

Receive: the miniport calls NdisMCoIndicateReceiveNetBufferLists on a VC; NDIS
calls ProtocolCoReceiveNetBufferLists of the protocol that receives on that
VC. Without NDIS_RECEIVE_FLAGS_RESOURCES the protocol owns the NBLs until it
calls NdisReturnNetBufferLists, and NDIS returns them to the miniport's
MiniportReturnNetBufferLists; with it, ownership goes back to the miniport as
soon as the indication returns.

NDIS keeps a ledger of every NBL in flight, so an NBL is sent, completed,
indicated and returned exactly once. A client that closes a call with sends
still out breaks NdisClCloseCall's page (CoNdisCloseCallWithSends); an NBL
still out when its adapter halts is a leak (CoNdisNblLeak), and `leaks()`
says where it went out.

The structures are light on purpose: an NBL is a linked list of NET_BUFFERs,
each holding real bytes, chained through `Next`, with no pools, MDLs or
offsets to maintain.

Choices the pages leave open, and what condis does:

* Sending on a VC that is not active, or whose call is not connected, is
  CoNdisSendOnInactiveVc; NDIS then completes the NBLs itself with
  NDIS_STATUS_VC_NOT_ACTIVATED, from an NDIS work item, since a CoNDIS send
  is "always returned asynchronously".
* A sender must set each NBL's SourceHandle to the VC handle (the send
  page); a miniport must set it on the NBLs it indicates (the receive page).
  condis reports a missing or wrong SourceHandle as CoNdisNblOwnership.
* NumberOfNetBufferLists that disagrees with the chain is a ValueError.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import condis.args as args
from condis.constants import (
    NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL,
    NDIS_RECEIVE_FLAGS_RESOURCES,
    NDIS_RETURN_FLAGS_DISPATCH_LEVEL,
    NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL,
    NDIS_SEND_FLAGS_CHECK_FOR_LOOPBACK,
    NDIS_SEND_FLAGS_DISPATCH_LEVEL,
)
from condis.core import Core, Engine
from condis.crossing import ddi, handler
from condis.handles import BindingHandle, VcHandle
from condis.machines import CALL, VC, CallInput, VcInput, VcState
from condis.records import Adapter, DriverBlock, Vc
from condis.status import NDIS_STATUS_VC_NOT_ACTIVATED
from condis.structs import NDIS_PROTOCOL_CO_CHARACTERISTICS, NET_BUFFER, NET_BUFFER_LIST
from condis.verifier.leaks import Leak

__all__ = [
    "NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL",
    "NDIS_RECEIVE_FLAGS_RESOURCES",
    "NDIS_RETURN_FLAGS_DISPATCH_LEVEL",
    "NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL",
    "NDIS_SEND_FLAGS_CHECK_FOR_LOOPBACK",
    "NDIS_SEND_FLAGS_DISPATCH_LEVEL",
    "NET_BUFFER",
    "NET_BUFFER_LIST",
    "DataCounts",
    "DataEngine",
    "InFlight",
]

handler(
    "MiniportCoSendNetBufferLists",
    "ProtocolCoSendNetBufferListsComplete",
    "ProtocolCoReceiveNetBufferLists",
    "MiniportReturnNetBufferLists",
)


@dataclass(eq=False, slots=True)
class InFlight:
    """NDIS's ledger entry for one NBL that is out of its owner's hands."""

    nbl: NET_BUFFER_LIST
    vc: Vc
    #: "send" (a protocol's NBL at the miniport) or "receive" (a miniport's NBL at a protocol)
    direction: str
    #: the record the NBL went out with (the handler NDIS calls next), stamped by the kernel
    born: tuple[int, str] | None = None

    @property
    def seq(self) -> int:
        """The seq of the record the NBL went out with (-1 before it is made)."""
        return -1 if self.born is None else self.born[0]


@dataclass(slots=True)
class DataCounts:
    """How many NBLs (and bytes) crossed the host, by direction."""

    sent: int = 0
    send_completed: int = 0
    indicated: int = 0
    returned: int = 0
    bytes_sent: int = 0
    bytes_indicated: int = 0


def _bytes(chain: list[NET_BUFFER_LIST]) -> int:
    """How many bytes the chain's NET_BUFFERs hold (validated chains only)."""
    total = 0
    for nbl in chain:
        nb = nbl.FirstNetBuffer
        while nb is not None:
            total += len(nb.Data)
            nb = nb.Next
    return total


class DataEngine(Engine):
    """The data DDIs and the NBL ledger."""

    __slots__ = ("_in_flight", "data_counts")

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self._in_flight: dict[NET_BUFFER_LIST, InFlight] = {}
        self.data_counts = DataCounts()

    def _lend(self, nbl: NET_BUFFER_LIST, vc: Vc, direction: str) -> None:
        """Enter `nbl` in the ledger as out of its owner's hands on `vc`."""
        entry = self._in_flight[nbl] = InFlight(nbl, vc, direction)
        self.k.unborn.append(entry)
        if direction == "send":
            vc.sends_out += 1
        else:
            vc.receives_out += 1

    def _give_back(self, nbl: NET_BUFFER_LIST) -> None:
        """Take `nbl` out of the ledger: its owner has it again."""
        entry = self._in_flight.pop(nbl, None)
        if entry is None:
            return
        if entry.direction == "send":
            entry.vc.sends_out -= 1
        else:
            entry.vc.receives_out -= 1

    def leaks(self) -> Iterator[Leak]:
        for entry in self._in_flight.values():
            if entry.direction == "send":
                holder: str | None = entry.vc.adapter.driver.name
                detail = "sent and never completed (NdisMCoSendNetBufferListsComplete)"
            else:
                try:
                    holder = self._receiver(entry.vc)[0].name
                except StopIteration:
                    holder = None
                detail = "indicated and never returned (NdisReturnNetBufferLists)"
            yield Leak("NBL", f"NBL on {entry.vc.handle.label}", holder, detail).at(entry.born)

    def invariants(self, vcs: Iterable[Vc]) -> Iterator[str]:
        """The ledger against the VCs' own counts; `vcs` are the live VCs."""
        live_vcs = set(vcs)
        counts: dict[Vc, list[int]] = {}
        for entry in self._in_flight.values():
            count = counts.setdefault(entry.vc, [0, 0])
            count[entry.direction != "send"] += 1
        for vc in live_vcs:
            if [vc.sends_out, vc.receives_out] != counts.get(vc, [0, 0]):
                yield f"{vc.handle.label} counts NBLs out that the ledger does not hold"
        for nbl, entry in self._in_flight.items():
            if entry.nbl is not nbl:
                yield f"an NBL in flight is filed under another NBL (#{entry.seq})"
            if entry.vc not in live_vcs:
                yield f"NBL #{entry.seq} is in flight on {entry.vc.handle.label}, which is deleted"

    @property
    def in_flight(self) -> tuple[InFlight, ...]:
        """Every NBL NDIS knows to be out of its owner's hands, oldest first."""
        return tuple(self._in_flight.values())

    # --- checks shared by the data DDIs -----------------------------------------------------

    def _ownership(self, name: str, driver: DriverBlock, vc: Vc, detail: str) -> None:
        self.k.violation(
            "CoNdisNblOwnership",
            ddi=name,
            driver=driver,
            handle=vc.handle,
            detail=detail,
            refused=True,
        )

    @staticmethod
    def _receiver(
        vc: Vc,
    ) -> tuple[DriverBlock, NDIS_PROTOCOL_CO_CHARACTERISTICS | None, object, object]:
        """(driver, co handlers, ProtocolBindingContext, ProtocolVcContext) receiving on `vc`."""
        if vc.af is not None:
            client = vc.af.client
            return client.protocol, client.co_handlers, client.context, vc.client_context
        own = next((b for b in vc.adapter.bindings if b.protocol is vc.creator), None)
        if own is None:  # its creator's binding closed with the VC on it (_orphaned)
            return vc.creator, None, None, vc.cm_context
        return own.protocol, own.co_handlers, own.context, vc.cm_context

    def _orphaned(self, ddi_name: str, vc: Vc, driver: DriverBlock) -> bool:
        """A call manager's own VC whose binding is gone has no protocol end: data on it
        is refused (NdisHandleStale), in collect mode too, instead of reaching no one."""
        if vc.af is not None or any(b.protocol is vc.creator for b in vc.adapter.bindings):
            return False
        self.k.violation(
            "NdisHandleStale",
            refused=True,
            ddi=ddi_name,
            driver=driver,
            handle=vc.handle,
            detail=f"{vc.handle.label} belongs to {vc.creator.name}, which is no longer bound "
            f"to {vc.adapter.name}",
        )
        return True

    @staticmethod
    def _sendable(vc: Vc) -> bool:
        """Data may cross `vc`: it is active, and its call (if it belongs to an AF) is up."""
        if VC.guard(vc.state, VcInput.SEND).refused:
            return False
        return vc.af is None or not CALL.guard(vc.call_state, CallInput.SEND).refused

    # --- send --------------------------------------------------------------------------------

    @ddi("NdisCoSendNetBufferLists")
    def NdisCoSendNetBufferLists(
        self, NdisVcHandle: VcHandle, NetBufferLists: NET_BUFFER_LIST, SendFlags: int = 0
    ) -> None:
        """Send NBLs on a VC (nf-ndis-ndiscosendnetbufferlists).

        VOID: the NBLs come back through ProtocolCoSendNetBufferListsComplete
        with their Status set: from inside this call when the miniport
        completes them in MiniportCoSendNetBufferLists (as NDIS 6 allows, so a
        protocol must be ready for it), later otherwise. A send NDIS itself
        fails (an inactive VC) always comes back later, from a work item.
        """
        name = "NdisCoSendNetBufferLists"
        chain = args.nbl_chain(name, NetBufferLists)
        flags = args.flags(name, "SendFlags", SendFlags)
        vc = self.resolve.vc(name, NdisVcHandle)
        if vc is None:
            return None
        sender, _, _, _ = self._receiver(vc)
        with self.k.begin(name, sender, handle=vc.handle) as call:
            if self._orphaned(name, vc, sender):
                return call.void()
            for nbl in chain:
                if nbl in self._in_flight:
                    self._ownership(
                        name,
                        sender,
                        vc,
                        "an NBL sent is still out: the sender "
                        "does not own it until its send completes",
                    )
                    return call.void()
                if nbl.SourceHandle is not vc.handle:
                    self._ownership(
                        name,
                        sender,
                        vc,
                        f"SourceHandle of each NBL must be the NdisVcHandle {vc.handle.label}",
                    )
                    return call.void()
            for nbl in chain:
                self._lend(nbl, vc, "send")
            self.data_counts.sent += len(chain)
            self.data_counts.bytes_sent += _bytes(chain)
            if not self._sendable(vc):
                self.k.violation(
                    "CoNdisSendOnInactiveVc",
                    ddi=name,
                    driver=sender,
                    handle=vc.handle,
                    detail=f"{vc.handle.label} is {vc.state.value}"
                    + ("" if vc.state is not VcState.ACTIVE else " but its call is not connected"),
                )
                for nbl in chain:
                    nbl.Status = NDIS_STATUS_VC_NOT_ACTIVATED
                self.k.defer(
                    "NDIS fails a send on an inactive VC",
                    lambda: self._send_done(vc, chain, flags),
                )
                return call.void()
            miniport = vc.adapter.driver
            assert miniport.miniport_co is not None
            self.k.call_void(
                miniport,
                "MiniportCoSendNetBufferLists",
                miniport.miniport_co.CoSendNetBufferListsHandler,
                vc.miniport_vc_context,
                chain[0],
                flags,
                handle=vc.handle,
            )
            return call.void()

    def _send_done(self, vc: Vc, chain: list[NET_BUFFER_LIST], flags: int) -> None:
        for nbl in chain:
            self._give_back(nbl)
        self.data_counts.send_completed += len(chain)
        sender, co, _, context = self._receiver(vc)
        if vc.af is not None and sender is vc.af.client.protocol:
            context = vc.client_context
        NET_BUFFER_LIST.link(chain)
        self.k.call_void(
            sender,
            "ProtocolCoSendNetBufferListsComplete",
            None if co is None else co.CoSendNetBufferListsCompleteHandler,
            context,
            chain[0],
            flags,
            handle=vc.handle,
        )

    @ddi("NdisMCoSendNetBufferListsComplete")
    def NdisMCoSendNetBufferListsComplete(
        self, NdisVcHandle: VcHandle, NetBufferLists: NET_BUFFER_LIST, SendCompleteFlags: int = 0
    ) -> None:
        """The miniport returns sent NBLs (nf-ndis-ndismcosendnetbufferlistscomplete);
        NDIS calls the sender's ProtocolCoSendNetBufferListsComplete."""
        name = "NdisMCoSendNetBufferListsComplete"
        chain = args.nbl_chain(name, NetBufferLists)
        flags = args.flags(name, "SendCompleteFlags", SendCompleteFlags)
        vc = self.resolve.vc(name, NdisVcHandle)
        if vc is None:
            return None
        miniport = vc.adapter.driver
        with self.k.begin(name, miniport, handle=vc.handle) as call:
            for nbl in chain:
                entry = self._in_flight.get(nbl)
                if entry is None or entry.direction != "send" or entry.vc is not vc:
                    self._ownership(
                        name,
                        miniport,
                        vc,
                        "completes an NBL that is not a send pending on "
                        f"{vc.handle.label} (never sent, or already completed)",
                    )
                    return call.void()
            self._send_done(vc, chain, flags)
            return call.void()

    # --- receive -----------------------------------------------------------------------------

    @ddi("NdisMCoIndicateReceiveNetBufferLists")
    def NdisMCoIndicateReceiveNetBufferLists(
        self,
        NdisVcHandle: VcHandle,
        NetBufferLists: NET_BUFFER_LIST,
        NumberOfNetBufferLists: int,
        CoReceiveFlags: int = 0,
    ) -> None:
        """The miniport indicates received NBLs on a VC; NDIS calls the receiving
        protocol's ProtocolCoReceiveNetBufferLists."""
        name = "NdisMCoIndicateReceiveNetBufferLists"
        chain = args.nbl_chain(name, NetBufferLists)
        flags = args.flags(name, "CoReceiveFlags", CoReceiveFlags)
        if NumberOfNetBufferLists != len(chain):
            raise ValueError(
                f"{name}: NumberOfNetBufferLists is {NumberOfNetBufferLists!r} but the list "
                f"holds {len(chain)}"
            )
        vc = self.resolve.vc(name, NdisVcHandle)
        if vc is None:
            return None
        miniport = vc.adapter.driver
        with self.k.begin(name, miniport, handle=vc.handle) as call:
            if self._orphaned(name, vc, miniport):
                return call.void()
            for nbl in chain:
                if nbl in self._in_flight:
                    self._ownership(name, miniport, vc, "indicates an NBL it does not own")
                    return call.void()
                if nbl.SourceHandle is not vc.handle:
                    self._ownership(
                        name, miniport, vc, f"SourceHandle of each NBL must be {vc.handle.label}"
                    )
                    return call.void()
            if not self._sendable(vc):
                self.k.violation(
                    "CoNdisSendOnInactiveVc",
                    refused=True,
                    ddi=name,
                    driver=miniport,
                    handle=vc.handle,
                    detail=f"indicates a receive on {vc.handle.label}, which is {vc.state.value}",
                )
                return call.void()
            keep = not flags & NDIS_RECEIVE_FLAGS_RESOURCES
            if keep:
                for nbl in chain:
                    self._lend(nbl, vc, "receive")
            self.data_counts.indicated += len(chain)
            self.data_counts.bytes_indicated += _bytes(chain)
            receiver, co, binding_context, vc_context = self._receiver(vc)
            self.k.call_void(
                receiver,
                "ProtocolCoReceiveNetBufferLists",
                None if co is None else co.CoReceiveNetBufferListsHandler,
                binding_context,
                vc_context,
                chain[0],
                len(chain),
                flags,
                handle=vc.handle,
            )
            return call.void()

    @ddi("NdisReturnNetBufferLists")
    def NdisReturnNetBufferLists(
        self,
        NdisBindingHandle: BindingHandle,
        NetBufferLists: NET_BUFFER_LIST,
        ReturnFlags: int = 0,
    ) -> None:
        """A protocol returns indicated NBLs it kept; NDIS passes them to the miniport's
        MiniportReturnNetBufferLists."""
        name = "NdisReturnNetBufferLists"
        chain = args.nbl_chain(name, NetBufferLists)
        flags = args.flags(name, "ReturnFlags", ReturnFlags)
        binding = self.resolve.binding(name, "NdisBindingHandle", NdisBindingHandle)
        if binding is None:
            return None
        with self.k.begin(name, binding.protocol, handle=NdisBindingHandle) as call:
            by_adapter: dict[Adapter, list[NET_BUFFER_LIST]] = {}
            for nbl in chain:
                entry = self._in_flight.get(nbl)
                if (
                    entry is None
                    or entry.direction != "receive"
                    or entry.vc.adapter is not binding.adapter
                ):
                    self.k.violation(
                        "CoNdisNblOwnership",
                        refused=True,
                        ddi=name,
                        driver=binding.protocol,
                        handle=NdisBindingHandle,
                        detail="returns an NBL that was not indicated to it on this binding "
                        "(or was already returned)",
                    )
                    return call.void()
                by_adapter.setdefault(entry.vc.adapter, []).append(nbl)
            for nbl in chain:
                self._give_back(nbl)
            self.data_counts.returned += len(chain)
            for adapter, nbls in by_adapter.items():
                assert adapter.driver.miniport_chars is not None
                NET_BUFFER_LIST.link(nbls)
                self.k.call_void(
                    adapter.driver,
                    "MiniportReturnNetBufferLists",
                    adapter.driver.miniport_chars.ReturnNetBufferListsHandler,
                    adapter.context,
                    nbls[0],
                    flags,
                    handle=adapter.handle,
                )
            return call.void()

    # --- leaks -------------------------------------------------------------------------------

    def _report_nbls(self, entries: list[InFlight], where: str, why: str) -> None:
        for entry in entries:
            vc = entry.vc
            owner = vc.adapter.driver if entry.direction == "send" else self._receiver(vc)[0]
            self.k.violation(
                "CoNdisNblLeak",
                ddi=where,
                driver=owner,
                handle=vc.handle,
                detail=f"an NBL ({entry.direction}, trace #{entry.seq}) on {vc.handle.label} "
                f"is still out {why}",
            )

    def adapter_halted(self, adapter: Adapter) -> None:
        """MiniportHaltEx returned: every NBL out on the adapter's VCs is a leak."""
        self._report_nbls(
            [e for e in self._in_flight.values() if e.vc.adapter is adapter],
            "MiniportHaltEx",
            "when the adapter halted",
        )
