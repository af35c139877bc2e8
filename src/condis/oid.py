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
from typing import Any

from condis.call import Party
from condis.crossing import ddi, handler
from condis.drivers import DriverBlock
from condis.handles import (
    NDIS_HANDLE,
    AdapterHandle,
    AfHandle,
    BindingHandle,
    PartyHandle,
    VcHandle,
)
from condis.ops import Operation, OpInput
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_INVALID_PARAMETER,
    NDIS_STATUS_PENDING,
)
from condis.status_ind import StatusIndicationMixin
from condis.structs import NDIS_OID_REQUEST, NDIS_REQUEST_TYPE, Handler
from condis.vc import Vc

__all__ = ["NDIS_OID_REQUEST", "NDIS_REQUEST_TYPE", "OidMixin"]

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


class OidMixin(StatusIndicationMixin):
    """The OID request DDIs."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._oids: dict[NDIS_OID_REQUEST, PendingOid] = {}
        #: requests completed since they were last issued, while they exist
        self._oid_done: weakref.WeakSet[NDIS_OID_REQUEST] = weakref.WeakSet()

    @property
    def pending_oid_requests(self) -> tuple[NDIS_OID_REQUEST, ...]:
        return tuple(self._oids)

    @staticmethod
    def _request_arg(name: str, value: object) -> NDIS_OID_REQUEST:
        if value is None:
            raise ValueError(f"{name}: OidRequest is required (got None)")
        if not isinstance(value, NDIS_OID_REQUEST):
            raise TypeError(
                f"{name}: OidRequest must be an NDIS_OID_REQUEST, not {type(value).__name__}"
            )
        return value

    # --- issuing ------------------------------------------------------------------------------

    def _issue(
        self,
        name: str,
        requester: DriverBlock,
        request: NDIS_OID_REQUEST,
        *,
        target: DriverBlock,
        target_name: str,
        target_fn: Any,
        target_args: tuple[object, ...],
        completers: tuple[str, ...],
        contexts: tuple[object, object, object],
        complete_fn: Any,
        handle: Any,
        completes_on: Any,
        call: Any,
    ) -> NDIS_STATUS:
        if request in self._oids:
            self._violation(
                "NdisOidDoubleRequest",
                ddi=name,
                driver=requester,
                handle=handle,
                detail="this NDIS_OID_REQUEST is already pending",
                refused=True,
            )
            return call.status(NDIS_STATUS_FAILURE)  # type: ignore[no-any-return]
        self._oid_done.discard(request)
        op = self._new_op("oid-request", target_name, completers, handle)
        call.op = op.id
        pending = PendingOid(op, requester, contexts, complete_fn, handle, target, completes_on)
        self._oids[request] = pending
        status = self._call_status(
            target, target_name, target_fn, *target_args, request, handle=handle, op=op.id
        )
        delivers = self._returned(op, status, target_name, target, handle)
        if delivers:
            self._oids.pop(request, None)
        return call.status(status)  # type: ignore[no-any-return]

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
        request = self._request_arg(name, OidRequest)
        binding = self._binding_for(name, "NdisBindingHandle", NdisBindingHandle)
        if binding is None:
            return NDIS_STATUS_FAILURE
        ok_af, af = self._optional(name, "NdisAfHandle", NdisAfHandle, AfHandle)
        ok_vc, vc = self._optional(name, "NdisVcHandle", NdisVcHandle, VcHandle)
        ok_party, party = self._optional(name, "NdisPartyHandle", NdisPartyHandle, PartyHandle)
        if not (ok_af and ok_vc and ok_party):
            return NDIS_STATUS_FAILURE
        caller = binding.protocol
        with self._begin(name, caller, handle=NdisBindingHandle) as c:
            if vc is not None and (not isinstance(vc, Vc) or vc.adapter is not binding.adapter):
                return c.status(NDIS_STATUS_INVALID_PARAMETER)
            if af is None:
                if party is not None:
                    return c.status(NDIS_STATUS_INVALID_PARAMETER)
                adapter = binding.adapter
                miniport = adapter.driver
                assert miniport.miniport_co is not None
                vc_context = None if vc is None else self._miniport_vc_context(vc)
                own_contexts = self._own_contexts(caller, vc, None)
                return self._issue(
                    name,
                    caller,
                    request,
                    target=miniport,
                    target_name="MiniportCoOidRequest",
                    target_fn=miniport.miniport_co.CoOidRequestHandler,
                    target_args=(adapter.context, vc_context),
                    completers=("NdisMCoOidRequestComplete",),
                    contexts=own_contexts,
                    complete_fn=self._oid_complete_fn(binding),
                    handle=NdisBindingHandle,
                    completes_on=adapter.handle,
                    call=c,
                )
            if (vc is not None and vc.af is not af) or (
                party is not None and (not isinstance(party, Party) or party.call.vc.af is not af)
            ):
                return c.status(NDIS_STATUS_INVALID_PARAMETER)
            if af.client is binding and af.client_valid:
                target, handlers = af.cm, af.registration.cm_handlers
                target_fn = handlers.CmOidRequestHandler
                target_ctx = (af.cm_context, self._cm_vc_ctx(vc), self._party_ctx(party, cm=True))
                mine = (
                    af.client_context,
                    self._client_vc_ctx(vc),
                    self._party_ctx(party, cm=False),
                )
                # an MCM may complete with either spelling: its macro expands to the other
                completers = ("NdisCoOidRequestComplete",) + (
                    ("NdisMCmOidRequestComplete",) if af.registration.is_mcm else ()
                )
            elif af.registration.binding is binding and af.cm_valid:
                target = af.client.protocol
                client_handlers = af.client.client_handlers
                target_fn = client_handlers.ClOidRequestHandler
                target_ctx = (
                    af.client_context,
                    self._client_vc_ctx(vc),
                    self._party_ctx(party, cm=False),
                )
                mine = (af.cm_context, self._cm_vc_ctx(vc), self._party_ctx(party, cm=True))
                completers = ("NdisCoOidRequestComplete",)
            else:
                return c.status(NDIS_STATUS_FAILURE)
            return self._issue(
                name,
                caller,
                request,
                target=target,
                target_name="ProtocolCoOidRequest",
                target_fn=target_fn,
                target_args=target_ctx,
                completers=completers,
                contexts=mine,
                complete_fn=self._oid_complete_fn(binding),
                handle=af.handle,
                completes_on=af.handle,
                call=c,
            )

    @staticmethod
    def _client_vc_ctx(vc: Vc | None) -> object:
        return None if vc is None else vc.client_context

    @staticmethod
    def _cm_vc_ctx(vc: Vc | None) -> object:
        return None if vc is None else vc.cm_context

    @staticmethod
    def _party_ctx(party: Party | None, *, cm: bool) -> object:
        if party is None:
            return None
        return party.cm_context if cm else party.client_context

    def _own_contexts(
        self, caller: DriverBlock, vc: Vc | None, party: Party | None
    ) -> tuple[object, object, object]:
        if vc is None:
            return (None, None, None)
        if vc.af is not None and caller is vc.af.client.protocol:
            return (None, vc.client_context, None)
        return (None, vc.cm_context, None)

    @staticmethod
    def _oid_complete_fn(binding: Any) -> Any:
        """The binding's ProtocolCoOidRequestComplete (client or call-manager table)."""
        if binding.is_client:
            return binding.client_handlers.ClOidRequestCompleteHandler
        if binding.is_call_manager:
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
        request = self._request_arg(name, NdisOidRequest)
        af = self._af_for_cm(name, NdisAfHandle)
        ok_vc, vc = self._optional(name, "NdisVcHandle", NdisVcHandle, VcHandle)
        ok_party, party = self._optional(name, "NdisPartyHandle", NdisPartyHandle, PartyHandle)
        if af is None or not (ok_vc and ok_party):
            return NDIS_STATUS_FAILURE
        with self._begin(name, af.cm, handle=af.handle) as c:
            if not af.registration.is_mcm:
                self._violation(
                    "CoNdisMcmSpelling",
                    ddi=name,
                    driver=af.cm,
                    handle=af.handle,
                    detail="only an MCM calls NdisMCmOidRequest; a call manager calls "
                    "NdisCoOidRequest",
                    refused=True,
                )
                return c.status(NDIS_STATUS_FAILURE)
            if (vc is not None and vc.af is not af) or (
                party is not None and party.call.vc.af is not af
            ):
                return c.status(NDIS_STATUS_INVALID_PARAMETER)
            handlers = af.client.client_handlers
            assert handlers is not None
            return self._issue(
                name,
                af.cm,
                request,
                target=af.client.protocol,
                target_name="ProtocolCoOidRequest",
                target_fn=handlers.ClOidRequestHandler,
                target_args=(
                    af.client_context,
                    self._client_vc_ctx(vc),
                    self._party_ctx(party, cm=False),
                ),
                completers=("NdisCoOidRequestComplete",),
                contexts=(af.cm_context, self._cm_vc_ctx(vc), self._party_ctx(party, cm=True)),
                complete_fn=af.registration.cm_handlers.CmOidRequestCompleteHandler,
                handle=af.handle,
                completes_on=af.handle,
                call=c,
            )

    # --- completion -----------------------------------------------------------------------------

    def _complete_oid(
        self,
        name: str,
        completer: DriverBlock | None,
        request: NDIS_OID_REQUEST,
        Status: object,
        handle: Any,
    ) -> None:
        if isinstance(Status, bool) or not isinstance(Status, int):
            raise TypeError(f"{name}: Status must be an NDIS_STATUS, not {type(Status).__name__}")
        status = NDIS_STATUS(Status)
        pending = self._oids.get(request)
        op_id = None if pending is None else pending.op.id
        with self._begin(name, completer, handle=handle, op=op_id) as c:
            if pending is None or not pending.op.outstanding:
                rule = (
                    "NdisOidDoubleComplete"
                    if request in self._oid_done
                    else ("NdisInvalidOidCompletion")
                )
                self._violation(
                    rule,
                    ddi=name,
                    driver=completer,
                    handle=handle,
                    detail="completes an OID request that is not pending"
                    + (" (it was already completed)" if rule == "NdisOidDoubleComplete" else ""),
                    refused=True,
                )
                return c.void()
            if status == NDIS_STATUS_PENDING:
                self._violation(
                    "NdisOidComplete",
                    ddi=name,
                    driver=completer,
                    handle=handle,
                    detail="completes an OID request with NDIS_STATUS_PENDING",
                    refused=True,
                )
                return c.void()
            if completer is not pending.target:
                self._violation(
                    "NdisInvalidOidCompletion",
                    ddi=name,
                    driver=completer,
                    handle=handle,
                    detail=f"completes an OID request that is pending on "
                    f"{pending.target.name}, not on {completer.name if completer else 'NDIS'}",
                    refused=True,
                )
                return c.void()
            if name not in pending.op.completers:
                self._violation(
                    "CoNdisMcmSpelling",
                    ddi=name,
                    driver=completer,
                    handle=handle,
                    detail=f"this request is completed with {' or '.join(pending.op.completers)}",
                    refused=True,
                )
                return c.void()
            if handle is not pending.completes_on:
                self._violation(
                    "NdisInvalidOidCompletion",
                    ddi=name,
                    driver=completer,
                    handle=handle,
                    detail=f"passes {handle.label}; the request is pending on "
                    f"{pending.completes_on.label}",
                    refused=True,
                )
                return c.void()
            row = pending.op.step(OpInput.COMPLETED)
            self._retire_op(pending.op)
            self._oids.pop(request, None)
            self._oid_done.add(request)
            if row.delivers:
                self._call_void(
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
        name = "NdisCoOidRequestComplete"
        request = self._request_arg(name, OidRequest)
        af = self._resolve(name, "NdisAfHandle", NdisAfHandle, AfHandle)
        if af is None:
            return None
        self._complete_oid(
            name, self.current_driver or self._oid_target(request), request, Status, NdisAfHandle
        )

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
        name = "NdisMCmOidRequestComplete"
        request = self._request_arg(name, OidRequest)
        af = self._resolve(name, "NdisAfHandle", NdisAfHandle, AfHandle)
        if af is None:
            return None
        self._complete_oid(
            name, self.current_driver or self._oid_target(request), request, Status, NdisAfHandle
        )

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
        request = self._request_arg(name, Request)
        adapter = self._adapter_for(name, MiniportAdapterHandle)
        if adapter is None:
            return None
        self._complete_oid(name, adapter.driver, request, Status, MiniportAdapterHandle)

    def _oid_target(self, request: NDIS_OID_REQUEST) -> DriverBlock | None:
        pending = self._oids.get(request)
        return None if pending is None else pending.target
