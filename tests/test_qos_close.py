"""A call closed while a QoS change on it is pending (qos.py's docstring).

NdisClCloseCall goes to the call manager as usual. The call manager completes the
pending change (Ndis(M)CmModifyCallQoSComplete -> ProtocolClModifyCallQoSComplete)
before the close: from ProtocolCmCloseCall, or while the close is pending. A close
that completes with NDIS_STATUS_SUCCESS first breaks CoNdisCloseCallWithQosPending;
in collect mode NDIS then stops tracking the change, still delivers a late completion
once while the VC lives, and forgets it with the VC. A close that fails leaves the
change pending. An offered call the client rejects with its own change pending is the
call manager's to finish before it deletes the VC or offers a new call on it. A close
that completes inside ProtocolCmModifyCallQoS makes a PENDING return from it the
violation. A VC reused after a change keeps nothing of it.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from condis import (
    DRIVER_VERIFIER_DETECTED_VIOLATION,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    BugCheck,
    Mode,
    Ndis,
)
from condis.samples.callmanager import CmVc
from hosts.qos import ParkingMcm, QosCallManager, after, cm_call, mcm_call, priority, qos, steps
from util import expect_bugcheck, find, mark_of, records

RULE = "CoNdisCloseCallWithQosPending"
QOS_DONE = "ProtocolClModifyCallQoSComplete"


def rules(ndis: Ndis) -> list[tuple[str, str, str | None]]:
    return [(v.rule, v.ddi, v.driver) for v in ndis.verifier.violations]


def first_op(ndis: Ndis, mark: int) -> int:
    """The operation id of the first ProtocolCmModifyCallQoS called after `mark`."""
    op = find(ndis, "ProtocolCmModifyCallQoS", after=mark).op
    assert op is not None
    return op


def detail(op_id: int, vc_label: str, completer: str) -> str:
    return (
        f"modify-qos operation #{op_id} on {vc_label}, pended by ProtocolCmModifyCallQoS, "
        f"is not completed (with {completer}) and the call is over"
    )


class FailingCloseMcm(ParkingMcm):
    """Pends QoS changes and refuses every close."""

    def ProtocolCmCloseCall(self, CallMgrVcContext: Any, Party: Any, Data: Any, Size: int) -> Any:
        return NDIS_STATUS_FAILURE


class FinishingCallManager(QosCallManager):
    """Completes a pending QoS change from ProtocolCmCloseCall, before the close."""

    def __init__(self, ndis: Ndis) -> None:
        super().__init__(ndis)
        self.pending: dict[CmVc, Any] = {}

    def ProtocolCmModifyCallQoS(self, CallMgrVcContext: Any, CallParameters: Any) -> Any:
        self.pending[CallMgrVcContext] = CallParameters
        return super().ProtocolCmModifyCallQoS(CallMgrVcContext, CallParameters)

    def ProtocolCmCloseCall(self, CallMgrVcContext: Any, Party: Any, Data: Any, Size: int) -> Any:
        parameters = self.pending.pop(CallMgrVcContext, None)
        if parameters is not None:
            handle = CallMgrVcContext.handle
            self.ndis.NdisCmModifyCallQoSComplete(NDIS_STATUS_SUCCESS, handle, parameters)
        return super().ProtocolCmCloseCall(CallMgrVcContext, Party, Data, Size)


class TestCompletedBeforeTheClose:
    """The call manager finishes the change first: no violation, nothing left over."""

    def test_from_protocol_cm_close_call_of_an_mcm_whose_close_pends(self) -> None:
        h = mcm_call(completion="pended")
        ndis, vc = h.ndis, h.vc
        assert h.alice.modify_qos(vc, qos(2)) == NDIS_STATUS_PENDING
        mark = mark_of(ndis)
        assert h.alice.close_call(vc) == NDIS_STATUS_PENDING
        names = (
            "ProtocolCmCloseCall",
            "NdisMCmModifyCallQoSComplete",
            QOS_DONE,
            "NdisMCmCloseCallComplete",
            "ProtocolClCloseCallComplete",
        )
        assert [s for s in steps(ndis, mark, *names) if s[1] != QOS_DONE or s[0] == "call"] == [
            ("call", names[0], "samplemcm", None),
            ("call", names[1], "samplemcm", None),
            ("call", names[2], "alice", None),
            ("return", names[1], "samplemcm", None),
            ("return", names[0], "samplemcm", NDIS_STATUS_PENDING),
        ]
        ndis.run()  # the close completes; the change's own work item finds nothing to do
        alices = [
            (r.phase.value, r.name, r.driver)
            for r in after(ndis, mark)
            if r.name in names[3:] and r.handle == vc.handle.label
        ]
        assert alices == [
            ("call", names[3], "samplemcm"),
            ("call", names[4], "alice"),
            ("return", names[4], "alice"),
            ("return", names[3], "samplemcm"),
        ]
        assert len(records(ndis, QOS_DONE, "call")) == 1
        assert vc.parameters.MediaParameters.ReceivePriority == 2
        assert (vc.call, ndis.operations, ndis.verifier.violations) == ("closed", (), [])
        assert h.alice.delete_vc(vc) == NDIS_STATUS_SUCCESS

    def test_from_protocol_cm_close_call_of_an_mcm_that_closes_at_once(self) -> None:
        h = mcm_call(completion="pended")
        ndis, vc = h.ndis, h.vc
        assert h.alice.modify_qos(vc, qos(4)) == NDIS_STATUS_PENDING
        h.mcm.completion = "sync"
        mark = mark_of(ndis)
        assert h.alice.close_call(vc) == NDIS_STATUS_SUCCESS
        names = ("ProtocolCmCloseCall", "NdisMCmModifyCallQoSComplete", QOS_DONE)
        assert [(p, n) for p, n, _, _ in steps(ndis, mark, *names)] == [
            ("call", names[0]),
            ("call", names[1]),
            ("call", names[2]),
            ("return", names[2]),
            ("return", names[1]),
            ("return", names[0]),
        ]
        assert (vc.call, vc.parameters.MediaParameters.ReceivePriority) == ("closed", 4)
        assert ndis.operations == ()
        ndis.run()
        assert h.alice.delete_vc(vc) == NDIS_STATUS_SUCCESS
        assert ndis.verifier.violations == []

    def test_by_hand_while_the_close_is_pending(self) -> None:
        h = mcm_call(mcm=ParkingMcm, completion="pended")
        ndis, vc = h.ndis, h.vc
        assert h.alice.modify_qos(vc, qos(3)) == NDIS_STATUS_PENDING
        assert h.alice.close_call(vc) == NDIS_STATUS_PENDING
        call = ndis.call_on(vc.handle)
        assert call is not None and call.state.value == "closing"
        ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_SUCCESS, vc.handle, qos(3))
        done = records(ndis, QOS_DONE, "call")
        assert [(r.driver, r.handle) for r in done] == [("alice", vc.handle.label)]
        assert priority(ndis, vc.handle) == 3
        assert [op.kind for op in ndis.operations] == ["close-call"]
        ndis.run()
        assert (vc.call, ndis.operations, ndis.verifier.violations) == ("closed", (), [])

    def test_a_stand_alone_call_manager_from_protocol_cm_close_call(self) -> None:
        h = cm_call(cm=FinishingCallManager)
        ndis, vc = h.ndis, h.vc
        assert h.alice.modify_qos(vc, qos(5)) == NDIS_STATUS_PENDING
        mark = mark_of(ndis)
        assert h.alice.close_call(vc) == NDIS_STATUS_SUCCESS
        names = ("ProtocolCmCloseCall", "NdisCmModifyCallQoSComplete", QOS_DONE)
        assert [(p, n, d) for p, n, d, _ in steps(ndis, mark, *names) if p == "call"] == [
            ("call", names[0], "qoscm"),
            ("call", names[1], "qoscm"),
            ("call", names[2], "alice"),
        ]
        assert vc.last_status == NDIS_STATUS_SUCCESS
        assert (vc.call, ndis.operations, ndis.verifier.violations) == ("closed", (), [])
        ndis.run()
        assert h.alice.delete_vc(vc) == NDIS_STATUS_SUCCESS


class TestClosedFirst:
    """A close that completes with NDIS_STATUS_SUCCESS before the change does."""

    @pytest.mark.parametrize(
        ("make", "completer", "driver"),
        [
            (
                lambda mode: mcm_call(mcm=ParkingMcm, mode=mode),
                "NdisMCmModifyCallQoSComplete",
                "samplemcm",
            ),
            (lambda mode: cm_call(mode=mode), "NdisCmModifyCallQoSComplete", "qoscm"),
        ],
        ids=["mcm", "stand-alone"],
    )
    def test_strict_stops_the_host_in_protocol_cm_close_call(
        self, make: Any, completer: str, driver: str
    ) -> None:
        h = make(Mode.STRICT)
        ndis, vc = h.ndis, h.vc
        assert h.alice.modify_qos(vc, qos(1)) == NDIS_STATUS_PENDING
        (op,) = ndis.operations
        with pytest.raises(BugCheck) as info:
            h.alice.close_call(vc)
        bc = info.value
        assert (bc.code, bc.rule, bc.ddi, bc.driver, bc.handle) == (
            DRIVER_VERIFIER_DETECTED_VIOLATION,
            RULE,
            "ProtocolCmCloseCall",
            driver,
            vc.handle.label,
        )
        assert bc.detail == detail(op.id, vc.handle.label, completer)
        assert ndis.crashed is bc

    def test_collect_forgets_the_change_and_still_delivers_a_late_completion(self) -> None:
        h = mcm_call(mcm=ParkingMcm, mode=Mode.COLLECT)
        ndis, vc = h.ndis, h.vc
        assert h.alice.modify_qos(vc, qos(1)) == NDIS_STATUS_PENDING
        assert h.alice.close_call(vc) == NDIS_STATUS_SUCCESS
        assert rules(ndis) == [(RULE, "ProtocolCmCloseCall", "samplemcm")]
        assert (vc.call, ndis.operations, ndis.check_invariants()) == ("closed", (), [])
        # The VC lives on: the call manager's late completion reaches alice, once.
        ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_FAILURE, vc.handle, qos(0))
        done = records(ndis, QOS_DONE, "call")
        assert [(r.driver, r.handle) for r in done] == [("alice", vc.handle.label)]
        assert vc.last_status == NDIS_STATUS_FAILURE
        assert len(ndis.verifier.violations) == 1
        ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_FAILURE, vc.handle, qos(0))
        assert rules(ndis)[1:] == [
            ("CoNdisDoubleComplete", "NdisMCmModifyCallQoSComplete", "samplemcm")
        ]
        assert len(records(ndis, QOS_DONE, "call")) == 1
        ndis.run()
        assert h.alice.delete_vc(vc) == NDIS_STATUS_SUCCESS
        assert (ndis.operations, ndis.check_invariants()) == ((), [])

    def test_collect_after_the_vc_is_deleted_the_handle_is_stale(self) -> None:
        h = mcm_call(mcm=ParkingMcm, mode=Mode.COLLECT)
        ndis, vc = h.ndis, h.vc
        assert h.alice.modify_qos(vc, qos(1)) == NDIS_STATUS_PENDING
        handle = vc.handle
        h.alice.close_call(vc)
        ndis.run()
        assert h.alice.delete_vc(vc) == NDIS_STATUS_SUCCESS
        assert (ndis.operations, ndis.check_invariants()) == ((), [])
        ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_SUCCESS, handle, qos(1))
        assert [r for r, _, _ in rules(ndis)] == [RULE, "NdisHandleStale"]
        assert records(ndis, QOS_DONE) == []

    def test_collect_a_pended_close_completed_first(self) -> None:
        h = mcm_call(mcm=ParkingMcm, completion="pended", mode=Mode.COLLECT)
        ndis, vc = h.ndis, h.vc
        assert h.alice.modify_qos(vc, qos(1)) == NDIS_STATUS_PENDING
        (op,) = ndis.operations
        assert h.alice.close_call(vc) == NDIS_STATUS_PENDING
        ndis.run()
        assert rules(ndis) == [(RULE, "NdisMCmCloseCallComplete", "samplemcm")]
        assert ndis.verifier.violations[0].detail == detail(
            op.id, vc.handle.label, "NdisMCmModifyCallQoSComplete"
        )
        assert (vc.call, ndis.operations) == ("closed", ())


class TestOtherEndings:
    def test_a_failed_close_leaves_the_change_pending(self) -> None:
        h = mcm_call(mcm=FailingCloseMcm)
        ndis, vc = h.ndis, h.vc
        assert h.alice.modify_qos(vc, qos(6)) == NDIS_STATUS_PENDING
        assert h.alice.close_call(vc) == NDIS_STATUS_FAILURE
        call = ndis.call_on(vc.handle)
        assert call is not None and call.state.value == "connected"
        assert [op.kind for op in ndis.operations] == ["modify-qos"]
        ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_SUCCESS, vc.handle, qos(6))
        assert priority(ndis, vc.handle) == 6
        assert (ndis.operations, ndis.verifier.violations) == ((), [])

    def test_a_rejected_offer_the_mcm_finishes_the_change_before_deleting_the_vc(self) -> None:
        h = mcm_call(completion="pended", incoming="pend")
        ndis, bob_vc = h.ndis, h.bob_vc
        assert h.bob.modify_qos(bob_vc, qos(2)) == NDIS_STATUS_PENDING
        mark = mark_of(ndis)
        h.bob.answer(bob_vc, NDIS_STATUS_FAILURE)
        names = ("NdisMCmModifyCallQoSComplete", "NdisMCmDeleteVc")
        assert [(p, n) for p, n, _, _ in steps(ndis, mark, *names)] == [
            ("call", names[0]),
            ("return", names[0]),
            ("call", names[1]),
            ("return", names[1]),
        ]
        ndis.run()
        assert (h.vc.call, ndis.operations, ndis.verifier.violations) == ("failed", (), [])

    def test_a_rejected_offer_whose_vc_goes_with_the_change_pending(self) -> None:
        h = mcm_call(mcm=ParkingMcm, incoming="pend", mode=Mode.COLLECT)
        ndis, bob_vc = h.ndis, h.bob_vc
        assert h.bob.modify_qos(bob_vc, qos(2)) == NDIS_STATUS_PENDING
        label = bob_vc.handle.label
        h.bob.answer(bob_vc, NDIS_STATUS_FAILURE)
        assert rules(ndis) == [(RULE, "NdisMCmDeleteVc", "samplemcm")]
        assert ndis.verifier.violations[0].handle == label
        ndis.run()
        assert (ndis.operations, ndis.check_invariants()) == ((), [])


# --- the call ends inside ProtocolCmModifyCallQoS, or a new call comes ----------------------


class HangUpMcm(ParkingMcm):
    """ProtocolCmModifyCallQoS hears that the network dropped the call: it dispatches the
    hang-up (the sample client closes at once, and the close completes), then answers
    the change with `answer`. With `delete`, an incoming call's VC is deleted there too."""

    answer = NDIS_STATUS_PENDING
    delete = False

    def ProtocolCmModifyCallQoS(self, CallMgrVcContext: Any, CallParameters: Any) -> Any:
        vc = CallMgrVcContext
        if self.delete:
            vc.incoming = False  # deleted here, not by ProtocolCmCloseCall's work item
        self.ndis.NdisMCmDispatchIncomingCloseCall(NDIS_STATUS_SUCCESS, vc.handle, None, 0)
        if self.delete:
            assert self.ndis.NdisMCmDeleteVc(vc.handle) == NDIS_STATUS_SUCCESS
            vc.af.adapter.vcs.pop(vc.handle)
        return self.answer


