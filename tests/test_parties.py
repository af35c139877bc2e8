"""Parties of point-to-multipoint calls (party.py) on the sample MCM's loopback network.

A client makes a multipoint call by giving NdisClMakeCall a ProtocolPartyContext
(NDIS issues the first NdisPartyHandle), adds parties with NdisClAddParty and drops
them with NdisClDropParty; the last party goes with the call (NdisClCloseCall). A
leaf that hangs up reaches the root as ProtocolClIncomingDropParty, or as
ProtocolClIncomingCloseCall when it was the last party. Alice is the root; bob,
carol and dave register the SAPs she calls.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from condis import (
    CO_ADDRESS_FAMILY_Q2931,
    CO_SAP,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_INVALID_DATA,
    NDIS_STATUS_NO_ROUTE_TO_DESTINATION,
    NDIS_STATUS_NOT_ACCEPTED,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    PASSIVE_LEVEL,
    Mode,
    Ndis,
)
from condis.samples import SampleClient, SampleMcm
from condis.samples.mcm import McmParty, called_party
from condis.trace import TraceRecord
from util import expect_bugcheck, mark_of

SAPS = {name: CO_SAP(SapType=1, Sap=name.encode()) for name in ("bob", "carol", "dave")}
PLUMBING = ("NdisAllocateIoWorkItem", "NdisQueueIoWorkItem", "NdisFreeIoWorkItem")


def to(name: str) -> Any:
    return called_party(SAPS[name])


def calls_since(ndis: Ndis, mark: int, *names: str) -> list[tuple[str, str | None, str | None]]:
    """(name, driver, handle) of every call record of `names` since `mark`, in order."""
    return [
        (r.name, r.driver, r.handle)
        for r in ndis.trace
        if r.seq > mark and r.phase.value == "call" and r.name in names
    ]


def returned(ndis: Ndis, name: str, *, after: int = -1) -> TraceRecord:
    return next(
        r for r in ndis.trace if r.seq > after and r.name == name and r.phase.value == "return"
    )


def host(
    *, mcm: type[SampleMcm] = SampleMcm, mode: Mode = Mode.STRICT, leaves: tuple[str, ...] = ()
) -> SimpleNamespace:
    """The MCM, alice and the three callees; with `leaves`, alice has a multipoint call to
    the first and has added the others (all connected)."""
    ndis = Ndis(mode=mode)
    ndis.load_driver(mcm(ndis, address_families=(CO_ADDRESS_FAMILY_Q2931,)), "samplemcm")
    clients = {"alice": SampleClient(ndis)}
    for name, sap in SAPS.items():
        clients[name] = SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [sap]})
    for name, client in clients.items():
        ndis.load_driver(client, name)
    ndis.add_adapter("samplemcm", "mcm0")
    ndis.run()
    h = SimpleNamespace(ndis=ndis, **clients)
    h.af = h.alice.afs("open")[0]
    if leaves:
        h.vc = h.alice.make_call(h.af, to(leaves[0]), multipoint=True)
        ndis.run()
        for leaf in leaves[1:]:
            h.alice.add_party(h.vc, to(leaf))
        ndis.run()
        assert [p.state for p in h.vc.parties] == ["connected"] * len(leaves)
    return h


def leaf_vc(client: SampleClient) -> Any:
    (vc,) = client.afs("open")[0].vcs
    return vc


def party_states(ndis: Ndis) -> list[tuple[str, str]]:
    return [(p.handle.label, p.state) for p in ndis.parties]


class SyncAddMcm(SampleMcm):
    """Adds a party at once (no leaf on the network): ProtocolCmAddParty returns SUCCESS."""

    def ProtocolCmAddParty(self, CallMgrVcContext: Any, CallParameters: Any, Handle: Any) -> Any:
        party = McmParty(root=CallMgrVcContext, handle=Handle, connected=True, origin="add")
        CallMgrVcContext.parties.append(party)
        return NDIS_STATUS_SUCCESS, party


class PendingDropMcm(SampleMcm):
    """Drops parties as the sample does, but reports it from a work item."""

    def ProtocolCmDropParty(self, CallMgrPartyContext: Any, CloseData: Any, Size: int) -> Any:
        status = super().ProtocolCmDropParty(CallMgrPartyContext, CloseData, Size)
        handle = CallMgrPartyContext.handle
        root = CallMgrPartyContext.root
        self._defer(root.af.adapter, lambda: self.ndis.NdisMCmDropPartyComplete(status, handle))
        return NDIS_STATUS_PENDING


class NoCloseDataMcm(SampleMcm):
    """A medium that cannot send data with a drop (ProtocolCmDropParty: INVALID_DATA)."""

    def ProtocolCmDropParty(self, CallMgrPartyContext: Any, CloseData: Any, Size: int) -> Any:
        if CloseData is not None:
            return NDIS_STATUS_INVALID_DATA
        return super().ProtocolCmDropParty(CallMgrPartyContext, CloseData, Size)


class ParkingAddMcm(SampleMcm):
    """Pends every add-party and leaves the completion to the test."""

    def ProtocolCmAddParty(self, CallMgrVcContext: Any, CallParameters: Any, Handle: Any) -> Any:
        return NDIS_STATUS_PENDING


class RecordingCloseMcm(SampleMcm):
    """Remembers the CallMgrPartyContext NDIS passes to each ProtocolCmCloseCall."""

    def ProtocolCmCloseCall(self, CallMgrVcContext: Any, Party: Any, Data: Any, Size: int) -> Any:
        self.closed_with = [*getattr(self, "closed_with", []), Party]
        return super().ProtocolCmCloseCall(CallMgrVcContext, Party, Data, Size)


class PendedMcm(SampleMcm):
    """The sample MCM completing from work items what it may pend (closes among them)."""

    def __init__(self, ndis: Ndis, **kwargs: Any) -> None:
        super().__init__(ndis, completion="pended", **kwargs)


class TestFirstParty:
    """NdisClMakeCall with a ProtocolPartyContext makes the call multipoint."""

    def test_make_call_returns_the_first_party_handle(self) -> None:
        h = host()
        ndis = h.ndis
        mark = mark_of(ndis)
        vc = h.alice.make_call(h.af, to("bob"), multipoint=True)
        assert vc is not None
        (party,) = vc.parties
        made = returned(ndis, "NdisClMakeCall", after=mark)
        assert made.status == NDIS_STATUS_PENDING
        assert party.handle is not None and made.result == party.handle.label
        assert calls_since(ndis, mark, "ProtocolCmMakeCall") == [
            ("ProtocolCmMakeCall", "samplemcm", vc.handle.label)
        ]
        assert party_states(ndis) == [(party.handle.label, "adding")]
        ndis.run()
        # ProtocolClMakeCallComplete hands alice the same NdisPartyHandle
        done = next(r for r in ndis.trace if r.name == "ProtocolClMakeCallComplete")
        assert (done.driver, done.irql) == ("alice", PASSIVE_LEVEL)
        assert vc.party_handle == party.handle
        assert party_states(ndis) == [(party.handle.label, "connected")]
        call = ndis.call_on(vc.handle)
        assert call is not None and call.multipoint
        assert leaf_vc(h.bob).call == "connected"

    def test_a_point_to_point_call_has_no_party(self) -> None:
        h = host()
        vc = h.alice.make_call(h.af, to("bob"))
        h.ndis.run()
        assert returned(h.ndis, "NdisClMakeCall").result is None
        assert vc is not None and vc.party_handle is None
        assert h.ndis.parties == ()
        call = h.ndis.call_on(vc.handle)
        assert call is not None and not call.multipoint


class TestAddParty:
    """NdisClAddParty -> ProtocolCmAddParty [-> NdisMCmAddPartyComplete]."""

    def test_pended_add_completes_through_protocol_cl_add_party_complete(self) -> None:
        h = host(leaves=("bob",))
        ndis, vc = h.ndis, h.vc
        mark = mark_of(ndis)
        party = h.alice.add_party(vc, to("carol"))
        assert party.state == "adding" and party.handle is not None
        label = party.handle.label
        assert returned(ndis, "NdisClAddParty", after=mark).status == NDIS_STATUS_PENDING
        assert party_states(ndis)[-1] == (label, "adding")
        ndis.run()
        names = (
            "NdisClAddParty",
            "ProtocolCmAddParty",
            "ProtocolClIncomingCall",
            "NdisMCmAddPartyComplete",
            "ProtocolClAddPartyComplete",
            "ProtocolClCallConnected",
        )
        carol = leaf_vc(h.carol).handle.label
        assert calls_since(ndis, mark, *names) == [
            ("NdisClAddParty", "alice", vc.handle.label),
            ("ProtocolCmAddParty", "samplemcm", label),
            ("ProtocolClIncomingCall", "carol", carol),
            ("NdisMCmAddPartyComplete", "samplemcm", label),
            ("ProtocolClAddPartyComplete", "alice", label),
            ("ProtocolClCallConnected", "carol", carol),
        ]
        ops = {r.op for r in ndis.trace if r.seq > mark + 1 and r.name in names[:2] + names[3:5]}
        assert len(ops) == 1 and None not in ops
        assert party.state == "connected" and party.last_status == NDIS_STATUS_SUCCESS
        assert party_states(ndis)[-1] == (label, "connected")

    def test_synchronous_add(self) -> None:
        h = host(mcm=SyncAddMcm, leaves=("bob",))
        ndis = h.ndis
        mark = mark_of(ndis)
        status, handle = ndis.NdisClAddParty(h.vc.handle, "ctx", to("carol"))
        assert status == NDIS_STATUS_SUCCESS and handle is not None
        assert calls_since(ndis, mark, "ProtocolCmAddParty", "ProtocolClAddPartyComplete") == [
            ("ProtocolCmAddParty", "samplemcm", handle.label)
        ]
        assert returned(ndis, "NdisClAddParty", after=mark).result == handle.label
        assert party_states(ndis)[-1] == (handle.label, "connected")

    def test_an_unknown_address_has_no_route(self) -> None:
        h = host(leaves=("bob",))
        ndis = h.ndis
        nobody = called_party(CO_SAP(SapType=1, Sap=b"nobody"))
        before = party_states(ndis)
        party = h.alice.add_party(h.vc, nobody)
        assert party.last_status == NDIS_STATUS_NO_ROUTE_TO_DESTINATION
        assert party.state == "failed" and party.handle is None
        assert returned(ndis, "ProtocolCmAddParty").status == NDIS_STATUS_NO_ROUTE_TO_DESTINATION
        assert party_states(ndis) == before  # an add that fails leaves no party
        assert "ProtocolClAddPartyComplete" not in {r.name for r in ndis.trace}

    def test_a_point_to_point_call_cannot_take_parties(self) -> None:
        h = host()
        vc = h.alice.make_call(h.af, to("bob"))
        h.ndis.run()
        assert vc is not None
        before = h.ndis.snapshot()
        mark = mark_of(h.ndis)
        assert h.ndis.NdisClAddParty(vc.handle, "ctx", to("carol")) == (NDIS_STATUS_FAILURE, None)
        assert calls_since(h.ndis, mark, "ProtocolCmAddParty") == []
        assert h.ndis.snapshot() == before

    def test_a_vc_without_a_call(self) -> None:
        h = host()
        vc = h.alice.create_vc(h.af)
        assert vc is not None
        assert h.ndis.NdisClAddParty(vc.handle, "ctx", to("carol")) == (NDIS_STATUS_FAILURE, None)

    def test_completion_checks(self) -> None:
        h = host(mcm=ParkingAddMcm, leaves=("bob",))
        ndis = h.ndis
        party = h.alice.add_party(h.vc, to("carol"))
        handle = party.handle
        assert party.state == "adding" and handle is not None
        spelled = lambda: ndis.NdisCmAddPartyComplete(NDIS_STATUS_SUCCESS, handle, "p", to("carol"))  # noqa: E731
        expect_bugcheck(ndis, spelled, "CoNdisMcmSpelling", "NdisCmAddPartyComplete", "samplemcm")
        ndis.NdisMCmAddPartyComplete(NDIS_STATUS_SUCCESS, handle, "p", to("carol"))
        assert party_states(ndis)[-1] == (handle.label, "connected")
        again = lambda: ndis.NdisMCmAddPartyComplete(NDIS_STATUS_SUCCESS, handle, "p", to("carol"))  # noqa: E731
        expect_bugcheck(ndis, again, "CoNdisDoubleComplete", "NdisMCmAddPartyComplete", "samplemcm")

    def test_a_failed_completion_leaves_no_party(self) -> None:
        h = host(mcm=ParkingAddMcm, leaves=("bob",))
        ndis = h.ndis
        party = h.alice.add_party(h.vc, to("carol"))
        assert party.handle is not None
        ndis.NdisMCmAddPartyComplete(NDIS_STATUS_FAILURE, party.handle, None, to("carol"))
        assert party.state == "failed" and party.last_status == NDIS_STATUS_FAILURE
        assert [s for _, s in party_states(ndis)] == ["connected"]


class TestDropParty:
    """NdisClDropParty -> ProtocolCmDropParty [-> NdisMCmDropPartyComplete]."""

    def test_synchronous_drop(self) -> None:
        h = host(leaves=("bob", "carol"))
        ndis = h.ndis
        carol = h.vc.parties[1]
        label = carol.handle.label
        mark = mark_of(ndis)
        assert h.alice.drop_party(carol) == NDIS_STATUS_SUCCESS
        assert calls_since(ndis, mark, "NdisClDropParty", "ProtocolCmDropParty") == [
            ("NdisClDropParty", "alice", label),
            ("ProtocolCmDropParty", "samplemcm", label),
        ]
        assert returned(ndis, "ProtocolCmDropParty", after=mark).status == NDIS_STATUS_SUCCESS
        assert label not in dict(party_states(ndis))
        ndis.run()  # the MCM hangs up carol's leaf
        assert calls_since(ndis, mark, "ProtocolClIncomingCloseCall") == [
            ("ProtocolClIncomingCloseCall", "carol", "NdisVcHandle#3")
        ]
        assert h.carol.afs("open")[0].vcs == []  # the MCM deleted the VC it made for carol
        assert leaf_vc(h.bob).call == "connected"

    def test_pended_drop_completes_through_protocol_cl_drop_party_complete(self) -> None:
        h = host(mcm=PendingDropMcm, leaves=("bob", "carol"))
        ndis = h.ndis
        carol = h.vc.parties[1]
        label = carol.handle.label
        mark = mark_of(ndis)
        assert h.alice.drop_party(carol) == NDIS_STATUS_PENDING
        assert party_states(ndis)[-1] == (label, "dropping")
        ndis.run()
        assert calls_since(
            ndis, mark, "NdisMCmDropPartyComplete", "ProtocolClDropPartyComplete"
        ) == [
            ("NdisMCmDropPartyComplete", "samplemcm", label),
            ("ProtocolClDropPartyComplete", "alice", label),
        ]
        assert carol.state == "dropped" and carol not in h.vc.parties
        assert label not in dict(party_states(ndis))

    def test_dropping_the_last_party_is_refused(self) -> None:
        h = host(leaves=("bob",))
        (only,) = h.vc.parties
        run = lambda: h.ndis.NdisClDropParty(only.handle, None, 0)  # noqa: E731
        bc = expect_bugcheck(h.ndis, run, "CoNdisDropLastParty", "NdisClDropParty", "alice")
        assert bc.handle == only.handle.label
        assert "close the call with NdisClCloseCall instead" in bc.detail
        assert party_states(h.ndis) == [(only.handle.label, "connected")]

    def test_dropping_the_last_party_returns_failure_when_collected(self) -> None:
        h = host(mode=Mode.COLLECT, leaves=("bob",))
        (only,) = h.vc.parties
        mark = mark_of(h.ndis)
        assert h.ndis.NdisClDropParty(only.handle, None, 0) == NDIS_STATUS_FAILURE
        assert [v.rule for v in h.ndis.verifier.violations] == ["CoNdisDropLastParty"]
        assert calls_since(h.ndis, mark, "ProtocolCmDropParty") == []
        assert party_states(h.ndis) == [(only.handle.label, "connected")]

    def test_the_handle_is_invalid_after_the_drop(self) -> None:
        h = host(leaves=("bob", "carol"))
        carol = h.vc.parties[1]
        handle = carol.handle
        assert h.alice.drop_party(carol) == NDIS_STATUS_SUCCESS
        run = lambda: h.ndis.NdisClDropParty(handle, None, 0)  # noqa: E731
        with h.ndis.driver_context(h.ndis.driver("alice")):
            bc = expect_bugcheck(h.ndis, run, "NdisHandleStale", "NdisClDropParty", "alice")
        assert bc.handle == handle.label

    def test_a_failed_drop_keeps_the_party(self) -> None:
        h = host(mcm=NoCloseDataMcm, leaves=("bob", "carol"))
        carol = h.vc.parties[1]
        label = carol.handle.label
        status = h.ndis.NdisClDropParty(carol.handle, b"bye", 3)
        assert status == NDIS_STATUS_INVALID_DATA
        assert (label, "connected") in party_states(h.ndis)
        # the handle is still good
        assert h.alice.drop_party(carol) == NDIS_STATUS_SUCCESS
        assert label not in dict(party_states(h.ndis))

    def test_bad_arguments(self) -> None:
        h = host(leaves=("bob", "carol"))
        handle = h.vc.parties[1].handle
        with pytest.raises(
            TypeError, match=r"^NdisClDropParty: Buffer must be bytes or None, not str$"
        ):
            h.ndis.NdisClDropParty(handle, "bye", 3)
        with pytest.raises(
            ValueError, match=r"^NdisClDropParty: Size must be a non-negative int, not -1$"
        ):
            h.ndis.NdisClDropParty(handle, None, -1)


class TestLeafHangsUp:
    """A leaf's close reaches the root as an incoming drop, or an incoming close when last."""

    def test_not_the_last_party(self) -> None:
        h = host(leaves=("bob", "carol"))
        ndis = h.ndis
        carol_party = h.vc.parties[1]
        label = carol_party.handle.label
        mark = mark_of(ndis)
        h.carol.close_call(leaf_vc(h.carol))
        ndis.run()
        names = (
            "NdisMCmDispatchIncomingDropParty",
            "ProtocolClIncomingDropParty",
            "NdisClDropParty",
            "ProtocolCmDropParty",
            "ProtocolClIncomingCloseCall",
        )
        assert calls_since(ndis, mark, *names) == [
            ("NdisMCmDispatchIncomingDropParty", "samplemcm", label),
            ("ProtocolClIncomingDropParty", "alice", label),
            ("NdisClDropParty", "alice", label),  # from inside the handler
            ("ProtocolCmDropParty", "samplemcm", label),
        ]
        nested = next(r for r in ndis.trace if r.seq > mark and r.name == "NdisClDropParty")
        outer = next(r for r in ndis.trace if r.seq > mark and r.name == names[1])
        assert nested.depth > outer.depth
        assert carol_party.state == "dropped"
        assert h.vc.call == "connected" and [p.state for p in h.vc.parties] == ["connected"]
        assert label not in dict(party_states(ndis))

    def test_the_last_party(self) -> None:
        h = host(leaves=("bob",))
        ndis = h.ndis
        mark = mark_of(ndis)
        h.bob.close_call(leaf_vc(h.bob))
        ndis.run()
        names = ("ProtocolClIncomingDropParty", "ProtocolClIncomingCloseCall", "NdisClCloseCall")
        assert calls_since(ndis, mark, *names) == [
            ("NdisClCloseCall", "bob", "NdisVcHandle#2"),
            ("ProtocolClIncomingCloseCall", "alice", h.vc.handle.label),
            ("NdisClCloseCall", "alice", h.vc.handle.label),
        ]
        assert h.vc.call == "closed"
        assert ndis.parties == () and ndis.calls == ()

    def test_the_root_drops_the_other_party_before_hearing_of_the_leaf(self) -> None:
        """bob leaves while carol is still there; alice drops carol before the MCM tells
        her of bob: bob's party is then the last, and goes with the call."""
        h = host(leaves=("bob", "carol"))
        ndis = h.ndis
        mark = mark_of(ndis)
        h.bob.close_call(leaf_vc(h.bob))
        assert h.alice.drop_party(h.vc.parties[1]) == NDIS_STATUS_SUCCESS
        ndis.run()
        assert ndis.crashed is None and ndis.verifier.violations == []
        names = ("NdisMCmDispatchIncomingDropParty", "NdisMCmDispatchIncomingCloseCall")
        assert calls_since(ndis, mark, *names) == [
            ("NdisMCmDispatchIncomingCloseCall", "samplemcm", h.vc.handle.label),
            ("NdisMCmDispatchIncomingCloseCall", "samplemcm", "NdisVcHandle#3"),  # carol's
        ]
        assert h.vc.call == "closed" and h.bob.afs("open")[0].vcs == []
        assert h.carol.afs("open")[0].vcs == []
        assert ndis.parties == () and ndis.calls == ()

    def test_root_and_leaf_hang_up_at_once(self) -> None:
        """Pended closes: the root is not told of the leaf's close, nor the leaf of the
        root's, once each has closed the call itself."""
        h = host(mcm=PendedMcm, leaves=("bob",))
        ndis = h.ndis
        mark = mark_of(ndis)
        assert h.bob.close_call(leaf_vc(h.bob)) == NDIS_STATUS_PENDING
        assert h.alice.close_call(h.vc) == NDIS_STATUS_PENDING
        ndis.run()
        assert ndis.crashed is None and ndis.verifier.violations == []
        names = ("NdisMCmDispatchIncomingDropParty", "NdisMCmDispatchIncomingCloseCall")
        assert calls_since(ndis, mark, *names) == []
        assert h.vc.call == "closed" and h.bob.afs("open")[0].vcs == []
        assert ndis.parties == () and ndis.calls == () and ndis.operations == ()

    def test_every_leaf_leaves_while_a_party_is_offered(self) -> None:
        """Both leaves hang up at once, the last added first, while the party the root is
        adding waits for its callee's answer. Told of the close by the first leave, the
        root's client drops the parties it still thinks connected but the first and
        waits for its add; the other leave must not tell it of the close again."""
        h = host(leaves=("bob", "carol"))
        ndis = h.ndis
        ndis.driver("dave").code.incoming = "pend"
        dave = h.alice.add_party(h.vc, to("dave"))
        ndis.run()
        assert dave.state == "adding"
        (offered,) = h.dave.afs("open")[0].vcs
        mark = mark_of(ndis)
        h.carol.close_call(leaf_vc(h.carol))
        h.bob.close_call(leaf_vc(h.bob))
        ndis.run()
        h.dave.answer(offered, NDIS_STATUS_NOT_ACCEPTED)
        ndis.run()
        assert ndis.crashed is None and ndis.verifier.violations == []
        closes = calls_since(ndis, mark, "NdisMCmDispatchIncomingCloseCall")
        assert closes == [("NdisMCmDispatchIncomingCloseCall", "samplemcm", h.vc.handle.label)]
        assert h.vc.call == "closed"
        assert ndis.parties == () and ndis.calls == () and ndis.operations == ()

    def test_an_incoming_drop_of_a_party_being_dropped_is_call_state(self) -> None:
        h = host(mcm=PendingDropMcm, leaves=("bob", "carol"))
        carol = h.vc.parties[1]
        assert h.alice.drop_party(carol) == NDIS_STATUS_PENDING
        run = lambda: h.ndis.NdisMCmDispatchIncomingDropParty(  # noqa: E731
            NDIS_STATUS_SUCCESS, carol.handle, None, 0
        )
        bc = expect_bugcheck(
            h.ndis, run, "CoNdisCallState", "NdisMCmDispatchIncomingDropParty", "samplemcm"
        )
        assert bc.detail == f"{carol.handle.label} is dropping, not connected"


