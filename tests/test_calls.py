"""Calls: outgoing, incoming (accept, reject, pend), client and remote close, VC reuse.

The contract is call.py's and call_incoming.py's docstrings and the pages they name
(nf-ndis-ndisclmakecall, nc-ndis-protocol_cm_make_call, nf-ndis-ndiscmmakecallcomplete,
nf-ndis-ndiscmdispatchincomingcall, nc-ndis-protocol_cl_incoming_call,
nf-ndis-ndisclincomingcallcomplete, nf-ndis-ndiscmdispatchcallconnected, nf-ndis-ndisclclosecall,
nc-ndis-protocol_cm_close_call, nf-ndis-ndiscmclosecallcomplete,
nf-ndis-ndiscmdispatchincomingclosecall and the guide pages making-a-call.md,
indicating-an-incoming-call.md, client-initiated-request-to-close-a-call.md,
incoming-request-to-close-a-call.md). Most tests run on the sample MCM's loopback network: alice
calls bob, who registered SAP_BOB. TestStandAloneCallManager runs a call through a small
stand-alone call manager written here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from condis import (
    NDIS_STATUS_CALL_ACTIVE,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_NO_ROUTE_TO_DESTINATION,
    NDIS_STATUS_NOT_ACCEPTED,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    BugCheck,
    Mode,
)
from condis.samples import SampleMcm
from condis.samples.callmanager import CmVc
from condis.samples.mcm import called_party
from condis.scheduler import Item
from hosts.calls import TO_BOB, connect, network
from hosts.paths import (
    COMPLETIONS,
    SAP_BOB,
    SAP_CAROL,
    Host,
    build,
    refused,
    returned,
    rules,
    with_saps,
    within,
)
from util import calls, find, in_order, mark_of


def call_rows(host: Host) -> list[tuple[str, str, bool]]:
    return host.ndis.snapshot()["calls"]


class NewestFirst:
    """A scheduling policy that runs the work queued last first."""

    def choose(self, ready: Sequence[Item]) -> int:
        return len(ready) - 1


# --- outgoing calls ------------------------------------------------------------------------------


@pytest.mark.parametrize("completion", COMPLETIONS)
class TestOutgoingCall:
    """alice's call to bob, in the documented order."""

    def test_documented_order(self, completion: str) -> None:
        host = network(completion)
        ndis = host.ndis
        vc, bob_vc = connect(host)
        records = in_order(
            ndis,
            ("call", "NdisCoCreateVc", None, "alice"),
            ("return", "NdisCoCreateVc", NDIS_STATUS_SUCCESS),
            ("call", "NdisClMakeCall", None, "alice"),
            ("call", "ProtocolCmMakeCall", None, "samplemcm"),
            ("return", "NdisClMakeCall", NDIS_STATUS_PENDING),
            ("call", "NdisMCmCreateVc", None, "samplemcm"),
            ("call", "ProtocolCoCreateVc", None, "bob"),
            ("call", "NdisMCmDispatchIncomingCall", None, "samplemcm"),
            ("call", "ProtocolClIncomingCall", None, "bob"),
            ("return", "ProtocolClIncomingCall", NDIS_STATUS_SUCCESS, "bob"),
            ("call", "NdisMCmMakeCallComplete", None, "samplemcm"),
            ("call", "ProtocolClMakeCallComplete", None, "alice"),
            ("call", "NdisMCmDispatchCallConnected", None, "samplemcm"),
            ("call", "ProtocolClCallConnected", None, "bob"),
        )
        assert records[3].handle == records[11].handle == vc.handle.label
        assert records[9].handle == records[13].handle == bob_vc.handle.label
        # Both VCs were activated before the call manager reported the calls.
        activations = calls(ndis, "NdisMCmActivateVc")
        assert [r.handle for r in activations] == [bob_vc.handle.label, vc.handle.label]
        assert activations[0].seq < records[7].seq and activations[1].seq < records[10].seq
        assert sorted(call_rows(host)) == sorted(
            [(vc.handle.label, "connected", True), (bob_vc.handle.label, "connected", False)]
        )
        assert ndis.operations == ()

    def test_no_route_to_destination(self, completion: str) -> None:
        host = network(completion)
        ndis = host.ndis
        vc = host.clients["alice"].make_call(host.af("alice"), called_party(SAP_CAROL))
        assert vc is not None
        assert returned(ndis, "NdisClMakeCall") == [NDIS_STATUS_NO_ROUTE_TO_DESTINATION]
        assert calls(ndis, "ProtocolClMakeCallComplete") == []  # the client's internal call
        assert vc.call == "failed" and ndis.calls == () and ndis.operations == ()
        # The VC is idle again: its creator deletes it.
        assert host.clients["alice"].delete_vc(vc) == NDIS_STATUS_SUCCESS
        assert ndis.vcs == ()

    def test_second_call_on_a_busy_vc(self, completion: str) -> None:
        host = network(completion)
        ndis = host.ndis
        vc = host.clients["alice"].make_call(host.af("alice"), TO_BOB)
        assert vc is not None
        for _ in range(2):  # while the first call is being made, and once it is connected
            before, after = ndis.snapshot(), mark_of(ndis)
            assert ndis.NdisClMakeCall(vc.handle, TO_BOB) == (NDIS_STATUS_CALL_ACTIVE, None)
            assert calls(ndis, "ProtocolCmMakeCall", after=after) == []
            assert ndis.snapshot() == before
            ndis.run()

    def test_vc_with_a_call_cannot_be_deleted(self, completion: str) -> None:
        host = network(completion)
        ndis = host.ndis
        vc = host.clients["alice"].make_call(host.af("alice"), TO_BOB)
        assert vc is not None
        # The call is being made; the MCM has not activated the VC yet.
        assert [v.state.value for v in ndis.vcs] == ["created"]
        error = refused(host, "CoNdisDeleteActiveVc", lambda: ndis.NdisCoDeleteVc(vc.handle))
        assert error.detail.endswith("a call is still on it")
        ndis.run()
        refused(host, "CoNdisDeleteActiveVc", lambda: ndis.NdisCoDeleteVc(vc.handle))

    def test_make_call_on_a_vc_of_the_call_manager_fails(self, completion: str) -> None:
        host = network(completion)
        ndis = host.ndis
        incoming = host.create_incoming_vc("alice", object())
        assert ndis.NdisClMakeCall(incoming, TO_BOB) == (NDIS_STATUS_FAILURE, None)
        assert ndis.calls == ()


