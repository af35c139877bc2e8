"""Changing a call's quality of service (qos.py), from the client and from the remote end.

NdisClModifyCallQoS reaches the call manager's ProtocolCmModifyCallQoS; a
synchronous status is the DDI's return, a pended one comes back through
Ndis(M)CmModifyCallQoSComplete -> ProtocolClModifyCallQoSComplete. A call manager
that accepts re-activates the VC (NdisMCmActivateVc / NdisCmActivateVc), and the
sample MCM tells the other end (NdisMCmDispatchIncomingCallQoSChange ->
ProtocolClIncomingCallQoSChange). NDIS refuses a change when the call is not up or
one is already pending, records the new parameters only on success, and checks the
completion's spelling and that it comes once.
"""

from __future__ import annotations

from typing import Any

import pytest

from condis import (
    CO_CALL_MANAGER_PARAMETERS,
    CO_CALL_PARAMETERS,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_INVALID_DATA,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
    PASSIVE_LEVEL,
    BugCheck,
    Ndis,
    RandomPolicy,
)
from condis.samples import SampleMcm
from condis.trace import TraceRecord
from hosts.qos import ParkingMcm, after, cm_call, mcm_call, priority, qos, steps
from util import expect_bugcheck, mark_of, records


def first_call(ndis: Ndis, name: str) -> TraceRecord:
    return next(r for r in ndis.trace if r.name == name and r.phase.value == "call")


class TwiceMcm(SampleMcm):
    """Pends a QoS change and completes it twice from one work item."""

    def ProtocolCmModifyCallQoS(self, CallMgrVcContext: Any, CallParameters: Any) -> Any:
        handle = CallMgrVcContext.handle

        def complete() -> None:
            for _ in range(2):
                self.ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_SUCCESS, handle, CallParameters)

        self._defer(CallMgrVcContext.af.adapter, complete)
        return NDIS_STATUS_PENDING


class TestModifySync:
    """The call manager answers ProtocolCmModifyCallQoS at once."""

    def test_success_reactivates_the_vc_and_records_the_parameters(self) -> None:
        h = mcm_call()
        ndis, vc = h.ndis, h.vc
        assert priority(ndis, vc.handle) == 0
        mark = mark_of(ndis)
        assert ndis.NdisClModifyCallQoS(vc.handle, qos(3)) == NDIS_STATUS_SUCCESS
        names = ("NdisClModifyCallQoS", "ProtocolCmModifyCallQoS", "NdisMCmActivateVc")
        ok = NDIS_STATUS_SUCCESS
        assert steps(ndis, mark, *names, "ProtocolClModifyCallQoSComplete") == [
            ("call", "NdisClModifyCallQoS", "alice", None),
            ("call", "ProtocolCmModifyCallQoS", "samplemcm", None),
            ("call", "NdisMCmActivateVc", "samplemcm", None),
            ("return", "NdisMCmActivateVc", "samplemcm", ok),
            ("return", "ProtocolCmModifyCallQoS", "samplemcm", ok),
            ("return", "NdisClModifyCallQoS", "alice", ok),
        ]
        for r in after(ndis, mark):
            assert r.irql == PASSIVE_LEVEL
            if r.name in names:
                assert r.handle == vc.handle.label
        assert priority(ndis, vc.handle) == 3
        assert ndis.operations == ()

    def test_the_other_end_hears_of_the_change(self) -> None:
        h = mcm_call()
        ndis, bob_label = h.ndis, h.bob_vc.handle.label
        assert h.alice.modify_qos(h.vc, qos(4)) == NDIS_STATUS_SUCCESS
        assert h.bob_vc.qos_changes == []  # the MCM tells bob from a work item
        mark = mark_of(ndis)
        ndis.run()
        names = (
            "NdisMCmActivateVc",
            "NdisMCmDispatchIncomingCallQoSChange",
            "ProtocolClIncomingCallQoSChange",
        )
        # the MCM activates bob's VC with the new parameters first (guide:
        # incoming-request-to-change-call-parameters.md), then NDIS tells bob
        got = [(r.phase.value, r.name, r.driver, r.handle) for r in after(ndis, mark)]
        got = [g for g in got if g[1] in names]
        assert got == [
            ("call", names[0], "samplemcm", bob_label),
            ("return", names[0], "samplemcm", bob_label),
            ("call", names[1], "samplemcm", bob_label),
            ("call", names[2], "bob", bob_label),
            ("return", names[2], "bob", bob_label),
            ("return", names[1], "samplemcm", bob_label),
        ]
        assert [p.MediaParameters.ReceivePriority for p in h.bob_vc.qos_changes] == [4]
        assert h.vc.parameters.MediaParameters.ReceivePriority == 4

    @pytest.mark.parametrize("seed", range(12))
    def test_a_close_right_after_the_change_is_not_reported_as_a_change(self, seed: int) -> None:
        # The MCM's work item that tells bob may run after the call closed (any order of
        # the work items): it must not dispatch on a closed call or a deleted VC.
        h = mcm_call(policy=RandomPolicy(seed))
        assert h.alice.modify_qos(h.vc, qos(4)) == NDIS_STATUS_SUCCESS
        h.alice.close_call(h.vc)
        h.ndis.run()
        assert h.ndis.crashed is None
        assert h.ndis.calls == ()
        assert h.vc.call == "closed"

    def test_while_an_incoming_call_is_offered(self) -> None:
        # "before it calls NdisClIncomingCallComplete, such a client can negotiate with the
        # call manager by calling NdisClModifyCallQoS" (qos.py docstring)
        h = mcm_call(incoming="pend")
        ndis, bob_vc = h.ndis, h.bob_vc
        assert bob_vc.call == "offered"
        mark = mark_of(ndis)
        assert ndis.NdisClModifyCallQoS(bob_vc.handle, qos(6)) == NDIS_STATUS_SUCCESS
        assert ("call", "ProtocolCmModifyCallQoS", "samplemcm", None) in steps(
            ndis, mark, "ProtocolCmModifyCallQoS"
        )
        assert priority(ndis, bob_vc.handle) == 6
        ndis.run()  # alice's call is not up yet: the MCM does not tell her of the change
        assert ndis.crashed is None
        assert "NdisMCmDispatchIncomingCallQoSChange" not in {r.name for r in after(ndis, mark)}
        h.bob.answer(bob_vc, NDIS_STATUS_SUCCESS)
        ndis.run()
        assert h.vc.call == "connected"