class TestMultipointData:
    """What the root sends reaches every connected leaf; a leaf's data reaches the root."""

    def test_root_to_leaves_and_back(self) -> None:
        h = host(leaves=("bob", "carol", "dave"))
        ndis = h.ndis
        h.alice.drop_party(h.vc.parties[2])  # dave is gone
        ndis.run()
        mark = mark_of(ndis)
        h.alice.send(h.vc, b"to all")
        ndis.run()
        leaves = [leaf_vc(h.bob).handle.label, leaf_vc(h.carol).handle.label]
        assert calls_since(ndis, mark, "NdisMCoIndicateReceiveNetBufferLists") == [
            ("NdisMCoIndicateReceiveNetBufferLists", "samplemcm", label) for label in leaves
        ]
        assert leaf_vc(h.bob).received == [b"to all"]
        assert leaf_vc(h.carol).received == [b"to all"]
        assert h.dave.afs("open")[0].vcs == []
        assert h.vc.send_statuses == [NDIS_STATUS_SUCCESS]
        h.carol.send(leaf_vc(h.carol), b"from carol")
        ndis.run()
        assert h.vc.received == [b"from carol"]
        assert leaf_vc(h.bob).received == [b"to all"]  # leaves do not hear each other


class TestClosingTheCall:
    """Closing a multipoint call: every other party is dropped first."""

    def test_close_drops_the_other_parties_then_closes_with_the_last(self) -> None:
        h = host(mcm=RecordingCloseMcm, leaves=("bob", "carol", "dave"))
        ndis = h.ndis
        first, *others = h.vc.parties
        mark = mark_of(ndis)
        h.alice.close_call(h.vc)
        ndis.run()
        assert ndis.crashed is None
        assert calls_since(ndis, mark, "NdisClDropParty", "NdisClCloseCall")[:3] == [
            ("NdisClDropParty", "alice", others[0].handle.label),
            ("NdisClDropParty", "alice", others[1].handle.label),
            ("NdisClCloseCall", "alice", h.vc.handle.label),
        ]
        # the close names the last party; NDIS passes its CallMgrPartyContext on
        close = next(r for r in ndis.trace if r.seq > mark and r.name == "ProtocolCmCloseCall")
        assert close.driver == "samplemcm" and close.handle == h.vc.handle.label
        root_close = ndis.driver("samplemcm").code.closed_with[0]
        assert isinstance(root_close, McmParty) and root_close.handle == first.handle
        assert h.vc.call == "closed" and first.state == "dropped"
        for leaf in (h.bob, h.carol, h.dave):
            assert leaf.afs("open")[0].vcs == []
        assert ndis.parties == () and ndis.calls == ()

    def test_nothing_is_left_after_the_halt(self) -> None:
        h = host(leaves=("bob", "carol"))
        ndis = h.ndis
        h.alice.close_call(h.vc)
        ndis.run()
        for client in (h.alice, h.bob, h.carol, h.dave):
            for af in client.afs("open"):
                client.close_af(af)
        ndis.run()
        ndis.halt_adapter("mcm0")
        assert ndis.crashed is None
        snap = ndis.snapshot()
        assert snap["vcs"] == [] and snap["calls"] == [] and snap["operations"] == []
        assert all(state == "dropped" for _, state in snap["parties"])
        assert ndis.parties == () and ndis.work_items == ()
        assert [a[:2] for a in snap["adapters"]] == [("mcm0", "halted")]