# --- incoming calls ------------------------------------------------------------------------------


@pytest.mark.parametrize("completion", COMPLETIONS)
class TestIncomingCall:
    """How bob answers: ProtocolClIncomingCall accepts, rejects, or pends."""

    def test_rejected(self, completion: str) -> None:
        host = network(completion, incoming="reject")
        ndis = host.ndis
        vc = host.clients["alice"].make_call(host.af("alice"), TO_BOB)
        ndis.run()
        assert vc is not None and vc.call == "failed"
        assert vc.last_status == NDIS_STATUS_NOT_ACCEPTED
        offered = find(ndis, "ProtocolClIncomingCall", driver="bob")
        in_order(
            ndis,
            ("return", "ProtocolClIncomingCall", NDIS_STATUS_NOT_ACCEPTED, "bob"),
            ("call", "NdisMCmDeleteVc", None, "samplemcm"),
            ("call", "ProtocolCoDeleteVc", None, "bob"),
            ("call", "ProtocolClMakeCallComplete", None, "alice"),
        )
        # The MCM deactivated and deleted the VC it made for the offer.
        assert find(ndis, "NdisMCmDeleteVc").handle == offered.handle
        assert host.af("bob").vcs == [] and calls(ndis, "ProtocolClCallConnected") == []
        assert [v.handle for v in ndis.vcs] == [vc.handle]
        assert ndis.calls == () and ndis.operations == ()

    @pytest.mark.parametrize("answer", [NDIS_STATUS_SUCCESS, NDIS_STATUS_NOT_ACCEPTED])
    def test_pended_then_answered(self, completion: str, answer: int) -> None:
        host = network(completion, incoming="pend")
        ndis, bob = host.ndis, host.clients["bob"]
        vc = host.clients["alice"].make_call(host.af("alice"), TO_BOB)
        ndis.run()
        assert returned(ndis, "ProtocolClIncomingCall") == [NDIS_STATUS_PENDING]
        (bob_vc,) = host.af("bob").vcs
        assert vc is not None and vc.call == "making" and bob_vc.call == "offered"
        assert [op.kind for op in ndis.operations] == ["make-call", "incoming-call"]
        after = mark_of(ndis)
        bob.answer(bob_vc, answer)
        ndis.run()
        complete, handler = in_order(
            ndis,
            ("call", "NdisClIncomingCallComplete", None, "bob"),
            ("call", "ProtocolCmIncomingCallComplete", None, "samplemcm"),
            after=after,
        )
        assert within(ndis, complete, handler)
        find(ndis, "ProtocolClMakeCallComplete", driver="alice", after=handler.seq)
        if answer == NDIS_STATUS_SUCCESS:
            find(ndis, "ProtocolClCallConnected", driver="bob", after=handler.seq)
            assert (vc.call, bob_vc.call) == ("connected", "connected")
        else:
            assert vc.call == "failed" and vc.last_status == NDIS_STATUS_NOT_ACCEPTED
            assert ndis.calls == () and host.af("bob").vcs == []
        assert ndis.operations == ()

    def test_call_connected_needs_an_accepted_call(self, completion: str) -> None:
        host = network(completion, incoming="pend")
        ndis = host.ndis
        host.clients["alice"].make_call(host.af("alice"), TO_BOB)
        ndis.run()
        (bob_vc,) = host.af("bob").vcs  # offered, not yet answered
        refused(host, "CoNdisCallState", lambda: ndis.NdisMCmDispatchCallConnected(bob_vc.handle))
        idle = host.create_incoming_vc("bob", object())  # no call at all
        error = refused(host, "CoNdisCallState", lambda: ndis.NdisMCmDispatchCallConnected(idle))
        assert error.handle == idle.label