class TestModifyPended:
    """ProtocolCmModifyCallQoS returns PENDING; NdisMCmModifyCallQoSComplete finishes."""

    def test_completion_reaches_protocol_cl_modify_call_qos_complete(self) -> None:
        h = mcm_call(completion="pended")
        ndis, vc = h.ndis, h.vc
        mark = mark_of(ndis)
        assert h.alice.modify_qos(vc, qos(2)) == NDIS_STATUS_PENDING
        assert priority(ndis, vc.handle) == 0  # not until the completion
        (op,) = ndis.operations
        assert op.handler == "ProtocolCmModifyCallQoS"
        assert op.completers == ("NdisMCmModifyCallQoSComplete",)
        ndis.run()
        names = (
            "NdisClModifyCallQoS",
            "ProtocolCmModifyCallQoS",
            "NdisMCmModifyCallQoSComplete",
            "ProtocolClModifyCallQoSComplete",
        )
        pending = NDIS_STATUS_PENDING
        assert steps(ndis, mark, *names) == [
            ("call", names[0], "alice", None),
            ("call", names[1], "samplemcm", None),
            ("return", names[1], "samplemcm", pending),
            ("return", names[0], "alice", pending),
            ("call", names[2], "samplemcm", None),
            ("call", names[3], "alice", None),
            ("return", names[3], "alice", None),
            ("return", names[2], "samplemcm", None),
        ]
        ops = {r.op for r in after(ndis, mark)[1:] if r.name in names}
        assert ops == {op.id}  # every record after NdisClModifyCallQoS's call names the operation
        assert vc.last_status == NDIS_STATUS_SUCCESS
        assert priority(ndis, vc.handle) == 2
        assert ndis.operations == ()

    def test_a_second_request_while_one_is_pending_fails(self) -> None:
        h = mcm_call(mcm=ParkingMcm)
        ndis, vc = h.ndis, h.vc
        assert ndis.NdisClModifyCallQoS(vc.handle, qos(1)) == NDIS_STATUS_PENDING
        before = ndis.snapshot()
        mark = mark_of(ndis)
        assert ndis.NdisClModifyCallQoS(vc.handle, qos(2)) == NDIS_STATUS_FAILURE
        assert steps(ndis, mark, "NdisClModifyCallQoS", "ProtocolCmModifyCallQoS") == [
            ("call", "NdisClModifyCallQoS", "alice", None),
            ("return", "NdisClModifyCallQoS", "alice", NDIS_STATUS_FAILURE),
        ]
        assert ndis.snapshot() == before
        # The first request is still the one to complete.
        ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_SUCCESS, vc.handle, qos(1))
        assert priority(ndis, vc.handle) == 1

    def test_a_failed_completion_keeps_the_old_parameters(self) -> None:
        h = mcm_call(mcm=ParkingMcm)
        ndis, vc = h.ndis, h.vc
        assert h.alice.modify_qos(vc, qos(7)) == NDIS_STATUS_PENDING
        ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_RESOURCES, vc.handle, qos(0))
        done = first_call(ndis, "ProtocolClModifyCallQoSComplete")
        assert (done.driver, done.handle) == ("alice", vc.handle.label)
        assert vc.last_status == NDIS_STATUS_RESOURCES
        assert priority(ndis, vc.handle) == 0
        # and the call can be changed again
        assert ndis.NdisClModifyCallQoS(vc.handle, qos(8)) == NDIS_STATUS_PENDING


