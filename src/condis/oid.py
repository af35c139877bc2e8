"""OID requests between CoNDIS drivers.

Theory of operation (guide/condis-protocol-driver-oid-requests.md,
condis-mcm-oid-requests.md, condis-miniport-driver-oid-requests.md and the
DDI pages below). Status indications are in status_ind.py.

Who receives an OID request depends on the handles given:

* NdisCoOidRequest with NdisAfHandle NULL goes to the miniport under the
  binding: MiniportCoOidRequest (an MCM's, on an MCM's adapter), completed
  later with NdisMCoOidRequestComplete.
* NdisCoOidRequest with an AF handle goes to the other protocol of that AF:
  from a client to its call manager, from a call manager to the client
  (ProtocolCoOidRequest), completed later with NdisCoOidRequestComplete, or,
  by an MCM, NdisMCmOidRequestComplete (the ndis.h macro for it).
* NdisMCmOidRequest: an MCM asks a client (ProtocolCoOidRequest).

A request that the target pends is completed exactly once, and NDIS then
calls the requester's ProtocolCoOidRequestComplete; a request completed
synchronously returns its status from the DDI and no completion handler runs.
Driver Verifier's rules apply: a second completion is NdisOidDoubleComplete
(0xC4, 0x00091002), a completion of a request that is not pending is
NDIS_BUGCHECK_INVALID_OID_COMPLETION (0x7C, 0x26), and a request completed
with NDIS_STATUS_PENDING breaks NdisOidComplete (0xC4, 0x00091001).

Choices the pages leave open, and what condis does:

* NDIS_OID_REQUEST keeps the WDK members, with the DATA union flattened
  (Oid, InformationBuffer, InformationBufferLength, BytesWritten, BytesRead,
  BytesNeeded), and InformationBuffer holding Python bytes or objects.
* NDIS identifies the request being completed by the NDIS_OID_REQUEST object
  passed back (the WDK's pointer), so one object may be in flight once.
* NDIS remembers a completed request, to tell a second completion
  (NdisOidDoubleComplete) from one of a request that never pended
  (NdisInvalidOidCompletion), by the object itself, held weakly: for as long
  as a driver could still pass it back, and never confused with a new object
  that reuses a freed one's id(). Issuing the object again starts afresh.
* Only the driver a request is pending on (the target, whose
  MiniportCoOidRequest or ProtocolCoOidRequest received it) may complete it.
  Another driver's completion is NdisInvalidOidCompletion, as Windows names
  a miniport's completion of "an OID request that is not currently pending on
  that miniport driver" (0x7C, 0x26), and is refused; a Status of
  NDIS_STATUS_PENDING (NdisOidComplete, a check of the call's parameter that
  Driver Verifier makes on the way in) is reported first. A completion DDI called
  outside any driver's code (by a test) is the target's for
  NdisCoOidRequestComplete and NdisMCmOidRequestComplete, and for
  NdisMCoOidRequestComplete the miniport's whose adapter handle it passes.
  The completion must also pass the handle the request is pending on (the
  adapter's, or the AF's): a miniport completing through another of its
  adapters, or a driver naming another AF, is NdisInvalidOidCompletion too.
* A VC- or party-specific request must name a VC or party of the same AF;
  otherwise NDIS returns NDIS_STATUS_INVALID_PARAMETER.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import condis.args as args
from condis.core import Core, Engine
from condis.crossing import DdiCall, ddi, handler
from condis.handles import (
    NDIS_HANDLE,
    AdapterHandle,
    AfHandle,
    BindingHandle,
    PartyHandle,
    VcHandle,
)
from condis.ops import OPERATIONS, Operation, OpInput, Pendable
from condis.records import Binding, DriverBlock, OpenAddressFamily, Party, Vc
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_INVALID_PARAMETER,
    NDIS_STATUS_PENDING,
)
from condis.structs import NDIS_OID_REQUEST, NDIS_REQUEST_TYPE, Handler

__all__ = ["NDIS_OID_REQUEST", "NDIS_REQUEST_TYPE", "OidEngine", "PendingOid"]

handler("ProtocolCoOidRequest", "MiniportCoOidRequest", "ProtocolCoOidRequestComplete")


@dataclass(eq=False, slots=True)
class PendingOid:
    """NDIS's record of a request that its target pended."""

    op: Operation
    requester: DriverBlock
    #: the requester's (AfContext, VcContext, PartyContext) for ProtocolCoOidRequestComplete
    contexts: tuple[object, object, object]
    #: the requester's ProtocolCoOidRequestComplete
    complete_fn: Handler | None
    handle: NDIS_HANDLE
    #: the driver it is pending on: the one that received it, and so completes it
    target: DriverBlock
    #: the handle its completion passes: the miniport's adapter, or the AF
    completes_on: NDIS_HANDLE


