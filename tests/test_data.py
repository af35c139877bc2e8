"""Data on VCs: sends, receives, returns, and who owns an NBL when.

The contract is data.py's docstring and the pages it names (nf-ndis-ndiscosendnetbufferlists,
nf-ndis-ndismcosendnetbufferlistscomplete, nf-ndis-ndismcoindicatereceivenetbufferlists,
nc-ndis-protocol_co_receive_net_buffer_lists). The traffic runs over the sample MCM's loopback
network (hosts/calls.py): what alice sends on her VC, bob receives on his, and back.
"""

from __future__ import annotations

from typing import Any

import pytest

from condis import CO_SAP, NDIS_STATUS_SUCCESS, NDIS_STATUS_VC_NOT_ACTIVATED, BugCheck, Mode
from condis.data import NDIS_RECEIVE_FLAGS_RESOURCES, NET_BUFFER_LIST
from condis.samples import SampleClient, SampleCoMiniport, SampleMcm
from condis.samples.callmanager import CmVc
from condis.samples.mcm import called_party
from hosts.calls import connect, network
from hosts.paths import COMPLETIONS, Q2931, SAP_BOB, Host, build, refused, rules, within
from util import calls, find, in_order, mark_of


class RecordingReceiver(SampleClient):
    """The sample client, recording the shape of what it receives: one tuple of buffers per NBL,
    per indication, with NumberOfNetBufferLists and the flags."""

    def __init__(self, ndis: Any, **kwargs: Any) -> None:
        super().__init__(ndis, **kwargs)
        self.indications: list[tuple[list[tuple[bytes, ...]], int, int]] = []

    def ProtocolCoReceiveNetBufferLists(self, *args: Any) -> None:
        _, _, nbls, count, flags = args
        shape = [tuple(nb.Data for nb in nbl.buffers()) for nbl in nbls.chain()]
        self.indications.append((shape, count, flags))
        super().ProtocolCoReceiveNetBufferLists(*args)


def recording_network(completion: str = "sync", **kwargs: Any) -> Host:
    """The loopback network of hosts/calls.py with recording clients."""
    return build(
        "mcm",
        completion,
        clients={
            "alice": RecordingReceiver,
            "bob": lambda n: RecordingReceiver(n, saps={Q2931: [SAP_BOB]}),
        },
        **kwargs,
    )


def send_raw(host: Host, vc: Any, *nbls: NET_BUFFER_LIST) -> None:
    """alice sends `nbls` as one chain with NdisCoSendNetBufferLists (keeping her count right)."""
    vc.sends_outstanding += len(nbls)
    head = NET_BUFFER_LIST.link(list(nbls))
    host.ndis.NdisCoSendNetBufferLists(vc.handle, head, 0)


def binding_of(host: Host, client: str) -> Any:
    return host.ndis.binding(client, host.adapter).handle


# --- traffic -------------------------------------------------------------------------------------


