"""Parties of point-to-multipoint calls.

Theory of operation (guide/parties.md, adding-a-party-to-a-multipoint-call.md,
dropping-a-party-from-a-multipoint-call.md,
incoming-request-to-drop-a-party-from-a-multipoint-call.md and the DDI pages
below). A client makes a multipoint call by giving NdisClMakeCall a
ProtocolPartyContext (call.py issues the first NdisPartyHandle), then:

    add      NdisClAddParty -> ProtocolCmAddParty
             [PENDING -> Ndis(M)CmAddPartyComplete -> ProtocolClAddPartyComplete]
    drop     NdisClDropParty -> ProtocolCmDropParty
             [PENDING -> Ndis(M)CmDropPartyComplete -> ProtocolClDropPartyComplete]
    remote   Ndis(M)CmDispatchIncomingDropParty -> ProtocolClIncomingDropParty,
             in which the client calls NdisClDropParty

The last party goes with the call: a client drops every party but one and
closes the call with the last (NdisClDropParty's page).

Choices the pages leave open, and what condis does:

* NdisClAddParty on a VC whose call is not a connected multipoint call
  returns NDIS_STATUS_FAILURE.
* NdisClDropParty on the call's last party is CoNdisDropLastParty and returns
  NDIS_STATUS_FAILURE: the client must close the call instead.
* The NdisPartyHandle is invalid for the client from its NdisClDropParty on
  ("should consider the input NdisPartyHandle invalid as soon as it makes this
  call"); a failed drop leaves the party connected and its handle valid.
* An add that fails (synchronously or on completion) leaves no party.
"""

from __future__ import annotations

from typing import Any

from condis.call import CallState, Party
from condis.crossing import Returns, ddi, handler
from condis.handles import PartyHandle, VcHandle
from condis.machines import PartyInput, PartyState
from condis.ops import Operation
from condis.qos import QosMixin
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_SUCCESS,
)
from condis.structs import CO_CALL_PARAMETERS

__all__ = ["PartyMixin"]

handler(
    "ProtocolCmAddParty",
    "ProtocolClAddPartyComplete",
    "ProtocolCmDropParty",
    "ProtocolClDropPartyComplete",
    "ProtocolClIncomingDropParty",
)