class OidEngine(Engine):
    """The OID request DDIs and the requests pending on their targets."""

    __slots__ = ("_done", "_oids")

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self._oids: dict[NDIS_OID_REQUEST, PendingOid] = {}
        #: requests completed since they were last issued, while they exist
        self._done: weakref.WeakSet[NDIS_OID_REQUEST] = weakref.WeakSet()

    @property
    def pending_oid_requests(self) -> tuple[NDIS_OID_REQUEST, ...]:
        return tuple(self._oids)

    # --- issuing ---------------------------------------------------------------------------

    def _issue(
        self,
        name: str,
        call: DdiCall,
        request: NDIS_OID_REQUEST,
        kind: Pendable,
        *,
        requester: DriverBlock,
        target: DriverBlock,
        target_fn: Handler | None,
        target_args: tuple[object, ...],
        contexts: tuple[object, object, object],
        complete_fn: Handler | None,
        handle: NDIS_HANDLE,
        completes_on: NDIS_HANDLE,
        mcm: bool = False,
    ) -> NDIS_STATUS:
        if request in self._oids:
            self.k.violation(
                "NdisOidDoubleRequest",
                ddi=name,
                driver=requester,
                handle=handle,
                detail="this NDIS_OID_REQUEST is already pending",
                refused=True,
            )
            return call.status(NDIS_STATUS_FAILURE)
        self._done.discard(request)
        op = self.ops.start(kind, handle, mcm=mcm)
        call.op = op.id
        pending = PendingOid(op, requester, contexts, complete_fn, handle, target, completes_on)
        self._oids[request] = pending
        status, _, delivers = self.ops.run(
            op, target, target_fn, *target_args, request, handle=handle
        )
        if delivers:
            self._oids.pop(request, None)
        return call.status(status)

    @ddi("NdisCoOidRequest")
    def NdisCoOidRequest(
        self,
        NdisBindingHandle: BindingHandle,
        NdisAfHandle: AfHandle | None,
        NdisVcHandle: VcHandle | None,
        NdisPartyHandle: PartyHandle | None,
        OidRequest: NDIS_OID_REQUEST,
    ) -> NDIS_STATUS:
        """A client or call manager queries or sets information (nf-ndis-ndiscooidrequest).

        Returns the target's status (module docstring says which target);
        PENDING means ProtocolCoOidRequestComplete follows. NDIS returns
        INVALID_PARAMETER when the VC or party does not belong with the AF,
        and FAILURE when NdisAfHandle is not an AF of the caller's binding.
        """
        name = "NdisCoOidRequest"
        request = args.oid_request(name, OidRequest)
        binding = self.resolve.binding(name, "NdisBindingHandle", NdisBindingHandle)
        if binding is None:
            return NDIS_STATUS_FAILURE
        ok_af, af = self.resolve.optional(name, "NdisAfHandle", NdisAfHandle, AfHandle)
        ok_vc, vc = self.resolve.optional(name, "NdisVcHandle", NdisVcHandle, VcHandle)
        ok_party, party = self.resolve.optional(
            name, "NdisPartyHandle", NdisPartyHandle, PartyHandle
        )
        if not (ok_af and ok_vc and ok_party):
            return NDIS_STATUS_FAILURE
        caller = binding.protocol
        with self.k.begin(name, caller, handle=NdisBindingHandle) as c:
            if vc is not None and (not isinstance(vc, Vc) or vc.adapter is not binding.adapter):
                return c.status(NDIS_STATUS_INVALID_PARAMETER)
            if af is None:
                if party is not None:
                    return c.status(NDIS_STATUS_INVALID_PARAMETER)
                adapter = binding.adapter
                miniport = adapter.driver
                assert miniport.miniport_co is not None
                return self._issue(
                    name,
                    c,
                    request,
                    OPERATIONS["miniport-oid"],
                    requester=caller,
                    target=miniport,
                    target_fn=miniport.miniport_co.CoOidRequestHandler,
                    target_args=(adapter.context, None if vc is None else vc.miniport_vc_context),
                    contexts=self._own_contexts(caller, vc),
                    complete_fn=self._oid_complete_fn(binding),
                    handle=NdisBindingHandle,
                    completes_on=adapter.handle,
                )
            assert isinstance(af, OpenAddressFamily)
            if (vc is not None and vc.af is not af) or (
                party is not None and (not isinstance(party, Party) or party.call.vc.af is not af)
            ):
                return c.status(NDIS_STATUS_INVALID_PARAMETER)
            p = party if isinstance(party, Party) else None
            client_side = (af.client_context, _vc_ctx(vc, cm=False), _party_ctx(p, cm=False))
            cm_side = (af.cm_context, _vc_ctx(vc, cm=True), _party_ctx(p, cm=True))
            if af.client is binding and af.client_valid:
                # to the call manager; an MCM may complete with either spelling
                target, target_fn = af.cm, af.registration.cm_handlers.CmOidRequestHandler
                target_ctx, mine, mcm = cm_side, client_side, af.registration.is_mcm
            elif af.registration.binding is binding and af.cm_valid:
                handlers = af.client.client_handlers
                assert handlers is not None
                target, target_fn = af.client.protocol, handlers.ClOidRequestHandler
                target_ctx, mine, mcm = client_side, cm_side, False
            else:
                return c.status(NDIS_STATUS_FAILURE)
            return self._issue(
                name,
                c,
                request,
                OPERATIONS["protocol-oid"],
                requester=caller,
                target=target,
                target_fn=target_fn,
                target_args=target_ctx,
                contexts=mine,
                complete_fn=self._oid_complete_fn(binding),
                handle=af.handle,
                completes_on=af.handle,
                mcm=mcm,
            )

    @staticmethod
    def _own_contexts(caller: DriverBlock, vc: Vc | None) -> tuple[object, object, object]:
        if vc is None:
            return (None, None, None)
        if vc.af is not None and caller is vc.af.client.protocol:
            return (None, vc.client_context, None)
        return (None, vc.cm_context, None)

    @staticmethod
    def _oid_complete_fn(binding: Binding) -> Handler | None:
        """The binding's ProtocolCoOidRequestComplete (client or call-manager table)."""
        if binding.client_handlers is not None:
            return binding.client_handlers.ClOidRequestCompleteHandler
        if binding.cm_handlers is not None:
            return binding.cm_handlers.CmOidRequestCompleteHandler
        return None

    @ddi("NdisMCmOidRequest")
    def NdisMCmOidRequest(
        self,
        NdisAfHandle: AfHandle,
        NdisVcHandle: VcHandle | None,
        NdisPartyHandle: PartyHandle | None,
        NdisOidRequest: NDIS_OID_REQUEST,
    ) -> NDIS_STATUS:
        """An MCM queries or sets information in a client (nf-ndis-ndismcmoidrequest).

        Returns the client's status from ProtocolCoOidRequest; PENDING means
        the MCM's ProtocolCoOidRequestComplete follows.
        """
        name = "NdisMCmOidRequest"
        request = args.oid_request(name, NdisOidRequest)
        af = self.resolve.af_for_cm(name, NdisAfHandle)
        ok_vc, vc = self.resolve.optional(name, "NdisVcHandle", NdisVcHandle, VcHandle)
        ok_party, party = self.resolve.optional(
            name, "NdisPartyHandle", NdisPartyHandle, PartyHandle
        )
        if af is None or not (ok_vc and ok_party):
            return NDIS_STATUS_FAILURE
        with self.k.begin(name, af.cm, handle=af.handle) as c:
            if not af.registration.is_mcm:
                self.k.violation(
                    "CoNdisMcmSpelling",
                    ddi=name,
                    driver=af.cm,
                    handle=af.handle,
                    detail="only an MCM calls NdisMCmOidRequest; a call manager calls "
                    "NdisCoOidRequest",
                    refused=True,
                )
                return c.status(NDIS_STATUS_FAILURE)
            v = vc if isinstance(vc, Vc) else None
            p = party if isinstance(party, Party) else None
            if (v is not None and v.af is not af) or (p is not None and p.call.vc.af is not af):
                return c.status(NDIS_STATUS_INVALID_PARAMETER)
            handlers = af.client.client_handlers
            assert handlers is not None
            return self._issue(
                name,
                c,
                request,
                OPERATIONS["protocol-oid"],
                requester=af.cm,
                target=af.client.protocol,
                target_fn=handlers.ClOidRequestHandler,
                target_args=(af.client_context, _vc_ctx(v, cm=False), _party_ctx(p, cm=False)),
                contexts=(af.cm_context, _vc_ctx(v, cm=True), _party_ctx(p, cm=True)),
                complete_fn=af.registration.cm_handlers.CmOidRequestCompleteHandler,
                handle=af.handle,
                completes_on=af.handle,
            )

    # --- completion ------------------------------------------------------------------------------

    def _complete_oid(
        self,
        name: str,
        completer: DriverBlock | None,
        request: NDIS_OID_REQUEST,
        Status: object,
        handle: NDIS_HANDLE,
    ) -> None:
        status = args.status(name, "Status", Status)
        pending = self._oids.get(request)
        op_id = None if pending is None else pending.op.id
        with self.k.begin(name, completer, handle=handle, op=op_id) as c:
            refusal = self._refusal(name, completer, request, status, handle, pending)
            if refusal is not None:
                rule, detail = refusal
                self.k.violation(
                    rule, ddi=name, driver=completer, handle=handle, detail=detail, refused=True
                )
                return c.void()
            assert pending is not None
            row = pending.op.step(OpInput.COMPLETED)
            self.ops.retire(pending.op)
            self._oids.pop(request, None)
            self._done.add(request)
            if row.delivers:
                self.k.call_void(
                    pending.requester,
                    "ProtocolCoOidRequestComplete",
                    pending.complete_fn,
                    *pending.contexts,
                    request,
                    status,
                    handle=pending.handle,
                    op=pending.op.id,
                )
            return c.void()

    def _refusal(
        self,
        name: str,
        completer: DriverBlock | None,
        request: NDIS_OID_REQUEST,
        status: NDIS_STATUS,
        handle: NDIS_HANDLE,
        pending: PendingOid | None,
    ) -> tuple[str, str] | None:
        """The rule a completion breaks and what it did, in the order Windows checks."""
        if pending is None or not pending.op.outstanding:
            if request in self._done:
                return (
                    "NdisOidDoubleComplete",
                    "completes an OID request that is not pending (it was already completed)",
                )
            return "NdisInvalidOidCompletion", "completes an OID request that is not pending"
        if status == NDIS_STATUS_PENDING:
            return "NdisOidComplete", "completes an OID request with NDIS_STATUS_PENDING"
        if completer is not pending.target:
            return (
                "NdisInvalidOidCompletion",
                f"completes an OID request that is pending on {pending.target.name}, not on "
                f"{completer.name if completer else 'NDIS'}",
            )
        if name not in pending.op.completers:
            return (
                "CoNdisMcmSpelling",
                f"this request is completed with {' or '.join(pending.op.completers)}",
            )
        if handle is not pending.completes_on:
            return (
                "NdisInvalidOidCompletion",
                f"passes {handle.label}; the request is pending on {pending.completes_on.label}",
            )
        return None

    @ddi("NdisCoOidRequestComplete")
    def NdisCoOidRequestComplete(
        self,
        NdisAfHandle: AfHandle,
        NdisVcHandle: VcHandle | None,
        NdisPartyHandle: PartyHandle | None,
        OidRequest: NDIS_OID_REQUEST,
        Status: NDIS_STATUS,
    ) -> None:
        """A protocol completes an OID request it pended (nf-ndis-ndiscooidrequestcomplete)."""
        self._protocol_complete("NdisCoOidRequestComplete", NdisAfHandle, OidRequest, Status)

    @ddi("NdisMCmOidRequestComplete")
    def NdisMCmOidRequestComplete(
        self,
        NdisAfHandle: AfHandle,
        NdisVcHandle: VcHandle | None,
        NdisPartyHandle: PartyHandle | None,
        OidRequest: NDIS_OID_REQUEST,
        Status: NDIS_STATUS,
    ) -> None:
        """An MCM completes a client's OID request (macro for NdisCoOidRequestComplete)."""
        self._protocol_complete("NdisMCmOidRequestComplete", NdisAfHandle, OidRequest, Status)

    def _protocol_complete(
        self, name: str, NdisAfHandle: object, OidRequest: object, Status: object
    ) -> None:
        request = args.oid_request(name, OidRequest)
        af = self.resolve.af(name, NdisAfHandle)
        if af is None:
            return
        pending = self._oids.get(request)
        target = None if pending is None else pending.target
        self._complete_oid(name, self.k.current_driver or target, request, Status, af.handle)

    @ddi("NdisMCoOidRequestComplete")
    def NdisMCoOidRequestComplete(
        self,
        MiniportAdapterHandle: AdapterHandle,
        NdisMiniportVcHandle: VcHandle | None,
        Request: NDIS_OID_REQUEST,
        Status: NDIS_STATUS,
    ) -> None:
        """A miniport completes an OID request it pended (nf-ndis-ndismcooidrequestcomplete)."""
        name = "NdisMCoOidRequestComplete"
        request = args.oid_request(name, Request)
        adapter = self.resolve.adapter(name, MiniportAdapterHandle)
        if adapter is None:
            return None
        self._complete_oid(name, adapter.driver, request, Status, adapter.handle)


def _vc_ctx(vc: object, *, cm: bool) -> object:
    if not isinstance(vc, Vc):
        return None
    return vc.cm_context if cm else vc.client_context


def _party_ctx(party: Party | None, *, cm: bool) -> object:
    if party is None:
        return None
    return party.cm_context if cm else party.client_context