class TestModifyRefused:
    """Statuses from the call manager, and NDIS's own NDIS_STATUS_FAILURE."""

    def test_parameters_without_media_parameters_are_invalid_data(self) -> None:
        h = mcm_call()
        ndis, vc = h.ndis, h.vc
        bare = CO_CALL_PARAMETERS(CallMgrParameters=CO_CALL_MANAGER_PARAMETERS())
        mark = mark_of(ndis)
        assert h.alice.modify_qos(vc, bare) == NDIS_STATUS_INVALID_DATA
        assert steps(ndis, mark, "ProtocolCmModifyCallQoS", "NdisMCmActivateVc") == [
            ("call", "ProtocolCmModifyCallQoS", "samplemcm", None),
            ("return", "ProtocolCmModifyCallQoS", "samplemcm", NDIS_STATUS_INVALID_DATA),
        ]
        assert priority(ndis, vc.handle) == 0
        assert ndis.call_on(vc.handle).parameters.MediaParameters is not None  # type: ignore[union-attr]
        ndis.run()
        assert h.bob_vc.qos_changes == []

    def test_a_vc_without_a_call(self) -> None:
        h = mcm_call()
        ndis = h.ndis
        idle = h.alice.create_vc(h.alice.afs("open")[0])
        assert idle is not None
        before = ndis.snapshot()
        mark = mark_of(ndis)
        assert ndis.NdisClModifyCallQoS(idle.handle, qos(1)) == NDIS_STATUS_FAILURE
        assert steps(ndis, mark, "NdisClModifyCallQoS", "ProtocolCmModifyCallQoS") == [
            ("call", "NdisClModifyCallQoS", "alice", None),
            ("return", "NdisClModifyCallQoS", "alice", NDIS_STATUS_FAILURE),
        ]
        assert ndis.snapshot() == before

    def test_a_closed_call(self) -> None:
        h = mcm_call()
        ndis, vc = h.ndis, h.vc
        h.alice.close_call(vc)
        ndis.run()
        assert ndis.call_on(vc.handle) is None
        mark = mark_of(ndis)
        assert ndis.NdisClModifyCallQoS(vc.handle, qos(1)) == NDIS_STATUS_FAILURE
        assert "ProtocolCmModifyCallQoS" not in {r.name for r in after(ndis, mark)}

    def test_bad_arguments(self) -> None:
        h = mcm_call()
        with pytest.raises(
            ValueError, match=r"^NdisClModifyCallQoS: CallParameters is required \(got None\)$"
        ):
            h.ndis.NdisClModifyCallQoS(h.vc.handle, None)