# --- closing calls -------------------------------------------------------------------------------


@pytest.mark.parametrize("completion", COMPLETIONS)
class TestClose:
    """NdisClCloseCall by the client, and the remote end told."""

    def test_client_close_and_remote_close(self, completion: str) -> None:
        host = network(completion)
        ndis = host.ndis
        vc, bob_vc = connect(host)
        after = mark_of(ndis)
        assert host.clients["alice"].close_call(vc) == (
            NDIS_STATUS_SUCCESS if completion == "sync" else NDIS_STATUS_PENDING
        )
        close = find(ndis, "NdisClCloseCall", driver="alice", after=after)
        handler = find(ndis, "ProtocolCmCloseCall", driver="samplemcm", after=after)
        assert within(ndis, close, handler) and handler.handle == vc.handle.label
        ndis.run()
        if completion == "sync":
            assert calls(ndis, "ProtocolClCloseCallComplete", driver="alice") == []
        else:
            done = find(ndis, "ProtocolClCloseCallComplete", driver="alice", after=after)
            assert within(ndis, find(ndis, "NdisMCmCloseCallComplete", after=after), done)
        # bob hears of it and closes his end from ProtocolClIncomingCloseCall.
        incoming_close = find(ndis, "ProtocolClIncomingCloseCall", driver="bob", after=after)
        bob_close = find(ndis, "NdisClCloseCall", driver="bob", after=after)
        assert incoming_close.handle == bob_close.handle == bob_vc.handle.label
        assert within(ndis, incoming_close, bob_close)
        # The MCM deletes the VC it created for bob; alice's stays, idle.
        find(ndis, "NdisMCmDeleteVc", after=bob_close.seq)
        assert vc.call == "closed" and bob_vc.call == "closed" and host.af("bob").vcs == []
        assert [(v.handle, v.state.value) for v in ndis.vcs] == [(vc.handle, "created")]
        assert ndis.calls == () and ndis.operations == ()

    def test_both_ends_hang_up_at_once(self, completion: str) -> None:
        """Each end closes before the MCM has told it of the other's close: neither is
        told of an incoming close (pended, its VC is still active while the close runs)."""
        host = network(completion)
        ndis = host.ndis
        vc, bob_vc = connect(host)
        bob_handle = bob_vc.handle.label
        after = mark_of(ndis)
        host.clients["alice"].close_call(vc)
        host.clients["bob"].close_call(bob_vc)
        ndis.run()
        assert ndis.crashed is None and rules(ndis) == []
        assert calls(ndis, "NdisMCmDispatchIncomingCloseCall", after=after) == []
        assert calls(ndis, "ProtocolClIncomingCloseCall", after=after) == []
        if completion == "pended":
            for driver in ("alice", "bob"):
                find(ndis, "ProtocolClCloseCallComplete", driver=driver, after=after)
        delete = find(ndis, "NdisMCmDeleteVc", after=after)
        assert delete.handle == bob_handle
        assert vc.call == "closed" and bob_vc.call == "closed" and host.af("bob").vcs == []
        assert [(v.handle, v.state.value) for v in ndis.vcs] == [(vc.handle, "created")]
        assert ndis.calls == () and ndis.operations == ()

    def test_a_hang_up_left_over_does_not_reach_the_next_call(self, completion: str) -> None:
        """Both ends hang up at once, newest work first: alice's close is done and she
        calls again on the same VC before the MCM's work item for bob's hang-up runs,
        which must not close her new call."""
        host = network(completion)
        ndis = host.ndis
        vc, bob_vc = connect(host)
        host.clients["bob"].close_call(bob_vc)
        host.clients["alice"].close_call(vc)
        ndis.scheduler.policy = NewestFirst()
        while vc.call != "closed":
            assert ndis.step() is not None
        after = mark_of(ndis)
        assert ndis.NdisClMakeCall(vc.handle, TO_BOB) == (NDIS_STATUS_PENDING, None)
        ndis.run()
        assert ndis.crashed is None and rules(ndis) == []
        assert calls(ndis, "ProtocolClIncomingCloseCall", after=after) == []
        assert vc.call == "connected" and (vc.handle.label, "connected", True) in call_rows(host)

    def test_vc_reused_for_a_second_call(self, completion: str) -> None:
        host = network(completion)
        ndis = host.ndis
        vc, _ = connect(host)
        host.clients["alice"].close_call(vc)
        ndis.run()
        after = mark_of(ndis)
        status, party = ndis.NdisClMakeCall(vc.handle, TO_BOB)
        assert (status, party) == (NDIS_STATUS_PENDING, None)
        ndis.run()
        find(ndis, "ProtocolClMakeCallComplete", driver="alice", after=after)
        assert vc.call == "connected" and len(host.af("bob").vcs) == 1
        assert (vc.handle.label, "connected", True) in call_rows(host)

    def test_close_without_a_call_is_refused(self, completion: str) -> None:
        host = network(completion)
        vc = host.clients["alice"].create_vc(host.af("alice"))
        assert vc is not None
        refused(
            host, "CoNdisCallState", lambda: host.ndis.NdisClCloseCall(vc.handle, None, None, 0)
        )

    def test_closing_the_af_closes_calls_and_vcs_first(self, completion: str) -> None:
        host = network(completion)
        ndis = host.ndis
        vc, _ = connect(host)
        af = host.af("alice")
        after = mark_of(ndis)
        host.clients["alice"].close_af(af)
        ndis.run()
        close, delete, af_close = in_order(
            ndis,
            ("call", "NdisClCloseCall", None, "alice"),
            ("call", "NdisCoDeleteVc", None, "alice"),
            ("call", "NdisClCloseAddressFamily", None, "alice"),
            after=after,
        )
        assert close.handle == delete.handle == vc.handle.label
        assert af_close.handle == af.handle.label
        assert host.clients["alice"].afs() == [] and ndis.calls == ()
        assert ndis.vcs == () and ndis.operations == ()
        assert [a.client.protocol.name for a in ndis.address_families] == ["bob"]