@pytest.mark.parametrize("completion", COMPLETIONS)
class TestTraffic:
    """What one end sends, the other receives, exactly once and in order."""

    def test_both_ways_in_order(self, completion: str) -> None:
        host = network(completion)
        ndis, alice, bob = host.ndis, host.clients["alice"], host.clients["bob"]
        vc, bob_vc = connect(host)
        to_bob = [f"a{i}".encode() for i in range(5)]
        to_alice = [f"b{i}".encode() for i in range(4)]
        alice.send(vc, *to_bob[:2])
        bob.send(bob_vc, *to_alice[:3])
        alice.send(vc, *to_bob[2:])
        bob.send(bob_vc, to_alice[3])
        ndis.run()
        assert bob_vc.received == to_bob and vc.received == to_alice
        assert vc.send_statuses == [NDIS_STATUS_SUCCESS] * 5
        assert bob_vc.send_statuses == [NDIS_STATUS_SUCCESS] * 4
        assert vc.sends_outstanding == bob_vc.sends_outstanding == 0
        assert ndis.in_flight == ()
        counts = ndis.data_counts
        assert (counts.sent, counts.send_completed, counts.indicated, counts.returned) == (
            9,
            9,
            9,
            9,
        )
        assert counts.bytes_sent == counts.bytes_indicated == 18

    def test_documented_order(self, completion: str) -> None:
        host = network(completion)
        ndis = host.ndis
        vc, bob_vc = connect(host)
        after = mark_of(ndis)
        host.clients["alice"].send(vc, b"hello")
        ndis.run()
        send, mp, indicate, receive, ret, mp_ret, complete, done = in_order(
            ndis,
            ("call", "NdisCoSendNetBufferLists", None, "alice"),
            ("call", "MiniportCoSendNetBufferLists", None, "samplemcm"),
            ("call", "NdisMCoIndicateReceiveNetBufferLists", None, "samplemcm"),
            ("call", "ProtocolCoReceiveNetBufferLists", None, "bob"),
            ("call", "NdisReturnNetBufferLists", None, "bob"),
            ("call", "MiniportReturnNetBufferLists", None, "samplemcm"),
            ("call", "NdisMCoSendNetBufferListsComplete", None, "samplemcm"),
            ("call", "ProtocolCoSendNetBufferListsComplete", None, "alice"),
            after=after,
        )
        assert within(ndis, send, mp) and within(ndis, indicate, receive)
        assert within(ndis, ret, mp_ret) and within(ndis, complete, done)
        assert send.handle == mp.handle == complete.handle == done.handle == vc.handle.label
        assert indicate.handle == receive.handle == bob_vc.handle.label
        if completion == "pended":
            # The MCM completes from a work item: after NdisCoSendNetBufferLists returned.
            assert find(ndis, "NdisCoSendNetBufferLists", "return", after=after).seq < done.seq

    def test_chains_and_multi_buffer_nbls(self, completion: str) -> None:
        host = recording_network(completion)
        ndis, bob = host.ndis, host.clients["bob"]
        vc, bob_vc = connect(host)
        nbls = [
            NET_BUFFER_LIST.of(b"ab", b"cd", SourceHandle=vc.handle),
            NET_BUFFER_LIST.of(b"e", SourceHandle=vc.handle),
            NET_BUFFER_LIST.of(b"fg", b"h", b"ij", SourceHandle=vc.handle),
        ]
        send_raw(host, vc, *nbls)
        ndis.run()
        assert bob.indications == [([(b"ab", b"cd"), (b"e",), (b"fg", b"h", b"ij")], 3, 0)]
        assert bob_vc.received == [b"abcd", b"e", b"fghij"]
        # Every NBL comes back to the sender, buffers untouched.
        assert all(n.Status == NDIS_STATUS_SUCCESS for n in nbls)
        assert [n.data for n in nbls] == [b"abcd", b"e", b"fghij"]
        assert vc.sends_outstanding == 0 and ndis.in_flight == ()
        assert ndis.data_counts.sent == 3 and ndis.data_counts.bytes_sent == 10

    def test_in_flight_until_completed(self, completion: str) -> None:
        host = network(completion)
        ndis = host.ndis
        vc, _ = connect(host)
        nbl = NET_BUFFER_LIST.of(b"x", SourceHandle=vc.handle)
        send_raw(host, vc, nbl)
        if completion == "pended":
            ((entry),) = ndis.in_flight
            assert (entry.nbl, entry.vc.handle, entry.direction) == (nbl, vc.handle, "send")
            assert ndis.data_counts.send_completed == 0
        ndis.run()
        assert ndis.in_flight == () and ndis.data_counts.send_completed == 1


# --- receive flags -------------------------------------------------------------------------------


class TestReceiveResources:
    """NDIS_RECEIVE_FLAGS_RESOURCES: the NBLs are the miniport's again when the indication
    returns."""

    def test_no_return_expected(self) -> None:
        host = recording_network()
        ndis, bob = host.ndis, host.clients["bob"]
        _, bob_vc = connect(host)
        nbl = NET_BUFFER_LIST.of(b"low", SourceHandle=bob_vc.handle)
        before, after = ndis.data_counts.returned, mark_of(ndis)
        ndis.NdisMCoIndicateReceiveNetBufferLists(
            bob_vc.handle, nbl, 1, NDIS_RECEIVE_FLAGS_RESOURCES
        )
        assert bob.indications[-1] == ([(b"low",)], 1, NDIS_RECEIVE_FLAGS_RESOURCES)
        assert bob_vc.received == [b"low"]
        assert calls(ndis, "NdisReturnNetBufferLists", after=after) == []
        assert calls(ndis, "MiniportReturnNetBufferLists", after=after) == []
        assert ndis.in_flight == () and ndis.data_counts.returned == before
        # Returning it anyway is returning an NBL the protocol does not own.
        refused(
            host,
            "CoNdisNblOwnership",
            lambda: ndis.NdisReturnNetBufferLists(binding_of(host, "bob"), nbl, 0),
        )

    def test_without_the_flag_the_protocol_owns_them_until_returned(self) -> None:
        host = network()
        ndis = host.ndis
        _, bob_vc = connect(host)
        nbl = NET_BUFFER_LIST.of(b"kept", SourceHandle=bob_vc.handle)
        ndis.NdisMCoIndicateReceiveNetBufferLists(bob_vc.handle, nbl, 1, 0)
        # The sample client returned it from its handler.
        (ret,) = calls(ndis, "NdisReturnNetBufferLists", driver="bob")
        assert find(ndis, "MiniportReturnNetBufferLists", after=ret.seq).driver == "samplemcm"
        assert ndis.in_flight == ()
        refused(
            host,
            "CoNdisNblOwnership",
            lambda: ndis.NdisReturnNetBufferLists(binding_of(host, "bob"), nbl, 0),
        )

    def test_number_of_nbls_must_match_the_chain(self) -> None:
        host = network()
        _, bob_vc = connect(host)
        nbl = NET_BUFFER_LIST.of(b"one", SourceHandle=bob_vc.handle)
        before = host.ndis.snapshot()
        with pytest.raises(
            ValueError,
            match=r"^NdisMCoIndicateReceiveNetBufferLists: NumberOfNetBufferLists is 2 but the "
            r"list holds 1$",
        ):
            host.ndis.NdisMCoIndicateReceiveNetBufferLists(bob_vc.handle, nbl, 2, 0)
        assert host.ndis.snapshot() == before