class TestIncomingChange:
    """Ndis(M)CmDispatchIncomingCallQoSChange needs a connected call."""

    def test_a_vc_with_no_call_is_call_state(self) -> None:
        h = mcm_call()
        idle = h.alice.create_vc(h.alice.afs("open")[0])
        assert idle is not None
        run = lambda: h.ndis.NdisMCmDispatchIncomingCallQoSChange(idle.handle, qos(1))  # noqa: E731
        bc = expect_bugcheck(
            h.ndis, run, "CoNdisCallState", "NdisMCmDispatchIncomingCallQoSChange", "samplemcm"
        )
        assert bc.handle == idle.handle.label
        assert bc.detail == f"{idle.handle.label} has no call, not a connected call"
        assert idle.qos_changes == []

    def test_an_offered_call_is_call_state(self) -> None:
        h = mcm_call(incoming="pend")
        bob_vc = h.bob_vc
        run = lambda: h.ndis.NdisMCmDispatchIncomingCallQoSChange(bob_vc.handle, qos(1))  # noqa: E731
        bc = expect_bugcheck(
            h.ndis, run, "CoNdisCallState", "NdisMCmDispatchIncomingCallQoSChange", "samplemcm"
        )
        assert bc.detail == f"{bob_vc.handle.label} has a call offered, not a connected call"
        # the host goes on: bob answers and the call connects
        h.bob.answer(bob_vc, NDIS_STATUS_SUCCESS)
        h.ndis.run()
        assert h.vc.call == "connected"

    def test_dispatched_on_a_connected_call(self) -> None:
        h = mcm_call()
        h.ndis.NdisMCmDispatchIncomingCallQoSChange(h.bob_vc.handle, qos(9))
        call = first_call(h.ndis, "ProtocolClIncomingCallQoSChange")
        assert (call.driver, call.irql, call.handle) == (
            "bob",
            PASSIVE_LEVEL,
            h.bob_vc.handle.label,
        )
        assert [p.MediaParameters.ReceivePriority for p in h.bob_vc.qos_changes] == [9]


class TestCompletionChecks:
    """The completion comes once, with the spelling of the call manager's role."""

    def test_an_mcm_completing_with_the_call_manager_spelling(self) -> None:
        h = mcm_call(mcm=ParkingMcm)
        ndis, vc = h.ndis, h.vc
        assert ndis.NdisClModifyCallQoS(vc.handle, qos(1)) == NDIS_STATUS_PENDING
        run = lambda: ndis.NdisCmModifyCallQoSComplete(NDIS_STATUS_SUCCESS, vc.handle, qos(1))  # noqa: E731
        bc = expect_bugcheck(
            ndis, run, "CoNdisMcmSpelling", "NdisCmModifyCallQoSComplete", "samplemcm"
        )
        assert "NdisMCmModifyCallQoSComplete" in bc.detail
        ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_SUCCESS, vc.handle, qos(1))
        assert priority(ndis, vc.handle) == 1

    def test_a_stand_alone_call_manager_completing_with_the_mcm_spelling(self) -> None:
        h = cm_call()
        ndis, vc = h.ndis, h.vc
        assert ndis.NdisClModifyCallQoS(vc.handle, qos(1)) == NDIS_STATUS_PENDING
        run = lambda: ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_SUCCESS, vc.handle, qos(1))  # noqa: E731
        expect_bugcheck(ndis, run, "CoNdisMcmSpelling", "NdisMCmModifyCallQoSComplete", "qoscm")

    def test_completed_twice_from_test_code(self) -> None:
        h = mcm_call(mcm=ParkingMcm)
        ndis, vc = h.ndis, h.vc
        assert h.alice.modify_qos(vc, qos(1)) == NDIS_STATUS_PENDING
        ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_SUCCESS, vc.handle, qos(1))
        run = lambda: ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_SUCCESS, vc.handle, qos(2))  # noqa: E731
        expect_bugcheck(
            ndis, run, "CoNdisDoubleComplete", "NdisMCmModifyCallQoSComplete", "samplemcm"
        )
        assert priority(ndis, vc.handle) == 1
        assert len(records(ndis, "ProtocolClModifyCallQoSComplete", "call")) == 1

    def test_completed_twice_by_the_driver_stops_the_host(self) -> None:
        h = mcm_call(mcm=TwiceMcm)
        ndis = h.ndis
        assert h.alice.modify_qos(h.vc, qos(5)) == NDIS_STATUS_PENDING
        with pytest.raises(BugCheck) as info:
            ndis.run()
        assert (info.value.rule, info.value.ddi) == (
            "CoNdisDoubleComplete",
            "NdisMCmModifyCallQoSComplete",
        )
        assert ndis.crashed is info.value
        assert h.vc.last_status == NDIS_STATUS_SUCCESS  # the first completion was delivered

    def test_a_completion_after_a_synchronous_change(self) -> None:
        h = mcm_call()
        ndis, vc = h.ndis, h.vc
        assert ndis.NdisClModifyCallQoS(vc.handle, qos(1)) == NDIS_STATUS_SUCCESS
        run = lambda: ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_SUCCESS, vc.handle, qos(2))  # noqa: E731
        expect_bugcheck(
            ndis, run, "CoNdisCompleteNotPending", "NdisMCmModifyCallQoSComplete", "samplemcm"
        )

    def test_completing_with_pending(self) -> None:
        h = mcm_call(mcm=ParkingMcm)
        ndis, vc = h.ndis, h.vc
        assert ndis.NdisClModifyCallQoS(vc.handle, qos(1)) == NDIS_STATUS_PENDING
        run = lambda: ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_PENDING, vc.handle, qos(1))  # noqa: E731
        with ndis.driver_context(ndis.driver("samplemcm")):
            expect_bugcheck(
                ndis, run, "CoNdisCompleteStatus", "NdisMCmModifyCallQoSComplete", "samplemcm"
            )
        ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_SUCCESS, vc.handle, qos(1))
        assert priority(ndis, vc.handle) == 1