# --- a call manager that reports a call on an inactive VC ---------------------------------------


class CarelessMcm(SampleMcm):
    """An MCM whose ProtocolCmMakeCall succeeds at once (sync) or pends for the test to complete
    (pended), without ever activating the VC."""

    def ProtocolCmMakeCall(self, CallMgrVcContext: Any, CallParameters: Any, NdisPartyHandle: Any):
        return NDIS_STATUS_SUCCESS if self.completion == "sync" else NDIS_STATUS_PENDING


class TestCallOnInactiveVc:
    """A call manager reports a connected call on a VC it never activated."""

    def test_in_line_success(self) -> None:
        host = network("sync", mcm=CarelessMcm, mode=Mode.COLLECT)
        vc = host.clients["alice"].make_call(host.af("alice"), TO_BOB)
        assert vc is not None
        (violation,) = host.ndis.verifier.violations
        assert (violation.rule, violation.ddi) == ("CoNdisCallOnInactiveVc", "ProtocolCmMakeCall")
        assert violation.handle == vc.handle.label

    @pytest.mark.parametrize("mode", [Mode.STRICT, Mode.COLLECT])
    def test_completed_with_success(self, mode: Mode) -> None:
        host = network("pended", mcm=CarelessMcm, mode=mode)
        ndis = host.ndis
        vc = host.clients["alice"].make_call(host.af("alice"), TO_BOB)
        assert vc is not None
        if mode is Mode.STRICT:
            with pytest.raises(BugCheck) as info:
                ndis.NdisMCmMakeCallComplete(NDIS_STATUS_SUCCESS, vc.handle, None, None, TO_BOB)
            assert (info.value.rule, info.value.ddi) == (
                "CoNdisCallOnInactiveVc",
                "NdisMCmMakeCallComplete",
            )
            return
        ndis.NdisMCmMakeCallComplete(NDIS_STATUS_SUCCESS, vc.handle, None, None, TO_BOB)
        assert rules(ndis) == ["CoNdisCallOnInactiveVc"]

    def test_incoming_call_on_an_inactive_vc_is_refused(self) -> None:
        host = network("sync")
        ndis = host.ndis
        (sap,) = ndis.saps
        vc = host.create_incoming_vc("bob", object())
        refused(
            host,
            "CoNdisCallOnInactiveVc",
            lambda: ndis.NdisMCmDispatchIncomingCall(sap.handle, vc, TO_BOB),
        )