# --- ownership -----------------------------------------------------------------------------------


class TestOwnership:
    """CoNdisNblOwnership: an NBL is sent, completed, indicated and returned exactly once."""

    def test_sending_an_nbl_still_in_flight(self) -> None:
        host = network("pended")
        ndis = host.ndis
        vc, bob_vc = connect(host)
        nbl = NET_BUFFER_LIST.of(b"once", SourceHandle=vc.handle)
        send_raw(host, vc, nbl)
        assert len(ndis.in_flight) == 1
        error = refused(
            host, "CoNdisNblOwnership", lambda: ndis.NdisCoSendNetBufferLists(vc.handle, nbl, 0)
        )
        assert error.ddi == "NdisCoSendNetBufferLists" and error.driver == "alice"
        ndis.run()
        assert bob_vc.received == [b"once"] and ndis.data_counts.send_completed == 1

    def test_source_handle_must_be_the_vc(self) -> None:
        host = network()
        ndis = host.ndis
        vc, bob_vc = connect(host)
        for source in (None, bob_vc.handle):
            nbl = NET_BUFFER_LIST.of(b"x", SourceHandle=source)
            refused(
                host,
                "CoNdisNblOwnership",
                lambda nbl=nbl: ndis.NdisCoSendNetBufferLists(vc.handle, nbl, 0),
            )
        # The same for a miniport's indication.
        stray = NET_BUFFER_LIST.of(b"x", SourceHandle=vc.handle)
        refused(
            host,
            "CoNdisNblOwnership",
            lambda: ndis.NdisMCoIndicateReceiveNetBufferLists(bob_vc.handle, stray, 1, 0),
        )

    def test_completing_an_nbl_twice_or_never_sent(self) -> None:
        host = network()
        ndis = host.ndis
        vc, _ = connect(host)
        nbl = NET_BUFFER_LIST.of(b"x", SourceHandle=vc.handle)
        send_raw(host, vc, nbl)  # the sync sample completes it before returning
        assert ndis.data_counts.send_completed == 1
        error = refused(
            host,
            "CoNdisNblOwnership",
            lambda: ndis.NdisMCoSendNetBufferListsComplete(vc.handle, nbl, 0),
        )
        assert (error.ddi, error.driver) == ("NdisMCoSendNetBufferListsComplete", "samplemcm")
        never = NET_BUFFER_LIST.of(b"y", SourceHandle=vc.handle)
        refused(
            host,
            "CoNdisNblOwnership",
            lambda: ndis.NdisMCoSendNetBufferListsComplete(vc.handle, never, 0),
        )
        assert ndis.data_counts.send_completed == 1

    def test_returning_an_nbl_never_indicated(self) -> None:
        host = network()
        connect(host)
        nbl = NET_BUFFER_LIST.of(b"x")
        error = refused(
            host,
            "CoNdisNblOwnership",
            lambda: host.ndis.NdisReturnNetBufferLists(binding_of(host, "bob"), nbl, 0),
        )
        assert (error.ddi, error.driver) == ("NdisReturnNetBufferLists", "bob")


# --- inactive VCs and leaks ----------------------------------------------------------------------