# --- the stand-alone call manager path --------------------------------------------------------


class TestStandAloneCallManager:
    """The NdisCm spellings: NdisCmActivateVc, NdisCmModifyCallQoSComplete and
    NdisCmDispatchIncomingCallQoSChange."""

    def test_pended_change_completed_with_ndis_cm_modify_call_qos_complete(self) -> None:
        h = cm_call()
        ndis, vc = h.ndis, h.vc
        mark = mark_of(ndis)
        assert h.alice.modify_qos(vc, qos(3)) == NDIS_STATUS_PENDING
        ndis.NdisCmModifyCallQoSComplete(NDIS_STATUS_SUCCESS, vc.handle, qos(3))
        names = (
            "NdisClModifyCallQoS",
            "ProtocolCmModifyCallQoS",
            "NdisCmActivateVc",
            "MiniportCoActivateVc",
            "NdisCmModifyCallQoSComplete",
            "ProtocolClModifyCallQoSComplete",
        )
        got = [(p, n, d) for p, n, d, _ in steps(ndis, mark, *names) if p == "call"]
        assert got == [
            ("call", names[0], "alice"),
            ("call", names[1], "qoscm"),
            ("call", names[2], "qoscm"),
            ("call", names[3], "samplecominiport"),
            ("call", names[4], "qoscm"),
            ("call", names[5], "alice"),
        ]
        assert vc.last_status == NDIS_STATUS_SUCCESS
        assert priority(ndis, vc.handle) == 3

    def test_incoming_change(self) -> None:
        h = cm_call()
        ndis, vc = h.ndis, h.vc
        mark = mark_of(ndis)
        ndis.NdisCmDispatchIncomingCallQoSChange(vc.handle, qos(5))
        names = ("NdisCmDispatchIncomingCallQoSChange", "ProtocolClIncomingCallQoSChange")
        assert steps(ndis, mark, *names) == [
            ("call", names[0], "qoscm", None),
            ("call", names[1], "alice", None),
            ("return", names[1], "alice", None),
            ("return", names[0], "qoscm", None),
        ]
        assert [p.MediaParameters.ReceivePriority for p in vc.qos_changes] == [5]

    def test_incoming_change_on_a_vc_without_a_call(self) -> None:
        h = cm_call()
        idle = h.alice.create_vc(h.alice.afs("open")[0])
        assert idle is not None
        run = lambda: h.ndis.NdisCmDispatchIncomingCallQoSChange(idle.handle, qos(1))  # noqa: E731
        expect_bugcheck(
            h.ndis, run, "CoNdisCallState", "NdisCmDispatchIncomingCallQoSChange", "qoscm"
        )
