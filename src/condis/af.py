"""Address families: open, close, and call-manager-initiated close.

Theory of operation (guide/registering-and-opening-an-address-family.md,
guide/closing-an-address-family*.md, guide/closing-a-condis-call-manager-or-mcm.md
and the DDI pages named below).

A call manager's offer of an AF type on a NIC is an `AfRegistration`
(af_registration.py). An `OpenAddressFamily` is one client's open of one offer, named by the
NdisAfHandle that NDIS issues in NdisClOpenAddressFamilyEx and passes to
ProtocolCmOpenAf. Its life is the table `AF_TRANSITIONS`; each pendable step
also follows the completion contract in ops.py:

    open     NdisClOpenAddressFamilyEx -> ProtocolCmOpenAf
             [PENDING -> Ndis(M)CmOpenAddressFamilyComplete -> ProtocolClOpenAfCompleteEx]
    close    NdisClCloseAddressFamily -> ProtocolCmCloseAf
             [PENDING -> Ndis(M)CmCloseAddressFamilyComplete -> ProtocolClCloseAfComplete]
    notify   Ndis(M)CmNotifyCloseAddressFamily -> ProtocolClNotifyCloseAf
             [PENDING -> NdisClNotifyCloseAddressFamilyComplete -> ProtocolCmNotifyCloseAfComplete]

The close paths live in af_close.py. The handle is valid for the two sides
at different times, and condis tracks both: for the client from the
successful end of the open until it calls NdisClCloseAddressFamily (and,
while a notification it pended is outstanding, for
NdisClNotifyCloseAddressFamilyComplete); for the call manager from
ProtocolCmOpenAf until the close completes (when
Ndis(M)CmCloseAddressFamilyComplete returns, or ProtocolCmCloseAf returns
NDIS_STATUS_SUCCESS) or a failed open completes.

Choices the pages leave open, and what condis does:

* NDIS matches an open to an offer by AddressFamily.AddressFamily alone; the
  versions are the call manager's to judge in ProtocolCmOpenAf.
* ProtocolCmCloseAf returning NDIS_STATUS_NOT_ACCEPTED refuses the close: the
  AF stays open and its handle valid for the client, and
  NdisClCloseAddressFamily returns NDIS_STATUS_NOT_ACCEPTED.
* Ndis(M)CmCloseAddressFamilyComplete's Status "is set to
  NDIS_STATUS_SUCCESS"; another status is a CoNdisCompleteStatus violation
  and, in collect mode, refuses the close as above.
* Ndis(M)CmNotifyCloseAddressFamily on an AF that is not open, or that
  already has a notification outstanding, returns NDIS_STATUS_FAILURE.
* A client's ProtocolClNotifyCloseAf (or its completion) reporting
  NDIS_STATUS_SUCCESS while the AF is still open, without the client having
  called NdisClCloseAddressFamily, is a violation (CoNdisNotifyCloseNotClosed).
* An open that the call manager completes at DISPATCH_LEVEL reaches the client
  (ProtocolClOpenAfCompleteEx, at PASSIVE_LEVEL) from an NDIS work item. Until
  then the client "cannot carry out further connection-oriented operations"
  on the AF (nf-ndis-ndiscmopenaddressfamilycomplete), so it cannot answer a
  close notification as ProtocolClNotifyCloseAf asks (close the AF with the
  handle it has not been given yet). NDIS delivers the open completion before
  anything else on that AF: Ndis(M)CmNotifyCloseAddressFamily, which runs at
  PASSIVE_LEVEL, first calls the pending ProtocolClOpenAfCompleteEx itself
  (the work item is withdrawn), then ProtocolClNotifyCloseAf. If the client
  closes the AF in that ProtocolClOpenAfCompleteEx, the notification is moot:
  NDIS returns NDIS_STATUS_FAILURE without calling ProtocolClNotifyCloseAf.
* A displaced offer takes no new opens; AFs already open on it stay open
  (af_registration.py says when an offer is displaced).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final

import condis.args as args
from condis.constants import PASSIVE_LEVEL
from condis.core import Core, Engine
from condis.crossing import Returns, ddi, handler
from condis.handles import AfHandle, BindingHandle
from condis.machines import AF, BINDING, AfInput, AfState, AfTransition, BindingInput, Row
from condis.ops import OPERATIONS, Operation
from condis.records import AfRegistration, OpenAddressFamily
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
)
from condis.structs import CO_ADDRESS_FAMILY
from condis.verifier.leaks import Leak

__all__ = [
    "AF_TRANSITIONS",
    "AfEngine",
    "AfInput",
    "AfRegistration",
    "AfState",
    "AfTransition",
    "OpenAddressFamily",
]

handler(
    "ProtocolCoAfRegisterNotify",
    "ProtocolCmOpenAf",
    "ProtocolClOpenAfCompleteEx",
    "ProtocolCmCloseAf",
    "ProtocolClCloseAfComplete",
    "ProtocolClNotifyCloseAf",
    "ProtocolCmNotifyCloseAfComplete",
)


#: The legal rows of the AF machine, each citing its page.
AF_TRANSITIONS: Final[Mapping[tuple[AfState, AfInput], Row]] = AF.legal()


class AfEngine(Engine):
    """Opening address families, and when an AF's handle dies."""

    __slots__ = ("_afs",)

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self._afs: dict[OpenAddressFamily, None] = {}

    def leaks(self) -> Iterator[Leak]:
        for af in self.address_families:
            yield Leak(
                "AF", af.handle.label, af.client.protocol.name, f"still {af.state.value}"
            ).at(af.handle.born)

    def invariants(self) -> Iterator[str]:
        for af in self._afs:
            label = af.handle.label
            live = self.k.handles.is_live(af.handle)
            if live != (af.client_valid or af.cm_valid or af.notifying):
                yield f"{label}: handle {'live' if live else 'closed'} but valid for " + (
                    "the client or the call manager" if not live else "neither side"
                )
            if live != (af in af.client.afs) or live != (af in af.registration.afs):
                yield f"{label}: listed on its binding or offer while the handle is {live=}"
            if af.client_valid and af.state in (AfState.OPENING, AfState.CLOSED):
                yield f"{label}: valid for the client while {af.state.value}"

    @property
    def address_families(self) -> tuple[OpenAddressFamily, ...]:
        """Every AF whose handle is still valid for either side, oldest first."""
        return tuple(self._afs)

    @staticmethod
    def children(af: OpenAddressFamily) -> list[str]:
        """Labels of what still lives on the AF: its SAPs, then its VCs."""
        return [*(s.handle.label for s in af.saps), *(v.handle.label for v in af.vcs)]

    @staticmethod
    def operations_on(af: OpenAddressFamily) -> Iterator[Operation]:
        """The AF's own open, close and close-notification operations."""
        yield from (op for op in (af.open_op, af.close_op, af.notify_op) if op is not None)

    def release(self, af: OpenAddressFamily) -> None:
        """Close the handle once neither side may use it."""
        if af.client_valid or af.cm_valid or af.notifying:
            return
        if self.k.handles.is_live(af.handle):
            self.k.handles.close(af.handle)
        self._afs.pop(af, None)  # a closed AF leaves every table
        if af in af.client.afs:
            af.client.afs.remove(af)
        if af in af.registration.afs:
            af.registration.afs.remove(af)

    # --- open ---------------------------------------------------------------------------------

    @ddi("NdisClOpenAddressFamilyEx")
    def NdisClOpenAddressFamilyEx(
        self,
        NdisBindingHandle: BindingHandle,
        AddressFamily: CO_ADDRESS_FAMILY,
        ClientAfContext: object,
    ) -> tuple[NDIS_STATUS, AfHandle | None]:
        """A client opens an AF offered on its adapter (nf-ndis-ndisclopenaddressfamilyex).

        Returns (status, NdisAfHandle). NDIS calls the call manager's
        ProtocolCmOpenAf; its status comes back here: SUCCESS (the handle is
        valid), PENDING (the handle is valid once ProtocolClOpenAfCompleteEx
        reports success), or its failure (no handle). NDIS itself returns
        FAILURE when no live offer of that AF type is on the adapter or the
        client's or the call manager's binding is closing, and RESOURCES when
        it cannot allocate.
        """
        name = "NdisClOpenAddressFamilyEx"
        family = args.family(name, AddressFamily)
        binding = self.resolve.binding(name, "NdisBindingHandle", NdisBindingHandle)
        if binding is None:
            return NDIS_STATUS_FAILURE, None
        with self.k.begin(name, binding.protocol, handle=NdisBindingHandle) as call:
            if not binding.is_client or BINDING.guard(binding.state, BindingInput.OPEN_AF).refused:
                return call.status(NDIS_STATUS_FAILURE), None
            reg = next(
                (
                    r
                    for r in binding.adapter.registrations
                    if r.family.AddressFamily == family.AddressFamily and r.live
                ),
                None,
            )
            if reg is None or (
                reg.binding is not None
                and BINDING.guard(reg.binding.state, BindingInput.SERVE_OPEN).refused
            ):
                return call.status(NDIS_STATUS_FAILURE), None
            if self.k.allocation_fails(name):
                return call.status(NDIS_STATUS_RESOURCES), None
            handle = self.k.handles.issue(AfHandle, None)
            op = self.ops.start(OPERATIONS["open-af"], handle, mcm=reg.is_mcm)
            af = OpenAddressFamily(
                handle=handle,
                registration=reg,
                client=binding,
                family=family,
                client_context=ClientAfContext,
                open_op=op,
            )
            self.k.handles.attach(handle, af)
            self._afs[af] = None
            binding.afs.append(af)
            reg.afs.append(af)
            call.handle = handle
            status, context, delivers = self.ops.run(
                op,
                reg.cm,
                reg.cm_handlers.CmOpenAfHandler,
                reg.cm_binding_context,
                family,
                handle,
                handle=handle,
                returns=Returns.STATUS_OUT,
            )
            if not delivers:
                return call.status(status, result=handle), handle
            self._open_finished(af, status, context)
            if status == NDIS_STATUS_SUCCESS:
                return call.status(status, result=handle), handle
            return call.status(status), None

    def _open_finished(self, af: OpenAddressFamily, status: NDIS_STATUS, context: object) -> None:
        if status == NDIS_STATUS_SUCCESS:
            af.move(AfInput.OPEN_SUCCEEDED)
            af.cm_context = context
            af.client_valid = True
        else:
            af.move(AfInput.OPEN_FAILED)
            af.cm_valid = False
            self.release(af)

    def _open_af_complete(
        self, spelling: str, Status: object, NdisAfHandle: object, CallMgrAfContext: object
    ) -> None:
        status = args.status(spelling, "Status", Status)
        af = self.resolve.af_for_cm(spelling, NdisAfHandle)
        if af is None:
            return None
        with self.k.begin(spelling, af.cm, handle=af.handle, op=af.open_op.id) as call:
            if not self.ops.complete(af.open_op, spelling, af.cm, af.handle, status):
                return call.void()
            succeeded = status == NDIS_STATUS_SUCCESS
            if succeeded:
                af.move(AfInput.OPEN_SUCCEEDED)
                af.cm_context = CallMgrAfContext
                af.client_valid = True
            else:
                af.move(AfInput.OPEN_FAILED)
            af.open_delivery = self.k.call_passive(
                "NDIS calls ProtocolClOpenAfCompleteEx", lambda: self._deliver_open(af, status)
            )
            if not succeeded:
                af.cm_valid = False
                self.release(af)
            return call.void()

    def _deliver_open(self, af: OpenAddressFamily, status: NDIS_STATUS) -> None:
        """Call the client's ProtocolClOpenAfCompleteEx for a pended open (at PASSIVE_LEVEL)."""
        af.open_delivery = None
        handlers = af.client.client_handlers
        assert handlers is not None
        self.k.call_void(
            af.client.protocol,
            "ProtocolClOpenAfCompleteEx",
            handlers.ClOpenAfCompleteHandlerEx,
            af.client_context,
            af.handle if status == NDIS_STATUS_SUCCESS else None,
            status,
            handle=af.handle,
            op=af.open_op.id,
            irql=PASSIVE_LEVEL,
        )

    def deliver_open_first(self, af: OpenAddressFamily) -> None:
        """If the client has yet to hear that its open succeeded, tell it now.

        NDIS calls this before it calls the client about the AF for another
        reason (ProtocolClNotifyCloseAf), from a DDI that runs at PASSIVE_LEVEL;
        the queued delivery is withdrawn and done here instead.
        """
        item = af.open_delivery
        if item is not None and self.k.scheduler.cancel(item):
            self._deliver_open(af, NDIS_STATUS_SUCCESS)

    @ddi("NdisCmOpenAddressFamilyComplete")
    def NdisCmOpenAddressFamilyComplete(
        self, Status: NDIS_STATUS, NdisAfHandle: AfHandle, CallMgrAfContext: object
    ) -> None:
        """A stand-alone call manager completes a pended open.

        (nf-ndis-ndiscmopenaddressfamilycomplete) NDIS calls the client's
        ProtocolClOpenAfCompleteEx, at PASSIVE_LEVEL: from a work item of its
        own when this is called at DISPATCH_LEVEL.
        """
        self._open_af_complete(
            "NdisCmOpenAddressFamilyComplete", Status, NdisAfHandle, CallMgrAfContext
        )

    @ddi("NdisMCmOpenAddressFamilyComplete")
    def NdisMCmOpenAddressFamilyComplete(
        self, Status: NDIS_STATUS, NdisAfHandle: AfHandle, CallMgrAfContext: object
    ) -> None:
        """An MCM completes a pended open: the ndis.h macro for NdisCmOpenAddressFamilyComplete."""
        self._open_af_complete(
            "NdisMCmOpenAddressFamilyComplete", Status, NdisAfHandle, CallMgrAfContext
        )