class KeepingMcm(ParkingMcm):
    """Pends QoS changes and keeps the VC of a rejected offer (active) for the next
    offer, which the test makes; an accepted offer of its own is connected at once."""

    def ProtocolCmIncomingCallComplete(self, Status: Any, CallMgrVcContext: Any, P: Any) -> Any:
        callee = CallMgrVcContext
        caller, callee.peer = callee.peer, None
        if caller is not None:
            self._answer_caller(caller, None, Status, P)
        elif Status == NDIS_STATUS_SUCCESS:
            self.ndis.NdisMCmDispatchCallConnected(callee.handle)


class TestClosedInsideTheHandler:
    """The close completes while ProtocolCmModifyCallQoS runs: the change is still the
    handler's to answer. PENDING then leaves a change no one can complete on the call:
    the violation is reported at the handler's return."""

    HANG_UP = (
        "ProtocolCmModifyCallQoS",
        "NdisMCmDispatchIncomingCloseCall",
        "ProtocolClIncomingCloseCall",
        "NdisClCloseCall",
        "ProtocolCmCloseCall",
    )

    def test_collect_reports_at_the_handlers_return_and_forgets_the_change(self) -> None:
        h = mcm_call(mcm=HangUpMcm, mode=Mode.COLLECT)
        ndis, vc = h.ndis, h.vc
        mark = mark_of(ndis)
        assert h.alice.modify_qos(vc, qos(2)) == NDIS_STATUS_PENDING
        names = ("NdisClModifyCallQoS", *self.HANG_UP)
        got = [s for s in steps(ndis, mark, *names) if s[0] == "return"]
        assert got == [
            ("return", "ProtocolCmCloseCall", "samplemcm", NDIS_STATUS_SUCCESS),
            ("return", "NdisClCloseCall", "alice", NDIS_STATUS_SUCCESS),
            ("return", "ProtocolClIncomingCloseCall", "alice", None),
            ("return", "NdisMCmDispatchIncomingCloseCall", "samplemcm", None),
            ("return", "ProtocolCmModifyCallQoS", "samplemcm", NDIS_STATUS_PENDING),
            ("return", "NdisClModifyCallQoS", "alice", NDIS_STATUS_PENDING),
        ]
        (v,) = ndis.verifier.violations
        op_id = first_op(ndis, mark)
        assert (v.rule, v.ddi, v.driver, v.handle) == (
            RULE,
            "ProtocolCmModifyCallQoS",
            "samplemcm",
            vc.handle.label,
        )
        assert v.detail == detail(op_id, vc.handle.label, "NdisMCmModifyCallQoSComplete")
        assert ndis.call_on(vc.handle) is None
        assert (vc.call, ndis.operations, ndis.check_invariants()) == ("closed", (), [])
        # The VC lives and carries no new call: a late completion reaches alice, once.
        ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_SUCCESS, vc.handle, qos(2))
        assert [r.driver for r in records(ndis, QOS_DONE, "call")] == ["alice"]
        assert len(ndis.verifier.violations) == 1
        ndis.run()
        assert h.alice.delete_vc(vc) == NDIS_STATUS_SUCCESS
        assert (ndis.operations, ndis.check_invariants()) == ((), [])

    def test_strict_stops_the_host_at_the_handlers_return(self) -> None:
        h = mcm_call(mcm=HangUpMcm)
        ndis, vc = h.ndis, h.vc
        mark = mark_of(ndis)
        with pytest.raises(BugCheck) as info:
            h.alice.modify_qos(vc, qos(2))
        bc = info.value
        assert (bc.code, bc.rule, bc.ddi, bc.driver, bc.handle) == (
            DRIVER_VERIFIER_DETECTED_VIOLATION,
            RULE,
            "ProtocolCmModifyCallQoS",
            "samplemcm",
            vc.handle.label,
        )
        assert bc.detail == detail(
            first_op(ndis, mark), vc.handle.label, "NdisMCmModifyCallQoSComplete"
        )
        assert ndis.crashed is bc
        last = after(ndis, mark)[-1]
        assert (last.phase.value, last.name, last.status) == (
            "return",
            "ProtocolCmModifyCallQoS",
            NDIS_STATUS_PENDING,
        )
        assert vc.call == "closed"

    def test_a_change_answered_synchronously_after_the_close_is_no_violation(self) -> None:
        class AnsweringMcm(HangUpMcm):
            answer = NDIS_STATUS_SUCCESS

        h = mcm_call(mcm=AnsweringMcm)
        ndis, vc = h.ndis, h.vc
        assert h.alice.modify_qos(vc, qos(2)) == NDIS_STATUS_SUCCESS
        assert (vc.call, ndis.operations, ndis.verifier.violations) == ("closed", (), [])
        assert ndis.check_invariants() == []

    def test_collect_the_vc_deleted_in_the_handler_keeps_nothing(self) -> None:
        # bob's VC is the MCM's: it goes with the call, inside the handler
        class DeletingMcm(HangUpMcm):
            delete = True

        h = mcm_call(mcm=DeletingMcm, mode=Mode.COLLECT)
        ndis, bob_vc = h.ndis, h.bob_vc
        handle = bob_vc.handle
        assert h.bob.modify_qos(bob_vc, qos(3)) == NDIS_STATUS_PENDING
        assert rules(ndis) == [(RULE, "ProtocolCmModifyCallQoS", "samplemcm")]
        assert ndis.verifier.violations[0].handle == handle.label
        assert (ndis.operations, ndis.check_invariants()) == ((), [])
        ndis.run()
        ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_SUCCESS, handle, qos(3))
        assert [r for r, _, _ in rules(ndis)] == [RULE, "NdisHandleStale"]
        assert records(ndis, QOS_DONE) == []
        assert (ndis.operations, ndis.check_invariants()) == ((), [])