class PartyMixin(QosMixin):
    """The party DDIs."""

    @property
    def parties(self) -> tuple[Party, ...]:
        """Every party not yet dropped."""
        return tuple(p for p in self._parties if p.state is not PartyState.DROPPED)

    def _af_operations(self, af: Any) -> list[Operation]:
        ops = super()._af_operations(af)
        for party in self._parties:
            if party.call.vc.af is af:
                ops.extend(o for o in (party.add_op, party.drop_op) if o is not None)
        return ops

    def _party_for(self, name: str, handle: object) -> Party | None:
        party = self._resolve(name, "NdisPartyHandle", handle, PartyHandle)
        return party if isinstance(party, Party) else None

    # --- add -------------------------------------------------------------------------------

    @ddi("NdisClAddParty")
    def NdisClAddParty(
        self,
        NdisVcHandle: VcHandle,
        ProtocolPartyContext: object,
        CallParameters: CO_CALL_PARAMETERS,
    ) -> tuple[NDIS_STATUS, PartyHandle | None]:
        """A client adds a party to its multipoint call (nf-ndis-ndiscladdparty).

        Returns (status, NdisPartyHandle): the call manager's status from
        ProtocolCmAddParty, or NDIS's FAILURE when the VC has no connected
        multipoint call.
        """
        name = "NdisClAddParty"
        params = self._params_arg(name, CallParameters)
        vc = self._client_vc(name, NdisVcHandle)
        if vc is None:
            return NDIS_STATUS_FAILURE, None
        assert vc.af is not None
        client = vc.af.client.protocol
        with self._begin(name, client, handle=vc.handle) as c:
            call = vc.call
            if call is None or call.state is not CallState.CONNECTED or not call.multipoint:
                return c.status(NDIS_STATUS_FAILURE), None
            reg = vc.af.registration
            party = self._new_party(call, ProtocolPartyContext)
            op = self._new_op(
                "add-party", "ProtocolCmAddParty", (reg.spelling("AddPartyComplete"),), party.handle
            )
            party.add_op = op
            c.handle, c.op = party.handle, op.id
            status, context = self._invoke(
                reg.cm,
                "ProtocolCmAddParty",
                reg.cm_handlers.CmAddPartyHandler,
                vc.cm_context,
                params,
                party.handle,
                handle=party.handle,
                op=op.id,
                returns=Returns.STATUS_OUT,
            )
            assert status is not None
            delivers = self._returned(op, status, "ProtocolCmAddParty", reg.cm, party.handle)
            if delivers:
                self._added(party, status, context)
            handle = None if party.state is PartyState.DROPPED else party.handle
            return c.status(status, result=handle), handle

    def _added(self, party: Party, status: NDIS_STATUS, context: object) -> None:
        if status == NDIS_STATUS_SUCCESS:
            party.move(PartyInput.ADD_SUCCEEDED)
            party.cm_context = context
        else:
            self._drop_party_record(party, PartyInput.ADD_FAILED)

    def _add_party_complete(
        self,
        spelling: str,
        Status: object,
        NdisPartyHandle: object,
        CallMgrPartyContext: object,
        CallParameters: object,
    ) -> None:
        status = self._status_arg(spelling, "Status", Status)
        params = self._params_arg(spelling, CallParameters)
        party = self._party_for(spelling, NdisPartyHandle)
        if party is None or party.call.vc.af is None:
            return None
        vc = party.call.vc
        assert vc.af is not None
        cm = vc.af.cm
        op = party.add_op
        with self._begin(spelling, cm, handle=party.handle, op=None if op is None else op.id) as c:
            if not self._complete_op(op, spelling, cm, party.handle, status):
                return c.void()
            self._added(party, status, CallMgrPartyContext)
            self._call_void(
                vc.af.client.protocol,
                "ProtocolClAddPartyComplete",
                self._client_handlers(vc).ClAddPartyCompleteHandler,
                status,
                party.client_context,
                party.handle if status == NDIS_STATUS_SUCCESS else None,
                params,
                handle=party.handle,
                op=None if op is None else op.id,
            )
            return c.void()

    @ddi("NdisCmAddPartyComplete")
    def NdisCmAddPartyComplete(
        self,
        Status: NDIS_STATUS,
        NdisPartyHandle: PartyHandle,
        CallMgrPartyContext: object,
        CallParameters: CO_CALL_PARAMETERS,
    ) -> None:
        """A stand-alone call manager completes a pended add-party; NDIS calls the
        client's ProtocolClAddPartyComplete."""
        self._add_party_complete(
            "NdisCmAddPartyComplete", Status, NdisPartyHandle, CallMgrPartyContext, CallParameters
        )

    @ddi("NdisMCmAddPartyComplete")
    def NdisMCmAddPartyComplete(
        self,
        Status: NDIS_STATUS,
        NdisPartyHandle: PartyHandle,
        CallMgrPartyContext: object,
        CallParameters: CO_CALL_PARAMETERS,
    ) -> None:
        """An MCM completes a pended add-party (macro for NdisCmAddPartyComplete)."""
        self._add_party_complete(
            "NdisMCmAddPartyComplete", Status, NdisPartyHandle, CallMgrPartyContext, CallParameters
        )

    # --- drop ------------------------------------------------------------------------------

    @ddi("NdisClDropParty")
    def NdisClDropParty(
        self, NdisPartyHandle: PartyHandle, Buffer: bytes | None = None, Size: int = 0
    ) -> NDIS_STATUS:
        """A client drops a party (nf-ndis-ndiscldropparty).

        Returns the call manager's status from ProtocolCmDropParty, or
        FAILURE for the call's last party (close the call instead) or a party
        that is not connected.
        """
        name = "NdisClDropParty"
        if Buffer is not None and not isinstance(Buffer, bytes | bytearray):
            raise TypeError(f"{name}: Buffer must be bytes or None, not {type(Buffer).__name__}")
        if isinstance(Size, bool) or not isinstance(Size, int) or Size < 0:
            raise ValueError(f"{name}: Size must be a non-negative int, not {Size!r}")
        party = self._party_for(name, NdisPartyHandle)
        if party is None or party.call.vc.af is None:
            return NDIS_STATUS_FAILURE
        vc = party.call.vc
        assert vc.af is not None
        client = vc.af.client.protocol
        with self._begin(name, client, handle=party.handle) as c:
            if party.state not in (PartyState.CONNECTED, PartyState.DROP_INDICATED):
                return c.status(NDIS_STATUS_FAILURE)
            live = [p for p in party.call.parties if p.state is not PartyState.DROPPED]
            if live == [party]:
                self._violation(
                    "CoNdisDropLastParty",
                    ddi=name,
                    driver=client,
                    handle=party.handle,
                    detail=f"{party.handle.label} is the last party on {vc.handle.label}; "
                    "close the call with NdisClCloseCall instead",
                    refused=True,
                )
                return c.status(NDIS_STATUS_FAILURE)
            reg = vc.af.registration
            party.move(PartyInput.DROP)
            op = self._new_op(
                "drop-party",
                "ProtocolCmDropParty",
                (reg.spelling("DropPartyComplete"),),
                party.handle,
            )
            party.drop_op = op
            c.op = op.id
            status = self._call_status(
                reg.cm,
                "ProtocolCmDropParty",
                reg.cm_handlers.CmDropPartyHandler,
                party.cm_context,
                Buffer,
                Size,
                handle=party.handle,
                op=op.id,
            )
            delivers = self._returned(op, status, "ProtocolCmDropParty", reg.cm, party.handle)
            if delivers:
                self._dropped(party, status)
            return c.status(status)

    def _dropped(self, party: Party, status: NDIS_STATUS) -> None:
        if status == NDIS_STATUS_SUCCESS:
            self._drop_party_record(party, PartyInput.DROP_SUCCEEDED)
        else:
            party.move(PartyInput.DROP_FAILED)

    def _drop_party_complete(self, spelling: str, Status: object, NdisPartyHandle: object) -> None:
        status = self._status_arg(spelling, "Status", Status)
        party = self._party_for(spelling, NdisPartyHandle)
        if party is None or party.call.vc.af is None:
            return None
        vc = party.call.vc
        assert vc.af is not None
        cm = vc.af.cm
        op = party.drop_op
        with self._begin(spelling, cm, handle=party.handle, op=None if op is None else op.id) as c:
            if not self._complete_op(op, spelling, cm, party.handle, status):
                return c.void()
            context = party.client_context
            self._dropped(party, status)
            self._call_void(
                vc.af.client.protocol,
                "ProtocolClDropPartyComplete",
                self._client_handlers(vc).ClDropPartyCompleteHandler,
                status,
                context,
                handle=party.handle,
                op=None if op is None else op.id,
            )
            return c.void()

    @ddi("NdisCmDropPartyComplete")
    def NdisCmDropPartyComplete(self, Status: NDIS_STATUS, NdisPartyHandle: PartyHandle) -> None:
        """A stand-alone call manager completes a pended drop; NDIS calls the client's
        ProtocolClDropPartyComplete."""
        self._drop_party_complete("NdisCmDropPartyComplete", Status, NdisPartyHandle)

    @ddi("NdisMCmDropPartyComplete")
    def NdisMCmDropPartyComplete(self, Status: NDIS_STATUS, NdisPartyHandle: PartyHandle) -> None:
        """An MCM completes a pended drop (macro for NdisCmDropPartyComplete)."""
        self._drop_party_complete("NdisMCmDropPartyComplete", Status, NdisPartyHandle)

    def _incoming_drop(
        self,
        spelling: str,
        DropStatus: object,
        NdisPartyHandle: object,
        Buffer: object,
        Size: object,
    ) -> None:
        if isinstance(DropStatus, bool) or not isinstance(DropStatus, int):
            raise TypeError(f"{spelling}: DropStatus must be an NDIS_STATUS")
        if Buffer is not None and not isinstance(Buffer, bytes | bytearray):
            raise TypeError(
                f"{spelling}: Buffer must be bytes or None, not {type(Buffer).__name__}"
            )
        if isinstance(Size, bool) or not isinstance(Size, int) or Size < 0:
            raise ValueError(f"{spelling}: Size must be a non-negative int, not {Size!r}")
        party = self._party_for(spelling, NdisPartyHandle)
        if party is None or party.call.vc.af is None:
            return None
        vc = party.call.vc
        if not self._spelled_for(spelling, vc):
            return None
        assert vc.af is not None
        cm = vc.af.cm
        with self._begin(spelling, cm, handle=party.handle) as c:
            if party.state is not PartyState.CONNECTED:
                self._call_state_violation(
                    spelling, cm, vc, f"{party.handle.label} is {party.state}, not connected"
                )
                return c.void()
            party.move(PartyInput.INCOMING_DROP)
            self._call_void(
                vc.af.client.protocol,
                "ProtocolClIncomingDropParty",
                self._client_handlers(vc).ClIncomingDropPartyHandler,
                NDIS_STATUS(DropStatus),
                party.client_context,
                Buffer,
                Size,
                handle=party.handle,
            )
            return c.void()

    @ddi("NdisCmDispatchIncomingDropParty")
    def NdisCmDispatchIncomingDropParty(
        self, DropStatus: NDIS_STATUS, NdisPartyHandle: PartyHandle, Buffer: bytes | None, Size: int
    ) -> None:
        """A stand-alone call manager tells the client a remote party left; NDIS calls
        ProtocolClIncomingDropParty, in which the client drops the party."""
        self._incoming_drop(
            "NdisCmDispatchIncomingDropParty", DropStatus, NdisPartyHandle, Buffer, Size
        )

    @ddi("NdisMCmDispatchIncomingDropParty")
    def NdisMCmDispatchIncomingDropParty(
        self, DropStatus: NDIS_STATUS, NdisPartyHandle: PartyHandle, Buffer: bytes | None, Size: int
    ) -> None:
        """An MCM indicates a remote drop (macro for NdisCmDispatchIncomingDropParty)."""
        self._incoming_drop(
            "NdisMCmDispatchIncomingDropParty", DropStatus, NdisPartyHandle, Buffer, Size
        )
