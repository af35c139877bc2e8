"""Parties of point-to-multipoint calls.

Theory of operation (guide/parties.md, adding-a-party-to-a-multipoint-call.md,
dropping-a-party-from-a-multipoint-call.md,
incoming-request-to-drop-a-party-from-a-multipoint-call.md and the DDI pages
below). A client makes a multipoint call by giving NdisClMakeCall a
ProtocolPartyContext (call.py asks this engine for the first NdisPartyHandle),
then:

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

from collections.abc import Iterable, Iterator

import condis.args as args
from condis.core import Core, Engine
from condis.crossing import Returns, ddi, handler
from condis.handles import PartyHandle, VcHandle
from condis.machines import CALL, PARTY, CallInput, PartyInput, PartyState
from condis.ops import OPERATIONS, Operation
from condis.records import Call, OpenAddressFamily, Party
from condis.status import NDIS_STATUS, NDIS_STATUS_FAILURE, NDIS_STATUS_SUCCESS
from condis.structs import CO_CALL_PARAMETERS
from condis.verifier.leaks import Leak

__all__ = ["PartyEngine"]

handler(
    "ProtocolCmAddParty",
    "ProtocolClAddPartyComplete",
    "ProtocolCmDropParty",
    "ProtocolClDropPartyComplete",
    "ProtocolClIncomingDropParty",
)


class PartyEngine(Engine):
    """The party DDIs, and every party a call ever had."""

    __slots__ = ("_parties",)

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self._parties: dict[Party, None] = {}

    @property
    def parties(self) -> tuple[Party, ...]:
        """Every party not yet dropped, oldest first."""
        return tuple(self._parties)

    # --- the records -----------------------------------------------------------------------

    def new(self, call: Call, context: object) -> Party:
        """Issue an NdisPartyHandle for a new party of `call`."""
        handle = self.k.handles.issue(PartyHandle, None)
        party = Party(handle=handle, call=call, client_context=context)
        self.k.handles.attach(handle, party)
        self._parties[party] = None
        call.parties.append(party)
        return party

    def drop(self, party: Party, event: PartyInput) -> None:
        """`party` is gone (`event` says why): off its call, its handle closed."""
        party.move(event)
        if party in party.call.parties:
            party.call.parties.remove(party)
        if self.k.handles.is_live(party.handle):
            self.k.handles.close(party.handle)
        self._parties.pop(party, None)  # a dropped party leaves every table

    def close_call(self, call: Call) -> None:
        """A call closed: every party still on it goes with it."""
        for party in list(call.parties):
            self.drop(party, PartyInput.CALL_CLOSED)

    def connect_call(self, call: Call, context: object) -> None:
        """A multipoint call was made: its first party is connected, known to the call
        manager by `context` (its CallMgrPartyContext)."""
        for party in call.parties:
            party.move(PartyInput.ADD_SUCCEEDED)
            party.cm_context = context

    def operations_on(self, af: OpenAddressFamily) -> Iterator[Operation]:
        """The add and drop operations of the parties of calls on `af`."""
        for party in self._parties:
            if party.call.vc.af is af:
                yield from (o for o in (party.add_op, party.drop_op) if o is not None)

    def leaks(self) -> Iterator[Leak]:
        for party in self._parties:
            if self.k.handles.is_live(party.handle):
                vc = party.call.vc
                client = None if vc.af is None else vc.af.client.protocol.name
                yield Leak("party", party.handle.label, client, f"still {party.state}").at(
                    party.handle.born
                )

    def invariants(self, live_calls: Iterable[Call]) -> Iterator[str]:
        calls = set(live_calls)
        for party in self._parties:
            if self.k.handles.is_live(party.handle) and (
                party.call not in calls or party not in party.call.parties
            ):
                yield f"{party.handle.label} is live but not a party of a live call"

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
        params = args.call_parameters(name, CallParameters)
        vc = self.resolve.client_vc(name, NdisVcHandle)
        if vc is None or vc.af is None:
            return NDIS_STATUS_FAILURE, None
        client = vc.af.client.protocol
        with self.k.begin(name, client, handle=vc.handle) as c:
            call = vc.call
            row = CALL.guard(vc.call_state, CallInput.ADD_PARTY)
            if row.refused or call is None or not call.multipoint:
                return c.status(NDIS_STATUS_FAILURE), None
            reg = vc.af.registration
            party = self.new(call, ProtocolPartyContext)
            op = party.add_op = self.ops.start(
                OPERATIONS["add-party"], party.handle, mcm=reg.is_mcm
            )
            c.handle, c.op = party.handle, op.id
            status, context, delivers = self.ops.run(
                op,
                reg.cm,
                reg.cm_handlers.CmAddPartyHandler,
                vc.cm_context,
                params,
                party.handle,
                handle=party.handle,
                returns=Returns.STATUS_OUT,
            )
            if delivers:
                self._added(party, status, context)
            handle = None if party.state is PartyState.DROPPED else party.handle
            return c.status(status, result=handle), handle

    def _added(self, party: Party, status: NDIS_STATUS, context: object) -> None:
        if status == NDIS_STATUS_SUCCESS:
            party.move(PartyInput.ADD_SUCCEEDED)
            party.cm_context = context
        else:
            self.drop(party, PartyInput.ADD_FAILED)

    def _add_party_complete(
        self,
        spelling: str,
        Status: object,
        NdisPartyHandle: object,
        CallMgrPartyContext: object,
        CallParameters: object,
    ) -> None:
        status = args.status(spelling, "Status", Status)
        params = args.call_parameters(spelling, CallParameters)
        party = self.resolve.party(spelling, NdisPartyHandle)
        if party is None or party.call.vc.af is None:
            return None
        vc = party.call.vc
        assert vc.af is not None
        cm = vc.af.cm
        op = party.add_op
        with self.k.begin(spelling, cm, handle=party.handle, op=_id(op)) as c:
            if not self.ops.complete(op, spelling, cm, party.handle, status):
                return c.void()
            self._added(party, status, CallMgrPartyContext)
            self.k.call_void(
                vc.af.client.protocol,
                "ProtocolClAddPartyComplete",
                vc.client_handlers.ClAddPartyCompleteHandler,
                status,
                party.client_context,
                party.handle if status == NDIS_STATUS_SUCCESS else None,
                params,
                handle=party.handle,
                op=_id(op),
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
        args.buffer(name, Buffer, Size)
        party = self.resolve.party(name, NdisPartyHandle)
        if party is None or party.call.vc.af is None:
            return NDIS_STATUS_FAILURE
        vc = party.call.vc
        assert vc.af is not None
        client = vc.af.client.protocol
        with self.k.begin(name, client, handle=party.handle) as c:
            row = PARTY.guard(party.state, PartyInput.DROP)
            if row.refused:
                return c.status(
                    self.k.refuse(
                        row,
                        ddi=name,
                        driver=client,
                        handle=party.handle,
                        detail=f"{party.handle.label} is {party.state}",
                    )
                )
            live = [p for p in party.call.parties if p.state is not PartyState.DROPPED]
            if live == [party]:
                self.k.violation(
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
            op = party.drop_op = self.ops.start(
                OPERATIONS["drop-party"], party.handle, mcm=reg.is_mcm
            )
            c.op = op.id
            status, _, delivers = self.ops.run(
                op,
                reg.cm,
                reg.cm_handlers.CmDropPartyHandler,
                party.cm_context,
                Buffer,
                Size,
                handle=party.handle,
            )
            if delivers:
                self._dropped(party, status)
            return c.status(status)

    def _dropped(self, party: Party, status: NDIS_STATUS) -> None:
        if status == NDIS_STATUS_SUCCESS:
            self.drop(party, PartyInput.DROP_SUCCEEDED)
        else:
            party.move(PartyInput.DROP_FAILED)

    def _drop_party_complete(self, spelling: str, Status: object, NdisPartyHandle: object) -> None:
        status = args.status(spelling, "Status", Status)
        party = self.resolve.party(spelling, NdisPartyHandle)
        if party is None or party.call.vc.af is None:
            return None
        vc = party.call.vc
        assert vc.af is not None
        cm = vc.af.cm
        op = party.drop_op
        with self.k.begin(spelling, cm, handle=party.handle, op=_id(op)) as c:
            if not self.ops.complete(op, spelling, cm, party.handle, status):
                return c.void()
            context = party.client_context
            self._dropped(party, status)
            self.k.call_void(
                vc.af.client.protocol,
                "ProtocolClDropPartyComplete",
                vc.client_handlers.ClDropPartyCompleteHandler,
                status,
                context,
                handle=party.handle,
                op=_id(op),
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
        drop_status = args.status(spelling, "DropStatus", DropStatus)
        args.buffer(spelling, Buffer, Size)
        party = self.resolve.party(spelling, NdisPartyHandle)
        if party is None or party.call.vc.af is None:
            return None
        vc = party.call.vc
        if not self.resolve.spelled_for(spelling, vc):
            return None
        assert vc.af is not None
        cm = vc.af.cm
        with self.k.begin(spelling, cm, handle=party.handle) as c:
            row = PARTY.guard(party.state, PartyInput.INCOMING_DROP)
            if row.refused:
                self.k.refuse(
                    row,
                    ddi=spelling,
                    driver=cm,
                    handle=vc.handle,
                    detail=f"{party.handle.label} is {party.state}, not connected",
                )
                return c.void()
            party.move(PartyInput.INCOMING_DROP)
            self.k.call_void(
                vc.af.client.protocol,
                "ProtocolClIncomingDropParty",
                vc.client_handlers.ClIncomingDropPartyHandler,
                drop_status,
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


def _id(op: Operation | None) -> int | None:
    return None if op is None else op.id