class TestANewCallOnTheVc:
    """A rejected offer's change still pending when the call manager offers a new call on
    the same VC: that offer ends the old call, and is where the violation is found."""

    def reject_with_the_change_pending(self, mode: Mode) -> tuple[SimpleNamespace, Any, int]:
        h = mcm_call(mcm=KeepingMcm, incoming="pend", mode=mode)
        assert h.bob.modify_qos(h.bob_vc, qos(2)) == NDIS_STATUS_PENDING
        (op,) = [o for o in h.ndis.operations if o.kind == "modify-qos"]
        h.bob.answer(h.bob_vc, NDIS_STATUS_FAILURE)
        h.ndis.run()
        assert (h.vc.call, h.bob_vc.call, h.ndis.verifier.violations) == ("failed", "failed", [])
        assert h.ndis.operations == (op,)  # the VC is kept: nothing is reported yet
        return h, h.bob.afs("open")[0].saps[0].handle, op.id

    def test_strict_stops_the_host_and_leaves_it_as_it_was(self) -> None:
        h, sap, op_id = self.reject_with_the_change_pending(Mode.STRICT)
        ndis, handle = h.ndis, h.bob_vc.handle
        run = lambda: ndis.NdisMCmDispatchIncomingCall(sap, handle, qos(7))  # noqa: E731
        bc = expect_bugcheck(
            ndis, run, RULE, "NdisMCmDispatchIncomingCall", "samplemcm", handle.label, stops=True
        )
        assert bc.detail == detail(op_id, handle.label, "NdisMCmModifyCallQoSComplete")
        assert len(records(ndis, "ProtocolClIncomingCall", "call")) == 1  # the first offer's
        assert [op.kind for op in ndis.operations] == ["modify-qos"]  # no offer was made

    def test_collect_the_offer_goes_on_and_a_late_completion_is_not_delivered(self) -> None:
        h, sap, op_id = self.reject_with_the_change_pending(Mode.COLLECT)
        ndis, bob_vc = h.ndis, h.bob_vc
        mark = mark_of(ndis)
        status = ndis.NdisMCmDispatchIncomingCall(sap, bob_vc.handle, qos(7))
        assert status == NDIS_STATUS_PENDING
        assert rules(ndis) == [(RULE, "NdisMCmDispatchIncomingCall", "samplemcm")]
        assert ndis.verifier.violations[0].detail == detail(
            op_id, bob_vc.handle.label, "NdisMCmModifyCallQoSComplete"
        )
        names = ("NdisMCmDispatchIncomingCall", "ProtocolClIncomingCall")
        assert [(p, n, d) for p, n, d, _ in steps(ndis, mark, *names)] == [
            ("call", names[0], "samplemcm"),
            ("call", names[1], "bob"),
            ("return", names[1], "bob"),
            ("return", names[0], "samplemcm"),
        ]
        assert [op.kind for op in ndis.operations] == ["incoming-call"]
        assert ndis.check_invariants() == []
        # The change belonged to the old call: completing it now meets the new one.
        ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_SUCCESS, bob_vc.handle, qos(2))
        assert rules(ndis)[1:] == [
            ("CoNdisCompleteNotPending", "NdisMCmModifyCallQoSComplete", "samplemcm")
        ]
        assert records(ndis, QOS_DONE) == []
        h.bob.answer(bob_vc, NDIS_STATUS_SUCCESS)
        ndis.run()
        assert bob_vc.call == "connected"
        assert priority(ndis, bob_vc.handle) == 7
        assert (ndis.operations, ndis.check_invariants()) == ((), [])

    def test_a_finished_change_is_forgotten_when_the_vc_carries_a_new_call(self) -> None:
        h = mcm_call(completion="pended")
        ndis, vc = h.ndis, h.vc
        assert h.alice.modify_qos(vc, qos(2)) == NDIS_STATUS_PENDING
        ndis.run()
        assert h.alice.close_call(vc) == NDIS_STATUS_PENDING
        ndis.run()
        status, _ = ndis.NdisClMakeCall(vc.handle, qos(0), None)
        assert status == NDIS_STATUS_PENDING
        ndis.run()
        assert ndis.call_on(vc.handle) is not None
        assert ndis.check_invariants() == []
        # a completion now is for no change of the new call
        run = lambda: ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_SUCCESS, vc.handle, qos(2))  # noqa: E731
        expect_bugcheck(
            ndis, run, "CoNdisCompleteNotPending", "NdisMCmModifyCallQoSComplete", "samplemcm"
        )
