"""VCs: creation, deletion, and VCs left open at teardown (vc.py).

The contract is vc.py's docstring and the pages it names (nf-ndis-ndiscocreatevc,
nf-ndis-ndiscodeletevc, nf-ndis-ndismcmcreatevc, nf-ndis-ndismcmdeletevc,
guide/creating-a-vc.md, deleting-a-vc.md). "mcm" is the SampleMcm path, "cm" the
SampleCallManager over SampleCoMiniport path (hosts/paths.py builds both). Activation and
deactivation are in test_vc_activation.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from condis import (
    NDIS_STATUS_CLOSING,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_NOT_ACCEPTED,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
    BugCheck,
    Mode,
)
from condis.samples import SampleCallManager, SampleClient, SampleCoMiniport, SampleMcm
from condis.samples.callmanager import CmVc
from hosts.paths import PATHS, Host, build, refused, returned, rules, within
from hosts.vcs import PARAMS, alice_vc, vc_rows
from util import calls, find, in_order, mark_of

TWO_CLIENTS = {"alice": SampleClient, "bob": SampleClient}


# --- purpose-built drivers -----------------------------------------------------------------------


class _Answers:
    """A sample driver whose ProtocolCoCreateVc / ProtocolCoDeleteVc give the next scripted
    status once (then the sample answers again)."""

    create_reply: Any = None
    delete_reply: Any = None

    def ProtocolCoCreateVc(self, ProtocolAfContext: Any, NdisVcHandle: Any) -> Any:
        if self.create_reply is not None:
            reply, self.create_reply = self.create_reply, None
            return reply
        return super().ProtocolCoCreateVc(ProtocolAfContext, NdisVcHandle)  # type: ignore[misc]

    def ProtocolCoDeleteVc(self, ProtocolVcContext: Any) -> Any:
        if self.delete_reply is not None:
            reply, self.delete_reply = self.delete_reply, None
            return reply
        return super().ProtocolCoDeleteVc(ProtocolVcContext)  # type: ignore[misc]


class AnsweringMcm(_Answers, SampleMcm):
    pass


class AnsweringCallManager(_Answers, SampleCallManager):
    pass


class AnsweringClient(_Answers, SampleClient):
    pass


class AnsweringMiniport(SampleCoMiniport):
    """A CoNDIS miniport whose MiniportCoCreateVc gives the next scripted status once."""

    create_reply: Any = None

    def MiniportCoCreateVc(self, MiniportAdapterContext: Any, NdisVcHandle: Any) -> Any:
        if self.create_reply is not None:
            reply, self.create_reply = self.create_reply, None
            return reply
        return super().MiniportCoCreateVc(MiniportAdapterContext, NdisVcHandle)


def answering(path: str, completion: str = "sync", **kwargs: Any) -> Host:
    kwargs.setdefault("clients", {"alice": AnsweringClient})
    return build(
        path,
        completion,
        mcm=AnsweringMcm,
        cm=AnsweringCallManager,
        miniport=AnsweringMiniport,
        **kwargs,
    )


def cm_own_vc(host: Host) -> Any:
    """A VC the stand-alone call manager creates for itself (NdisAfHandle None)."""
    context = CmVc(binding=host.cm.bindings[0], af=None)
    status, handle = host.ndis.NdisCoCreateVc(host.cm_binding_handle(), None, context)
    assert status == NDIS_STATUS_SUCCESS
    context.handle = handle
    return handle


# --- creation ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
class TestClientCreatesVc:
    """NdisCoCreateVc by a client, before an outgoing call."""

    def test_handlers_and_handle(self, path: str) -> None:
        host = build(path)
        ndis = host.ndis
        vc = alice_vc(host)
        call = find(ndis, "NdisCoCreateVc", driver="alice")
        ret = find(ndis, "NdisCoCreateVc", "return", after=call.seq)
        assert ret.status == NDIS_STATUS_SUCCESS and ret.handle == vc.handle.label
        cm_create = find(ndis, "ProtocolCoCreateVc", driver=host.cm_name, after=call.seq)
        assert within(ndis, call, cm_create) and cm_create.handle == vc.handle.label
        if path == "cm":
            mp = find(ndis, "MiniportCoCreateVc", driver="samplecominiport", after=call.seq)
            assert within(ndis, call, mp) and mp.seq < cm_create.seq
        else:
            assert calls(ndis, "MiniportCoCreateVc") == []  # an MCM has none for NDIS to call
        assert vc_rows(ndis) == [(vc.handle.label, "created", "alice")]

    def test_delete_calls_the_peer_and_invalidates_the_handle(self, path: str) -> None:
        host = build(path)
        ndis = host.ndis
        vc = alice_vc(host)
        handle, after = vc.handle, mark_of(ndis)
        assert host.clients["alice"].delete_vc(vc) == NDIS_STATUS_SUCCESS
        delete = find(ndis, "NdisCoDeleteVc", after=after)
        peer = find(ndis, "ProtocolCoDeleteVc", driver=host.cm_name, after=after)
        assert within(ndis, delete, peer)
        if path == "cm":
            mp = find(ndis, "MiniportCoDeleteVc", after=after)
            assert within(ndis, delete, mp) and peer.seq < mp.seq
        else:
            assert calls(ndis, "MiniportCoDeleteVc") == []
        assert ndis.vcs == () and handle.label not in ndis.snapshot()["handles"]
        refused(host, "NdisHandleStale", lambda: ndis.NdisCoDeleteVc(handle))

    def test_af_of_another_client_fails(self, path: str) -> None:
        host = build(path, clients=TWO_CLIENTS)
        ndis = host.ndis
        binding = host.af("alice").binding.handle
        before, after = ndis.snapshot(), mark_of(ndis)
        assert ndis.NdisCoCreateVc(binding, host.af("bob").handle, object()) == (
            NDIS_STATUS_FAILURE,
            None,
        )
        assert calls(ndis, "ProtocolCoCreateVc", after=after) == []
        assert calls(ndis, "MiniportCoCreateVc", after=after) == []
        assert ndis.snapshot() == before

    def test_client_without_af_fails(self, path: str) -> None:
        host = build(path)
        before = host.ndis.snapshot()
        binding = host.af().binding.handle
        assert host.ndis.NdisCoCreateVc(binding, None, object()) == (NDIS_STATUS_FAILURE, None)
        assert host.ndis.snapshot() == before

    def test_closed_af_is_refused(self, path: str) -> None:
        host = build(path)
        af = host.af()
        handle, binding = af.handle, af.binding.handle
        host.clients["alice"].close_af(af)
        host.ndis.run()
        refused(
            host, "NdisHandleStale", lambda: host.ndis.NdisCoCreateVc(binding, handle, object())
        )

    def test_resources(self, path: str) -> None:
        host = build(path)
        ndis, af = host.ndis, host.af()
        ndis.faults.fail("NdisCoCreateVc")
        before, after = ndis.snapshot(), mark_of(ndis)
        assert ndis.NdisCoCreateVc(af.binding.handle, af.handle, object()) == (
            NDIS_STATUS_RESOURCES,
            None,
        )
        assert calls(ndis, "ProtocolCoCreateVc", after=after) == []
        assert ndis.snapshot() == before

    def test_call_manager_failing_creation(self, path: str) -> None:
        host = answering(path)
        ndis, af = host.ndis, host.af()
        host.cm.create_reply = NDIS_STATUS_RESOURCES
        before, after = ndis.snapshot()["handles"], mark_of(ndis)
        assert ndis.NdisCoCreateVc(af.binding.handle, af.handle, object()) == (
            NDIS_STATUS_RESOURCES,
            None,
        )
        label = find(ndis, "ProtocolCoCreateVc", after=after).handle
        if path == "cm":
            # NDIS undoes the miniport's half.
            in_order(
                ndis,
                ("call", "MiniportCoCreateVc"),
                ("return", "ProtocolCoCreateVc", NDIS_STATUS_RESOURCES, host.cm_name),
                ("call", "MiniportCoDeleteVc"),
                ("return", "NdisCoCreateVc", NDIS_STATUS_RESOURCES),
                after=after,
            )
        else:
            assert calls(ndis, "MiniportCoDeleteVc") == []
        assert ndis.vcs == () and label not in ndis.snapshot()["handles"]
        assert ndis.snapshot()["handles"] == before

    @pytest.mark.parametrize("mode", [Mode.STRICT, Mode.COLLECT])
    def test_pending_from_protocol_co_create_vc(self, path: str, mode: Mode) -> None:
        host = answering(path, mode=mode)
        ndis, af = host.ndis, host.af()
        host.cm.create_reply = NDIS_STATUS_PENDING
        if mode is Mode.STRICT:
            with pytest.raises(BugCheck) as info:
                ndis.NdisCoCreateVc(af.binding.handle, af.handle, object())
            assert (info.value.rule, info.value.ddi) == (
                "CoNdisHandlerStatus",
                "ProtocolCoCreateVc",
            )
            return
        assert ndis.NdisCoCreateVc(af.binding.handle, af.handle, object()) == (
            NDIS_STATUS_FAILURE,
            None,
        )
        assert rules(ndis) == ["CoNdisHandlerStatus"]
        assert ndis.vcs == ()
        assert len(calls(ndis, "MiniportCoDeleteVc")) == (1 if path == "cm" else 0)


class TestCallManagerCreatesVc:
    """NdisCoCreateVc by a stand-alone call manager, NdisMCmCreateVc by an MCM."""

    def test_for_an_incoming_call(self) -> None:
        host = build("cm")
        ndis = host.ndis
        handle = host.create_incoming_vc("alice", object())
        call = find(ndis, "NdisCoCreateVc", driver="samplecallmanager")
        _, cl = in_order(
            ndis,
            ("call", "MiniportCoCreateVc", None, "samplecominiport"),
            ("call", "ProtocolCoCreateVc", None, "alice"),
            after=call.seq,
        )
        assert within(ndis, call, cl) and cl.handle == handle.label
        (incoming,) = host.af().vcs
        assert incoming.handle is handle and incoming.incoming
        assert vc_rows(ndis) == [(handle.label, "created", "samplecallmanager")]
        after = mark_of(ndis)
        assert ndis.NdisCoDeleteVc(handle) == NDIS_STATUS_SUCCESS
        in_order(
            ndis,
            ("call", "ProtocolCoDeleteVc", None, "alice"),
            ("call", "MiniportCoDeleteVc", None, "samplecominiport"),
            ("return", "NdisCoDeleteVc", NDIS_STATUS_SUCCESS),
            after=after,
        )
        assert host.af().vcs == [] and ndis.vcs == ()

    def test_for_itself(self) -> None:
        host = build("cm")
        ndis = host.ndis
        after = mark_of(ndis)
        handle = cm_own_vc(host)
        assert calls(ndis, "ProtocolCoCreateVc", after=after) == []
        assert len(calls(ndis, "MiniportCoCreateVc", after=after)) == 1
        assert vc_rows(ndis) == [(handle.label, "created", "samplecallmanager")]
        after = mark_of(ndis)
        assert ndis.NdisCoDeleteVc(handle) == NDIS_STATUS_SUCCESS
        assert calls(ndis, "ProtocolCoDeleteVc", after=after) == []
        assert len(calls(ndis, "MiniportCoDeleteVc", after=after)) == 1
        assert ndis.vcs == ()

    def test_client_failing_creation(self) -> None:
        host = answering("cm")
        host.clients["alice"].create_reply = NDIS_STATUS_FAILURE
        ndis, af = host.ndis, host.af()
        after = mark_of(ndis)
        status = ndis.NdisCoCreateVc(host.cm_binding_handle(), af.handle, object())
        assert status == (NDIS_STATUS_FAILURE, None)
        assert len(calls(ndis, "MiniportCoDeleteVc", after=after)) == 1
        assert ndis.vcs == ()

    def test_miniport_failing_creation(self) -> None:
        host = answering("cm")
        host.miniport.create_reply = NDIS_STATUS_RESOURCES
        ndis, af = host.ndis, host.af()
        after = mark_of(ndis)
        assert ndis.NdisCoCreateVc(af.binding.handle, af.handle, object()) == (
            NDIS_STATUS_RESOURCES,
            None,
        )
        # The call manager never heard of the VC, and there is nothing to undo.
        assert calls(ndis, "ProtocolCoCreateVc", after=after) == []
        assert calls(ndis, "MiniportCoDeleteVc", after=after) == []
        assert ndis.vcs == ()

    def test_mcm_creates_for_an_incoming_call(self) -> None:
        host = build("mcm")
        ndis = host.ndis
        handle = host.create_incoming_vc("alice", object())
        call = find(ndis, "NdisMCmCreateVc", driver="samplemcm")
        cl = find(ndis, "ProtocolCoCreateVc", driver="alice", after=call.seq)
        assert within(ndis, call, cl) and cl.handle == handle.label
        assert calls(ndis, "MiniportCoCreateVc") == []
        assert vc_rows(ndis) == [(handle.label, "created", "samplemcm")]
        after = mark_of(ndis)
        assert ndis.NdisMCmDeleteVc(handle) == NDIS_STATUS_SUCCESS
        find(ndis, "ProtocolCoDeleteVc", driver="alice", after=after)
        assert ndis.vcs == () and host.af().vcs == []

    def test_mcm_create_with_an_af_of_another_adapter_fails(self) -> None:
        host = build("mcm")
        ndis = host.ndis
        ndis.add_adapter("samplemcm", "mcm1")
        ndis.run()
        other = next(af for af in host.clients["alice"].afs("open") if af is not host.af())
        before = ndis.snapshot()
        status = ndis.NdisMCmCreateVc(ndis.adapter("mcm0").handle, other.handle, object())
        assert status == (NDIS_STATUS_FAILURE, None)
        assert ndis.snapshot() == before

    def test_mcm_create_resources(self) -> None:
        host = build("mcm")
        ndis = host.ndis
        ndis.faults.fail("NdisMCmCreateVc")
        before = ndis.snapshot()
        status = ndis.NdisMCmCreateVc(ndis.adapter("mcm0").handle, host.af().handle, object())
        assert status == (NDIS_STATUS_RESOURCES, None)
        assert ndis.snapshot() == before

    def test_client_failing_an_mcm_creation(self) -> None:
        host = answering("mcm")
        host.clients["alice"].create_reply = NDIS_STATUS_RESOURCES
        ndis = host.ndis
        before = ndis.snapshot()["handles"]
        status = ndis.NdisMCmCreateVc(ndis.adapter("mcm0").handle, host.af().handle, object())
        assert status == (NDIS_STATUS_RESOURCES, None)
        assert ndis.vcs == () and ndis.snapshot()["handles"] == before


# --- deletion ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
class TestDelete:
    """NdisCoDeleteVc / NdisMCmDeleteVc: only the creator, only an idle VC."""

    def test_active_vc_is_not_accepted(self, path: str) -> None:
        host = build(path)
        ndis, vc = host.ndis, alice_vc(host)
        host.activate(vc.handle, PARAMS)
        after = mark_of(ndis)
        error = refused(host, "CoNdisDeleteActiveVc", lambda: ndis.NdisCoDeleteVc(vc.handle))
        assert error.handle == vc.handle.label
        assert calls(ndis, "ProtocolCoDeleteVc", after=after) == []

    def test_active_vc_returns_not_accepted_in_collect_mode(self, path: str) -> None:
        host = build(path, mode=Mode.COLLECT)
        ndis, vc = host.ndis, alice_vc(host)
        host.activate(vc.handle, PARAMS)
        before = ndis.snapshot()
        assert ndis.NdisCoDeleteVc(vc.handle) == NDIS_STATUS_NOT_ACCEPTED
        assert rules(ndis) == ["CoNdisDeleteActiveVc"] and ndis.snapshot() == before

    def test_only_the_creator_deletes(self, path: str) -> None:
        host = build(path)
        ndis = host.ndis
        incoming = host.create_incoming_vc("alice", object())
        with ndis.driver_context(ndis.driver("alice")):
            error = refused(host, "CoNdisVcNotCreator", lambda: ndis.NdisCoDeleteVc(incoming))
        assert error.driver == "alice"
        mine = alice_vc(host)
        with ndis.driver_context(ndis.driver(host.cm_name)):
            refused(
                host,
                "CoNdisVcNotCreator",
                lambda: (
                    host.ddi("DeleteVc")(mine.handle)
                    if path == "mcm"
                    else ndis.NdisCoDeleteVc(mine.handle)
                ),
            )

    def test_peer_refusing_keeps_the_vc(self, path: str) -> None:
        host = answering(path)
        ndis, vc = host.ndis, alice_vc(host)
        host.cm.delete_reply = NDIS_STATUS_FAILURE
        after = mark_of(ndis)
        assert ndis.NdisCoDeleteVc(vc.handle) == NDIS_STATUS_FAILURE
        assert returned(ndis, "ProtocolCoDeleteVc", after=after) == [NDIS_STATUS_FAILURE]
        assert calls(ndis, "MiniportCoDeleteVc", after=after) == []
        assert vc_rows(ndis) == [(vc.handle.label, "created", "alice")]
        assert host.clients["alice"].delete_vc(vc) == NDIS_STATUS_SUCCESS
        assert ndis.vcs == ()


class TestDeleteWhileDeactivating:
    def test_closing_while_deactivation_pends(self) -> None:
        host = build("cm", "pended")
        ndis, vc = host.ndis, alice_vc(host)
        ndis.NdisCmActivateVc(vc.handle, PARAMS)
        ndis.run()
        assert ndis.NdisCmDeactivateVc(vc.handle) == NDIS_STATUS_PENDING
        before = ndis.snapshot()
        assert ndis.NdisCoDeleteVc(vc.handle) == NDIS_STATUS_CLOSING
        assert ndis.snapshot() == before and ndis.verifier.violations == []
        ndis.run()
        assert ndis.NdisCoDeleteVc(vc.handle) == NDIS_STATUS_SUCCESS


# --- teardown ------------------------------------------------------------------------------------


class LazyMcm(SampleMcm):
    """An MCM whose MiniportHaltEx leaves everything as it is."""

    def MiniportHaltEx(self, MiniportAdapterContext: Any, HaltAction: Any) -> None:
        MiniportAdapterContext.halted = True


class TestTeardown:
    """VCs still there when a binding closes or an adapter halts: CoNdisVcOpenOnTeardown."""

    @pytest.mark.parametrize("path", PATHS)
    def test_closing_a_binding_with_a_vc(self, path: str) -> None:
        host = build(path)
        vc = alice_vc(host)
        binding = host.af().binding.handle
        error = refused(
            host, "CoNdisVcOpenOnTeardown", lambda: host.ndis.NdisCloseAdapterEx(binding)
        )
        assert (error.ddi, error.handle) == ("NdisCloseAdapterEx", vc.handle.label)

    def test_call_manager_vc_left_at_halt(self) -> None:
        host = build("cm", mode=Mode.COLLECT)
        ndis = host.ndis
        handle = cm_own_vc(host)
        ndis.halt_adapter("atm0")
        found = {(v.ddi, v.driver) for v in ndis.verifier.violations if v.handle == handle.label}
        assert found == {
            ("NdisCloseAdapterEx", "samplecallmanager"),
            ("MiniportHaltEx", "samplecallmanager"),
        }
        assert set(rules(ndis)) == {"CoNdisVcOpenOnTeardown"}

    def test_vc_left_at_mcm_halt(self) -> None:
        host = build("mcm", mode=Mode.COLLECT, mcm=LazyMcm)
        ndis = host.ndis
        vc = alice_vc(host)
        ndis.halt_adapter("mcm0")
        leaks = [v for v in ndis.verifier.violations if v.rule == "CoNdisVcOpenOnTeardown"]
        assert [(v.ddi, v.handle, v.driver) for v in leaks] == [
            ("MiniportHaltEx", vc.handle.label, "alice")
        ]