# --- a stand-alone call manager --------------------------------------------------------------


@pytest.mark.parametrize("completion", COMPLETIONS)
class TestStandAloneCallManager:
    """Calls through a stand-alone call manager over a CoNDIS miniport (NdisCm* spellings)."""

    def test_outgoing_call_and_close(self, completion: str) -> None:
        host = build("cm", miniport_completion=completion)
        ndis, alice = host.ndis, host.clients["alice"]
        vc = alice.make_call(host.af(), TO_BOB)
        assert vc is not None and vc.call == "making"
        ndis.run()
        assert vc.call == "connected"
        steps = [
            ("call", "NdisCoCreateVc", None, "alice"),
            ("call", "MiniportCoCreateVc", None, "samplecominiport"),
            ("call", "ProtocolCoCreateVc", None, "samplecallmanager"),
            ("call", "NdisClMakeCall", None, "alice"),
            ("call", "ProtocolCmMakeCall", None, "samplecallmanager"),
            ("return", "NdisClMakeCall", NDIS_STATUS_PENDING),
            ("call", "NdisCmActivateVc", None, "samplecallmanager"),
            ("call", "MiniportCoActivateVc", None, "samplecominiport"),
        ]
        if completion == "pended":
            steps += [
                ("call", "NdisMCoActivateVcComplete", None, "samplecominiport"),
                ("call", "ProtocolCmActivateVcComplete", None, "samplecallmanager"),
            ]
        steps += [
            ("call", "NdisCmMakeCallComplete", None, "samplecallmanager"),
            ("call", "ProtocolClMakeCallComplete", None, "alice"),
        ]
        in_order(ndis, *steps)
        assert call_rows(host) == [(vc.handle.label, "connected", True)]
        after = mark_of(ndis)
        alice.close_call(vc)
        ndis.run()
        in_order(
            ndis,
            ("call", "NdisClCloseCall", None, "alice"),
            ("call", "ProtocolCmCloseCall", None, "samplecallmanager"),
            ("call", "NdisCmDeactivateVc", None, "samplecallmanager"),
            ("call", "MiniportCoDeactivateVc", None, "samplecominiport"),
            after=after,
        )
        # PENDING only when the miniport pended the deactivation.
        closes = calls(ndis, "ProtocolClCloseCallComplete", driver="alice")
        assert len(closes) == (0 if completion == "sync" else 1)
        assert vc.call == "closed" and ndis.calls == () and ndis.operations == ()
        assert alice.delete_vc(vc) == NDIS_STATUS_SUCCESS and ndis.vcs == ()

    def test_incoming_call_and_remote_close(self, completion: str) -> None:
        host = build(
            "cm",
            miniport_completion=completion,
            clients={"bob": with_saps(SAP_BOB)},
        )
        ndis, cm = host.ndis, host.cm
        (sap,) = ndis.saps
        context = CmVc(binding=cm.bindings[0], af=None)
        handle = host.create_incoming_vc("bob", context)
        context.handle = handle
        cm.bindings[0].vcs[handle] = context
        cm.activate_vc(context, TO_BOB)
        ndis.run()
        assert ndis.vcs[0].state.value == "active"
        assert ndis.NdisCmDispatchIncomingCall(sap.handle, handle, TO_BOB) == NDIS_STATUS_SUCCESS
        ndis.NdisCmDispatchCallConnected(handle)
        (bob_vc,) = host.af("bob").vcs
        assert bob_vc.call == "connected"
        after = mark_of(ndis)
        ndis.NdisCmDispatchIncomingCloseCall(NDIS_STATUS_SUCCESS, handle, None, 0)
        ndis.run()
        incoming_close, bob_close, _ = in_order(
            ndis,
            ("call", "ProtocolClIncomingCloseCall", None, "bob"),
            ("call", "NdisClCloseCall", None, "bob"),
            ("call", "NdisCmDeactivateVc", None, "samplecallmanager"),
            after=after,
        )
        assert within(ndis, incoming_close, bob_close)
        assert bob_vc.call == "closed" and ndis.calls == ()
        # The call manager created the VC, so it deletes it.
        after = mark_of(ndis)
        assert ndis.NdisCoDeleteVc(handle) == NDIS_STATUS_SUCCESS
        in_order(
            ndis,
            ("call", "ProtocolCoDeleteVc", None, "bob"),
            ("call", "MiniportCoDeleteVc", None, "samplecominiport"),
            after=after,
        )
        assert host.af("bob").vcs == [] and ndis.vcs == ()