class TestInactiveVc:
    """CoNdisSendOnInactiveVc: data on a VC whose call is gone."""

    @pytest.mark.parametrize("completion", COMPLETIONS)
    def test_send_after_the_call_closed(self, completion: str) -> None:
        host = network(completion, mode=Mode.COLLECT)
        ndis, alice = host.ndis, host.clients["alice"]
        vc, bob_vc = connect(host)
        alice.close_call(vc)
        ndis.run()
        after = mark_of(ndis)
        alice.send(vc, b"late")
        assert rules(ndis) == ["CoNdisSendOnInactiveVc"]
        # NDIS fails the send, but never from inside NdisCoSendNetBufferLists.
        assert vc.send_statuses == [] and vc.sends_outstanding == 1
        assert calls(ndis, "MiniportCoSendNetBufferLists", after=after) == []
        ndis.run()
        assert vc.send_statuses == [NDIS_STATUS_VC_NOT_ACTIVATED] and vc.sends_outstanding == 0
        find(ndis, "ProtocolCoSendNetBufferListsComplete", driver="alice", after=after)
        assert bob_vc.received == [] and ndis.in_flight == ()

    def test_send_after_the_call_closed_strict(self) -> None:
        host = network()
        vc, _ = connect(host)
        host.clients["alice"].close_call(vc)
        host.ndis.run()
        with pytest.raises(BugCheck) as info:
            host.clients["alice"].send(vc, b"late")
        assert (info.value.rule, info.value.handle) == ("CoNdisSendOnInactiveVc", vc.handle.label)

    def test_receive_on_an_inactive_vc_is_refused(self) -> None:
        host = network()
        ndis = host.ndis
        vc = host.clients["alice"].create_vc(host.af("alice"))
        assert vc is not None
        nbl = NET_BUFFER_LIST.of(b"x", SourceHandle=vc.handle)
        refused(
            host,
            "CoNdisSendOnInactiveVc",
            lambda: ndis.NdisMCoIndicateReceiveNetBufferLists(vc.handle, nbl, 1, 0),
        )


class HoardingMcm(SampleMcm):
    """An MCM that never completes a send, and whose MiniportHaltEx returns at once."""

    def MiniportCoSendNetBufferLists(self, MiniportVcContext, NetBufferLists, SendFlags):
        self.hoard = NetBufferLists

    def MiniportHaltEx(self, MiniportAdapterContext: Any, HaltAction: Any) -> None:
        MiniportAdapterContext.halted = True


class HoardingMiniport(SampleCoMiniport):
    """A CoNDIS miniport that never completes a send."""

    def MiniportCoSendNetBufferLists(self, MiniportVcContext, NetBufferLists, SendFlags):
        self.hoard = NetBufferLists


class TestLeak:
    """CoNdisNblLeak: an NBL still out when the adapter halts."""

    def test_mcm_never_completing_a_send(self) -> None:
        host = network(mcm=HoardingMcm)
        ndis = host.ndis
        vc, _ = connect(host)
        host.clients["alice"].send(vc, b"lost")
        assert ndis.verifier.violations == []
        with pytest.raises(BugCheck) as info:
            ndis.halt_adapter("mcm0")
        error = info.value
        assert (error.rule, error.ddi, error.driver, error.handle) == (
            "CoNdisNblLeak",
            "MiniportHaltEx",
            "samplemcm",
            vc.handle.label,
        )

    def test_miniport_never_completing_a_call_managers_send(self) -> None:
        host = build("cm", miniport=HoardingMiniport, mode=Mode.COLLECT)
        ndis, cm = host.ndis, host.cm
        context = CmVc(binding=cm.bindings[0], af=None)
        status, handle = ndis.NdisCoCreateVc(host.cm_binding_handle(), None, context)
        assert status == NDIS_STATUS_SUCCESS
        ndis.NdisCmActivateVc(handle, called_party(CO_SAP(SapType=1, Sap=b"switch")))
        ndis.NdisCoSendNetBufferLists(handle, NET_BUFFER_LIST.of(b"lost", SourceHandle=handle))
        assert len(ndis.in_flight) == 1 and ndis.verifier.violations == []
        ndis.halt_adapter("atm0")
        leaks = [
            (v.ddi, v.driver, v.handle)
            for v in ndis.verifier.violations
            if v.rule == "CoNdisNblLeak"
        ]
        assert leaks == [("MiniportHaltEx", "samplecominiport", handle.label)]


class TestCloseWithSendsOut:
    """CoNdisCloseCallWithSends: NdisClCloseCall before the client's sends came back."""

    def test_closing_a_call_with_a_send_still_at_the_miniport(self) -> None:
        host = network(mcm=HoardingMcm)
        ndis = host.ndis
        vc, _ = connect(host)
        host.clients["alice"].send(vc, b"still out")
        with pytest.raises(BugCheck) as info:
            ndis.NdisClCloseCall(vc.handle, None, None, 0)
        error = info.value
        assert (error.rule, error.ddi, error.driver, error.handle) == (
            "CoNdisCloseCallWithSends",
            "NdisClCloseCall",
            "alice",
            vc.handle.label,
        )
        assert "1 NBL(s) sent" in error.detail

    def test_the_sample_client_waits_for_its_sends_before_closing(self) -> None:
        host = network(completion="pended")
        ndis = host.ndis
        vc, _ = connect(host)
        alice = host.clients["alice"]
        alice.send(vc, b"one", b"two")
        alice.close_call(vc)  # deferred until both sends have come back
        ndis.run()
        assert vc.call == "closed"
        assert ndis.verifier.violations == []
