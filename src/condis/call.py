"""Calls: outgoing, incoming, and their teardown.

Theory of operation (guide/making-a-call.md, indicating-an-incoming-call.md,
client-initiated-request-to-close-a-call.md, incoming-request-to-close-a-call.md
and the DDI pages below). A call lives on a VC; its life is `CALL_TRANSITIONS`.

    outgoing  NdisClMakeCall -> ProtocolCmMakeCall
              [PENDING -> Ndis(M)CmMakeCallComplete -> ProtocolClMakeCallComplete]
    incoming  Ndis(M)CmDispatchIncomingCall -> ProtocolClIncomingCall
              [PENDING -> NdisClIncomingCallComplete -> ProtocolCmIncomingCallComplete]
              then Ndis(M)CmDispatchCallConnected -> ProtocolClCallConnected
              (call_incoming.py)
    close     NdisClCloseCall -> ProtocolCmCloseCall
              [PENDING -> Ndis(M)CmCloseCallComplete -> ProtocolClCloseCallComplete]
    remote    Ndis(M)CmDispatchIncomingCloseCall -> ProtocolClIncomingCloseCall,
              in which the client calls NdisClCloseCall
              (call_close.py)

A client makes calls on VCs it created; a call manager dispatches incoming
calls on VCs it created for the client whose SAP the call is for. After a
call closes the VC is idle again: its creator may reuse it or delete it.

Choices the pages leave open, and what condis does:

* NdisClMakeCall on a VC that already carries a call returns
  NDIS_STATUS_CALL_ACTIVE; on a VC the client did not create, or whose AF is
  not open, NDIS_STATUS_FAILURE.
* A call manager must activate the VC before completing an outgoing call
  with NDIS_STATUS_SUCCESS or dispatching an incoming call
  (NdisCmMakeCallComplete and NdisCmDispatchIncomingCall remarks);
  otherwise CoNdisCallOnInactiveVc.
* A DDI used in a call state its page does not allow (a call connected that
  was never accepted, a close of a call that is not up) is CoNdisCallState,
  and the DDI does nothing else.
* ProtocolPartyContext given to NdisClMakeCall makes the call multipoint: NDIS
  issues an NdisPartyHandle for its first party (party.py adds and drops the
  others).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final, Protocol

import condis.args as args
from condis.core import Core, Engine
from condis.crossing import Returns, ddi, handler
from condis.handles import PartyHandle, VcHandle
from condis.kernel import Kernel
from condis.machines import CALL, VC, CallInput, CallState, PartyState, Transition, VcInput
from condis.ops import OPERATIONS, Operation
from condis.party import PartyEngine
from condis.records import Call, DriverBlock, OpenAddressFamily, Party, Vc
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_SUCCESS,
)
from condis.structs import CO_CALL_PARAMETERS
from condis.vc import VcEngine
from condis.verifier.leaks import Leak

__all__ = [
    "CALL_TRANSITIONS",
    "Call",
    "CallEngine",
    "CallEvents",
    "CallInput",
    "CallState",
    "Party",
    "refused_by_call",
    "require_active",
]

handler(
    "ProtocolCmMakeCall",
    "ProtocolClMakeCallComplete",
    "ProtocolClIncomingCall",
    "ProtocolCmIncomingCallComplete",
    "ProtocolClCallConnected",
    "ProtocolCmCloseCall",
    "ProtocolClCloseCallComplete",
    "ProtocolClIncomingCloseCall",
)


#: The legal rows of the call machine, as (state, input) -> next state.
CALL_TRANSITIONS: Final[Mapping[tuple[CallState, CallInput], CallState]] = CALL.targets()


class CallEvents(Protocol):
    """What the rest of the host hears when a call is over (lifecycle.py)."""

    def call_ended(self, call: Call, where: str, driver: DriverBlock) -> None:
        """`call` is over for good: its close completed with NDIS_STATUS_SUCCESS, or NDIS
        forgets it (its VC is deleted, or carries a new call)."""


def refused_by_call(
    k: Kernel, vc: Vc, event: CallInput, *, ddi: str, driver: DriverBlock, wanted: str
) -> Transition[CallState] | None:
    """The refusing row of `event` for the call on `vc`, reported, or None when the call
    (there is one) may take it. `wanted` ends the detail: what the DDI needs."""
    row = CALL.guard(vc.call_state, event)
    if not row.refused:
        return None
    state = "no call" if vc.call is None else f"a call {vc.call.state.value}"
    k.refuse(
        row,
        ddi=ddi,
        driver=driver,
        handle=vc.handle,
        detail=f"{vc.handle.label} has {state}{wanted}",
    )
    return row


def require_active(k: Kernel, name: str, driver: DriverBlock, vc: Vc, *, refused: bool) -> None:
    """A call is set up only on an active VC (CoNdisCallOnInactiveVc otherwise)."""
    row = VC.guard(vc.state, VcInput.CONNECT)
    if row.refused:
        assert row.rule is not None
        k.violation(
            row.rule,
            ddi=name,
            driver=driver,
            handle=vc.handle,
            detail=f"{vc.handle.label} is {vc.state.value}; activate it first",
            refused=refused,
        )


class CallEngine(Engine):
    """Outgoing calls, and which call is filed on each VC."""

    __slots__ = ("_events", "_party", "_vcs")

    def __init__(self, core: Core, vcs: VcEngine, parties: PartyEngine, events: CallEvents) -> None:
        super().__init__(core)
        self._vcs = vcs
        self._party = parties
        self._events = events

    @property
    def calls(self) -> tuple[Call, ...]:
        """Every call that is not closed."""
        return tuple(v.call for v in self._vcs.vcs if v.call is not None and v.call.live)

    def call_on(self, vc_handle: VcHandle) -> Call | None:
        """The live call on a VC, if any."""
        vc = self.k.handles.lookup(vc_handle)
        call = vc.call if isinstance(vc, Vc) else None
        return call if call is not None and call.live else None

    def file(self, vc: Vc, call: Call, where: str, driver: DriverBlock) -> None:
        """Make `call` the call on `vc`, in place of the one that ended there, if any."""
        old = vc.call
        if old is not None:
            self._events.call_ended(old, where, driver)
        vc.call = call

    @staticmethod
    def operations_on(af: OpenAddressFamily) -> Iterator[Operation]:
        """The make, incoming and close operations of the calls on `af`'s VCs."""
        for vc in af.vcs:
            call = vc.call
            if call is not None:
                yield from (o for o in (call.make_op, call.incoming_op, call.close_op) if o)

    def leaks(self) -> Iterator[Leak]:
        for call in self.calls:
            client = None if call.vc.af is None else call.vc.af.client.protocol.name
            yield Leak("call", call.vc.handle.label, client, f"still {call.state.value}").at(
                call.vc.handle.born
            )

    def invariants(self) -> Iterator[str]:
        for vc in self._vcs.vcs:
            if vc.call is not None and vc.call.vc is not vc:
                yield f"the call filed under {vc.handle.label} is on {vc.call.vc.handle.label}"

    # --- outgoing calls ---------------------------------------------------------------------

    @ddi("NdisClMakeCall")
    def NdisClMakeCall(
        self,
        NdisVcHandle: VcHandle,
        CallParameters: CO_CALL_PARAMETERS,
        ProtocolPartyContext: object = None,
    ) -> tuple[NDIS_STATUS, PartyHandle | None]:
        """A client makes an outgoing call on a VC it created (nf-ndis-ndisclmakecall).

        Returns (status, NdisPartyHandle): the call manager's status from
        ProtocolCmMakeCall (SUCCESS, PENDING, RESOURCES, NOT_SUPPORTED or
        another failure), NDIS's CALL_ACTIVE when the VC already carries a
        call, or FAILURE when the VC is not the client's or its AF is not
        open. NdisPartyHandle is issued when ProtocolPartyContext is given
        (a multipoint call).
        """
        name = "NdisClMakeCall"
        params = args.call_parameters(name, CallParameters)
        vc = self.resolve.client_vc(name, NdisVcHandle)
        if vc is None:
            return NDIS_STATUS_FAILURE, None
        assert vc.af is not None
        client = vc.af.client.protocol
        with self.k.begin(name, client, handle=vc.handle) as call_ddi:
            if vc.creator is not client or not vc.af.client_valid:
                return call_ddi.status(NDIS_STATUS_FAILURE), None
            row = CALL.guard(vc.call_state, CallInput.REPLACE)
            if row.refused:  # the VC carries a call
                return call_ddi.status(
                    self.k.refuse(
                        row, ddi=name, driver=client, handle=vc.handle, detail="a call is active"
                    )
                ), None
            reg = vc.af.registration
            call = Call(vc=vc, outgoing=True, parameters=params, state=CallState.MAKING)
            # Filed first, as for an incoming call: filing ends the VC's last call,
            # which can stop the host, before anything of the new call is made.
            self.file(vc, call, name, client)
            party = (
                None
                if ProtocolPartyContext is None
                else self._party.new(call, ProtocolPartyContext)
            )
            op = call.make_op = self.ops.start(OPERATIONS["make-call"], vc.handle, mcm=reg.is_mcm)
            call_ddi.op = op.id
            status, party_context, delivers = self.ops.run(
                op,
                reg.cm,
                reg.cm_handlers.CmMakeCallHandler,
                vc.cm_context,
                params,
                None if party is None else party.handle,
                handle=vc.handle,
                returns=Returns.STATUS_OUT,
            )
            if delivers:
                self._made(call, status, party_context, "ProtocolCmMakeCall")
            party_handle = (
                None if party is None or party.state is PartyState.DROPPED else party.handle
            )
            return call_ddi.status(status, result=party_handle), party_handle

    def _made(self, call: Call, status: NDIS_STATUS, party_context: object, where: str) -> None:
        if status == NDIS_STATUS_SUCCESS:
            assert call.vc.cm is not None
            require_active(self.k, where, call.vc.cm, call.vc, refused=False)
            call.move(CallInput.MAKE_SUCCEEDED)
            self._party.connect_call(call, party_context)
        else:
            call.move(CallInput.MAKE_FAILED)
            self._party.close_call(call)

    def _make_call_complete(
        self,
        spelling: str,
        Status: object,
        NdisVcHandle: object,
        NdisPartyHandle: object,
        CallMgrPartyContext: object,
        CallParameters: object,
    ) -> None:
        status = args.status(spelling, "Status", Status)
        params = args.call_parameters(spelling, CallParameters)
        vc = self.resolve.vc(spelling, NdisVcHandle)
        if vc is None or vc.cm is None:
            return None
        call = vc.call
        op = None if call is None else call.make_op
        with self.k.begin(spelling, vc.cm, handle=vc.handle, op=None if op is None else op.id) as c:
            if not self.ops.complete(op, spelling, vc.cm, vc.handle, status) or call is None:
                return c.void()
            party = call.parties[0] if call.parties else None
            call.parameters = params
            self._made(call, status, CallMgrPartyContext, spelling)
            self.k.call_void(
                vc.af.client.protocol if vc.af else vc.creator,
                "ProtocolClMakeCallComplete",
                vc.client_handlers.ClMakeCallCompleteHandler,
                status,
                vc.client_context,
                None if party is None or status != NDIS_STATUS_SUCCESS else party.handle,
                params,
                handle=vc.handle,
                op=op.id if op else None,
            )
            return c.void()

    @ddi("NdisCmMakeCallComplete")
    def NdisCmMakeCallComplete(
        self,
        Status: NDIS_STATUS,
        NdisVcHandle: VcHandle,
        NdisPartyHandle: PartyHandle | None,
        CallMgrPartyContext: object,
        CallParameters: CO_CALL_PARAMETERS,
    ) -> None:
        """A stand-alone call manager completes a pended outgoing call; NDIS calls the
        client's ProtocolClMakeCallComplete (nf-ndis-ndiscmmakecallcomplete)."""
        self._make_call_complete(
            "NdisCmMakeCallComplete",
            Status,
            NdisVcHandle,
            NdisPartyHandle,
            CallMgrPartyContext,
            CallParameters,
        )

    @ddi("NdisMCmMakeCallComplete")
    def NdisMCmMakeCallComplete(
        self,
        Status: NDIS_STATUS,
        NdisVcHandle: VcHandle,
        NdisPartyHandle: PartyHandle | None,
        CallMgrPartyContext: object,
        CallParameters: CO_CALL_PARAMETERS,
    ) -> None:
        """An MCM completes a pended outgoing call (macro for NdisCmMakeCallComplete)."""
        self._make_call_complete(
            "NdisMCmMakeCallComplete",
            Status,
            NdisVcHandle,
            NdisPartyHandle,
            CallMgrPartyContext,
            CallParameters,
        )
