"""Completion and teardown checks: the ops.py contract, handler statuses, leaks and hangs.

A pendable operation is completed once, only after its handler returned
NDIS_STATUS_PENDING (or from inside the handler, which must then return
PENDING), with a final status (ops.py). Teardown (NdisCloseAdapterEx, the
end of MiniportHaltEx, an unbind) finds nothing open, pending or leaked. A
completion DDI called wrongly from test code leaves the host as it was; a
fault found after a handler returned is reported where NDIS finds it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest

from condis import (
    BUGCODE_NDIS_DRIVER,
    CO_ADDRESS_FAMILY,
    CO_ADDRESS_FAMILY_Q2931,
    CO_SAP,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    NDIS_TIMER_CHARACTERISTICS,
    BugCheck,
    Ndis,
)
from condis.samples import SampleClient, SampleMcm
from condis.samples.mcm import called_party
from condis.scheduler import TICKS_PER_MS
from util import C4, cm_host, expect_bugcheck, facts, mcm_host, records

PEER = CO_SAP(SapType=1, Sap=b"peer")


def connected(kind: str) -> tuple[Ndis, Any, Any]:
    """(host, call manager, VC) with a connected call: on the sample MCM a client
    calling its own SAP, on the stand-alone path an outgoing call over the miniport."""
    if kind == "cm":
        ndis, cm, client = cm_host()
    else:
        ndis = Ndis()
        cm = SampleMcm(ndis)
        client = SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [PEER]})
        ndis.load_driver(cm, "samplemcm")
        ndis.load_driver(client, "sampleclient")
        ndis.add_adapter("samplemcm", "mcm0")
        ndis.run()
    assert client is not None
    vc = client.make_call(client.afs("open")[0], called_party(PEER))
    ndis.run()
    assert vc is not None and vc.call == "connected" and vc.parameters is not None
    return ndis, cm, vc


Q2931 = CO_ADDRESS_FAMILY(CO_ADDRESS_FAMILY_Q2931, 3, 1)


def raises(fn: Callable[..., object], *args: Any) -> BugCheck:
    """The BugCheck that fn(*args) raises."""
    with pytest.raises(BugCheck) as info:
        fn(*args)
    return info.value


class ParkingMcm(SampleMcm):
    """Pends every open and close and leaves the completion to the test."""

    def ProtocolCmOpenAf(self, ctx: Any, family: Any, handle: Any) -> int:  # type: ignore[override]
        return NDIS_STATUS_PENDING

    def ProtocolCmCloseAf(self, CallMgrAfContext: Any) -> int:
        return NDIS_STATUS_PENDING


def build(
    mcm: type[SampleMcm] = SampleMcm,
    client: type[SampleClient] = SampleClient,
    afs: tuple[int, ...] = (CO_ADDRESS_FAMILY_Q2931,),
) -> SimpleNamespace:
    """An MCM ('samplemcm', adapter 'mcm0') and a client ('sampleclient'), after ndis.run()."""
    ndis = Ndis()
    ndis.load_driver(mcm(ndis, address_families=afs), "samplemcm")
    cl = client(ndis)
    ndis.load_driver(cl, "sampleclient")
    ndis.add_adapter("samplemcm", "mcm0")
    ndis.run()
    binding = ndis.binding("sampleclient", "mcm0")
    return SimpleNamespace(ndis=ndis, cl=cl, binding=binding, afs=binding.afs)


def open_parked() -> tuple[SimpleNamespace, Any]:
    """A ParkingMcm host whose client's open of Q.2931 is pended; (host, its NdisAfHandle)."""
    h = build(ParkingMcm)
    (af,) = h.cl.afs("opening")
    return h, af.handle


class TestCompleteNotPending:
    """CoNdisCompleteNotPending, and completions whose handle is already gone."""

    def test_open_complete_after_a_synchronous_open(self) -> None:
        ndis, _, cl = mcm_host()
        af = cl.afs("open")[0].handle
        run = partial(ndis.NdisMCmOpenAddressFamilyComplete, NDIS_STATUS_SUCCESS, af, None)
        bc = expect_bugcheck(
            ndis,
            run,
            "CoNdisCompleteNotPending",
            "NdisMCmOpenAddressFamilyComplete",
            "samplemcm",
            af.label,
        )
        assert "did not return NDIS_STATUS_PENDING" in bc.detail

    def test_bind_complete_after_a_synchronous_bind(self) -> None:
        # The BindContext dies with the bind, so the late completion uses a stale handle.
        ndis, _, cl = mcm_host()
        context = cl.bindings[0].bind_context
        with ndis.driver_context(ndis.driver("sampleclient")):
            run = partial(ndis.NdisCompleteBindAdapterEx, context, NDIS_STATUS_SUCCESS)
            expect_bugcheck(
                ndis,
                run,
                "NdisHandleStale",
                "NdisCompleteBindAdapterEx",
                "sampleclient",
                context.label,
            )


class TestDoubleComplete:
    """CoNdisDoubleComplete: a pended operation is completed exactly once."""

    def test_second_open_complete(self) -> None:
        h, af = open_parked()
        h.ndis.NdisMCmOpenAddressFamilyComplete(NDIS_STATUS_SUCCESS, af, None)
        assert [a.state for a in h.cl.afs()] == ["open"]
        run = partial(h.ndis.NdisMCmOpenAddressFamilyComplete, NDIS_STATUS_SUCCESS, af, None)
        bc = expect_bugcheck(
            h.ndis,
            run,
            "CoNdisDoubleComplete",
            "NdisMCmOpenAddressFamilyComplete",
            "samplemcm",
            af.label,
        )
        assert "already completed" in bc.detail
        assert len(records(h.ndis, "ProtocolClOpenAfCompleteEx", "call")) == 1

    def test_twice_inside_the_handler_crashes_the_host(self) -> None:
        class TwiceMcm(SampleMcm):
            def ProtocolCmOpenAf(self, ctx: Any, family: Any, handle: Any) -> int:
                self.ndis.NdisMCmOpenAddressFamilyComplete(NDIS_STATUS_SUCCESS, handle, None)
                self.ndis.NdisMCmOpenAddressFamilyComplete(NDIS_STATUS_SUCCESS, handle, None)
                return NDIS_STATUS_PENDING

        ndis = Ndis()
        ndis.load_driver(TwiceMcm(ndis, address_families=[CO_ADDRESS_FAMILY_Q2931]), "twice")
        ndis.load_driver(SampleClient(ndis), "sampleclient")
        bc = raises(ndis.add_adapter, "twice", "mcm0")
        assert facts(bc) == (
            C4, "CoNdisDoubleComplete", "NdisMCmOpenAddressFamilyComplete", "twice",
            "NdisAfHandle#1",
        )  # fmt: skip
        assert ndis.crashed is bc

    def test_second_close_complete_uses_a_dead_handle(self) -> None:
        # "When NdisMCmCloseAddressFamilyComplete returns, the handle is invalid for the MCM."
        h, af = open_parked()
        h.ndis.NdisMCmOpenAddressFamilyComplete(NDIS_STATUS_SUCCESS, af, None)
        assert h.ndis.NdisClCloseAddressFamily(af) == NDIS_STATUS_PENDING
        h.ndis.NdisMCmCloseAddressFamilyComplete(NDIS_STATUS_SUCCESS, af)
        with h.ndis.driver_context(h.ndis.driver("samplemcm")):
            run = partial(h.ndis.NdisMCmCloseAddressFamilyComplete, NDIS_STATUS_SUCCESS, af)
            expect_bugcheck(
                h.ndis,
                run,
                "NdisHandleStale",
                "NdisMCmCloseAddressFamilyComplete",
                "samplemcm",
                af.label,
            )
        assert len(records(h.ndis, "ProtocolClCloseAfComplete", "call")) == 1

    def test_second_unbind_complete_uses_a_dead_handle(self) -> None:
        h = build(afs=())
        h.ndis.config.close_adapter_pends = True  # the sample client pends its unbind
        h.ndis.unbind_adapter(h.binding)
        context = h.binding.unbind_context
        assert records(h.ndis, "NdisCompleteUnbindAdapterEx", "return")
        with h.ndis.driver_context(h.ndis.driver("sampleclient")):
            run = partial(h.ndis.NdisCompleteUnbindAdapterEx, context)
            expect_bugcheck(
                h.ndis,
                run,
                "NdisHandleStale",
                "NdisCompleteUnbindAdapterEx",
                "sampleclient",
                context.label,
            )


class HastyMcm(SampleMcm):
    """Completes the open inside ProtocolCmOpenAf and then returns SUCCESS, not PENDING."""

    def ProtocolCmOpenAf(self, ctx: Any, family: Any, handle: Any) -> tuple[int, object]:
        self.ndis.NdisMCmOpenAddressFamilyComplete(NDIS_STATUS_SUCCESS, handle, "ctx")
        return NDIS_STATUS_SUCCESS, "ctx"


class RecordingClient(SampleClient):
    """Opens nothing by itself and records ProtocolClOpenAfCompleteEx."""

    def __init__(self, ndis: Ndis) -> None:
        super().__init__(ndis, address_families=())
        self.completions: list[tuple[object, object, int]] = []

    def ProtocolClOpenAfCompleteEx(self, ctx: object, handle: object, status: int) -> None:
        self.completions.append((ctx, handle, status))


class TestCompletedButNotPended:
    """CoNdisCompletedButNotPended: a handler that completed must return PENDING."""

    def test_open_completed_in_the_handler_then_success(self) -> None:
        h = build(HastyMcm, RecordingClient)
        binding = h.binding.handle
        with h.ndis.driver_context(h.ndis.driver("sampleclient")):
            bc = raises(h.ndis.NdisClOpenAddressFamilyEx, binding, Q2931, "mine")
        assert facts(bc) == (
            C4, "CoNdisCompletedButNotPended", "ProtocolCmOpenAf", "samplemcm", "NdisAfHandle#1"
        )  # fmt: skip
        assert h.ndis.crashed is bc  # found after the handler ran: the host stops
        ((ctx, handle, status),) = h.cl.completions  # the completion itself was delivered
        assert (ctx, handle.label, status) == ("mine", "NdisAfHandle#1", NDIS_STATUS_SUCCESS)


class TestCompleteStatus:
    """CoNdisCompleteStatus: a completion gives a final status (and SUCCESS for a close)."""

    @pytest.mark.parametrize("from_driver", [True, False])
    def test_open_complete_with_pending(self, from_driver: bool) -> None:
        """Called from test code as from the MCM's, the violation names the MCM."""
        h, af = open_parked()
        complete = h.ndis.NdisMCmOpenAddressFamilyComplete
        run = partial(complete, NDIS_STATUS_PENDING, af, None)
        expected = ("CoNdisCompleteStatus", "NdisMCmOpenAddressFamilyComplete", "samplemcm")
        if from_driver:
            with h.ndis.driver_context(h.ndis.driver("samplemcm")):
                bc = expect_bugcheck(h.ndis, run, *expected, af.label)
        else:
            bc = expect_bugcheck(h.ndis, run, *expected, af.label)
        assert "NDIS_STATUS_PENDING" in bc.detail
        complete(NDIS_STATUS_SUCCESS, af, None)  # the open is still there to complete
        assert [a.state for a in h.cl.afs()] == ["open"]

    def test_bind_complete_with_pending(self) -> None:
        class ParkedBind(SampleClient):
            def ProtocolBindAdapterEx(self, ctx: object, BindContext: Any, params: Any) -> int:
                self.context = BindContext
                return NDIS_STATUS_PENDING

        h = build(client=ParkedBind)
        with h.ndis.driver_context(h.ndis.driver("sampleclient")):
            run = partial(h.ndis.NdisCompleteBindAdapterEx, h.cl.context, NDIS_STATUS_PENDING)
            expect_bugcheck(
                h.ndis,
                run,
                "CoNdisCompleteStatus",
                "NdisCompleteBindAdapterEx",
                "sampleclient",
                h.cl.context.label,
            )
        assert h.binding.state.value == "opening"

    def test_close_complete_with_a_failure(self) -> None:
        h, af = open_parked()
        h.ndis.NdisMCmOpenAddressFamilyComplete(NDIS_STATUS_SUCCESS, af, None)
        h.cl.close_af(h.cl.afs("open")[0])
        complete = h.ndis.NdisMCmCloseAddressFamilyComplete
        bc = expect_bugcheck(
            h.ndis,
            partial(complete, NDIS_STATUS_FAILURE, af),
            "CoNdisCompleteStatus",
            "NdisMCmCloseAddressFamilyComplete",
            "samplemcm",
            af.label,
        )
        assert "NDIS_STATUS_FAILURE" in bc.detail
        complete(NDIS_STATUS_SUCCESS, af)  # the close is still pending, and completes once
        assert h.cl.afs() == []
        assert [v.rule for v in h.ndis.verifier.violations] == ["CoNdisCompleteStatus"]


class TestWrongHandleKind:
    """A completion given a handle of another kind: NdisHandleWrongKind."""

    @pytest.mark.parametrize(
        ("ddi", "args", "handle"),
        [
            ("NdisMCmCloseAddressFamilyComplete", ("SUCCESS", "binding"), "binding"),
            ("NdisMCmOpenAddressFamilyComplete", ("SUCCESS", "binding", None), "binding"),
            ("NdisCompleteBindAdapterEx", ("af", "SUCCESS"), "af"),
            ("NdisCompleteUnbindAdapterEx", ("af",), "af"),
        ],
    )
    def test_wrong_kind(self, ddi: str, args: tuple[Any, ...], handle: str) -> None:
        h, af = open_parked()
        values = {"SUCCESS": NDIS_STATUS_SUCCESS, "binding": h.binding.handle, "af": af}
        call = getattr(h.ndis, ddi)
        with h.ndis.driver_context(h.ndis.driver("samplemcm")):
            run = partial(call, *(values.get(a, a) for a in args))
            expect_bugcheck(
                h.ndis, run, "NdisHandleWrongKind", ddi, "samplemcm", values[handle].label
            )


class RefusingMcm(SampleMcm):
    def ProtocolCmCloseAf(self, CallMgrAfContext: Any) -> int:
        return NDIS_STATUS_FAILURE


class FailingUnbindClient(SampleClient):
    def ProtocolUnbindAdapterEx(self, UnbindContext: Any, ctx: Any) -> int:
        self.ndis.NdisCloseAdapterEx(ctx.handle)
        return NDIS_STATUS_FAILURE


class TestHandlerStatus:
    """CoNdisHandlerStatus: a handler returns a status its page does not allow."""

    def test_cm_close_af_returns_failure(self) -> None:
        h = build(RefusingMcm)
        af = h.cl.afs("open")[0].handle
        bc = raises(h.ndis.NdisClCloseAddressFamily, af)
        assert facts(bc) == (C4, "CoNdisHandlerStatus", "ProtocolCmCloseAf", "samplemcm", af.label)
        assert "NDIS_STATUS_FAILURE" in bc.detail and h.ndis.crashed is bc

    def test_unbind_returns_failure(self) -> None:
        h = build(client=FailingUnbindClient, afs=())
        bc = raises(h.ndis.unbind_adapter, h.binding)
        expected = ("CoNdisHandlerStatus", "ProtocolUnbindAdapterEx", "sampleclient")
        assert facts(bc) == (C4, *expected, h.binding.unbind_context.label)


class TestSpellingAndNotify:
    """CoNdisMcmSpelling and CoNdisNotifyCloseNotClosed."""

    def test_mcm_completes_with_the_call_manager_spelling(self) -> None:
        h, af = open_parked()
        run = partial(h.ndis.NdisCmOpenAddressFamilyComplete, NDIS_STATUS_SUCCESS, af, None)
        bc = expect_bugcheck(
            h.ndis,
            run,
            "CoNdisMcmSpelling",
            "NdisCmOpenAddressFamilyComplete",
            "samplemcm",
            af.label,
        )
        assert "NdisMCmOpenAddressFamilyComplete" in bc.detail

    def test_mcm_notifies_with_the_call_manager_spelling(self) -> None:
        ndis, _, cl = mcm_host()
        af = cl.afs("open")[0].handle
        expect_bugcheck(
            ndis,
            partial(ndis.NdisCmNotifyCloseAddressFamily, af),
            "CoNdisMcmSpelling",
            "NdisCmNotifyCloseAddressFamily",
            "samplemcm",
            af.label,
        )

    @pytest.mark.parametrize("kind", ["mcm", "cm"])
    @pytest.mark.parametrize(
        ("dispatch", "args"),
        [
            ("DispatchIncomingCloseCall", (NDIS_STATUS_SUCCESS, "vc", None, 0)),
            ("DispatchCallConnected", ("vc",)),
            ("DispatchIncomingCallQoSChange", ("vc", "parameters")),
        ],
    )
    def test_dispatch_in_the_other_kinds_spelling(
        self, kind: str, dispatch: str, args: tuple[Any, ...]
    ) -> None:
        """NdisCm* on an MCM's VC, NdisMCm* on a stand-alone call manager's."""
        ndis, cm, vc = connected(kind)
        wrong, right = ("NdisCm", "NdisMCm") if kind == "mcm" else ("NdisMCm", "NdisCm")
        values = {"vc": vc.handle, "parameters": vc.parameters}
        call = [values.get(a, a) if isinstance(a, str) else a for a in args]
        name = cm.driver_object.DriverName
        with ndis.driver_context(ndis.driver(name)):
            bc = expect_bugcheck(
                ndis,
                partial(getattr(ndis, wrong + dispatch), *call),
                "CoNdisMcmSpelling",
                wrong + dispatch,
                name,
                vc.handle.label,
            )
        assert f"use the {right} spelling" in bc.detail

    def test_client_reports_success_without_closing(self) -> None:
        class Deaf(SampleClient):
            def ProtocolClNotifyCloseAf(self, ProtocolAfContext: Any) -> int:
                return NDIS_STATUS_SUCCESS

        h = build(client=Deaf)
        af = h.cl.afs("open")[0].handle
        bc = raises(h.ndis.NdisMCmNotifyCloseAddressFamily, af)
        expected = ("CoNdisNotifyCloseNotClosed", "ProtocolClNotifyCloseAf", "sampleclient")
        assert facts(bc) == (C4, *expected, af.label)


# --- teardown -----------------------------------------------------------------------------------


class PendingUnbindClient(SampleClient):
    """Closes the binding but pends the unbind and never completes it."""

    def ProtocolUnbindAdapterEx(self, UnbindContext: Any, ctx: Any) -> int:
        self.ndis.NdisCloseAdapterEx(ctx.handle)
        return NDIS_STATUS_PENDING


class LazyMcm(SampleMcm):
    """MiniportHaltEx that closes nothing and frees nothing."""

    def MiniportHaltEx(self, MiniportAdapterContext: Any, HaltAction: Any) -> None:
        return None


class TestPendingOnTeardown:
    """CoNdisPendingOnTeardown: what was pended must finish before the teardown."""

    def test_halt_with_an_open_pended_by_the_mcm(self) -> None:
        h, af = open_parked()
        bc = raises(h.ndis.halt_adapter, "mcm0")
        assert facts(bc) == (C4, "CoNdisPendingOnTeardown", "MiniportHaltEx", "samplemcm", af.label)
        assert "ProtocolCmOpenAf" in bc.detail and h.ndis.crashed is bc

    def test_unbind_pended_and_never_completed(self) -> None:
        h = build(client=PendingUnbindClient, afs=())
        bc = raises(h.ndis.halt_adapter, "mcm0")
        expected = ("CoNdisPendingOnTeardown", "ProtocolUnbindAdapterEx", "sampleclient")
        assert facts(bc) == (C4, *expected, h.binding.unbind_context.label)
        assert "forever" in bc.detail


class TestAfOpenOnTeardown:
    """CoNdisAfOpenOnTeardown: every AF is closed before its binding or adapter goes."""

    def test_client_closes_the_binding_with_an_af_open(self) -> None:
        h = build()
        af = h.cl.afs("open")[0].handle
        with h.ndis.driver_context(h.ndis.driver("sampleclient")):
            run = partial(h.ndis.NdisCloseAdapterEx, h.binding.handle)
            expect_bugcheck(
                h.ndis,
                run,
                "CoNdisAfOpenOnTeardown",
                "NdisCloseAdapterEx",
                "sampleclient",
                af.label,
            )

    def test_client_unbinds_without_closing_its_af(self) -> None:
        class Careless(SampleClient):
            def ProtocolUnbindAdapterEx(self, UnbindContext: Any, ctx: Any) -> int:
                self.ndis.NdisCloseAdapterEx(ctx.handle)
                return NDIS_STATUS_SUCCESS

        h = build(client=Careless)
        af = h.cl.afs("open")[0].handle
        bc = raises(h.ndis.unbind_adapter, h.binding)
        expected = ("CoNdisAfOpenOnTeardown", "NdisCloseAdapterEx", "sampleclient", af.label)
        assert facts(bc) == (C4, *expected)
        assert h.ndis.crashed is bc  # raised inside ProtocolUnbindAdapterEx

    def test_mcm_halt_that_leaves_afs_open(self) -> None:
        h = build(LazyMcm)
        af = h.cl.afs("open")[0].handle
        bc = raises(h.ndis.halt_adapter, "mcm0")
        assert facts(bc) == (C4, "CoNdisAfOpenOnTeardown", "MiniportHaltEx", "samplemcm", af.label)
        # found when MiniportHaltEx returned, before the client's unbind could hide it
        assert not records(h.ndis, "ProtocolUnbindAdapterEx")


class LeakyMcm(SampleMcm):
    """Allocates a work item and a timer with its adapter handle in MiniportInitializeEx."""

    leak = "work item"
    fail_init = False

    def MiniportInitializeEx(self, NdisMiniportHandle: Any, *args: Any) -> int:
        status = super().MiniportInitializeEx(NdisMiniportHandle, *args)
        if self.leak == "work item":
            self.leaked = self.ndis.NdisAllocateIoWorkItem(NdisMiniportHandle)
        else:
            chars = NDIS_TIMER_CHARACTERISTICS(TimerFunction=lambda *a: None)
            _, self.leaked = self.ndis.NdisAllocateTimerObject(NdisMiniportHandle, chars)
        return NDIS_STATUS_FAILURE if self.fail_init else status


class TestLeaks:
    """NdisWorkItemLeak and NdisTimerLeak, checked when MiniportHaltEx returns."""

    @pytest.mark.parametrize(
        ("leak", "rule", "code"),
        [("work item", "NdisWorkItemLeak", C4), ("timer", "NdisTimerLeak", BUGCODE_NDIS_DRIVER)],
    )
    def test_leak_at_halt(self, leak: str, rule: str, code: int) -> None:
        ndis = Ndis()
        mcm = type("Leaky", (LeakyMcm,), {"leak": leak})(ndis, address_families=())
        ndis.load_driver(mcm, "leaky")
        ndis.add_adapter("leaky", "nic0")
        bc = raises(ndis.halt_adapter, "nic0")
        assert facts(bc) == (code, rule, "MiniportHaltEx", "leaky", mcm.leaked.label)
        assert bc.parameters[0] == (0x09 if leak == "timer" else None)

    def test_leak_when_initialize_fails(self) -> None:
        ndis = Ndis()
        mcm = type("Failing", (LeakyMcm,), {"fail_init": True})(ndis, address_families=())
        ndis.load_driver(mcm, "leaky")
        bc = raises(ndis.add_adapter, "leaky", "nic0")
        expected = ("NdisWorkItemLeak", "MiniportInitializeEx", "leaky", mcm.leaked.label)
        assert facts(bc) == (C4, *expected)


class TestBindAndUnbind:
    """NdisBindIncomplete and CoNdisUnbindIncomplete."""

    def test_bind_success_without_open(self) -> None:
        class NoOpen(SampleClient):
            def ProtocolBindAdapterEx(self, ctx: object, BindContext: Any, params: Any) -> int:
                self.context = BindContext
                return NDIS_STATUS_SUCCESS

        ndis, _, _ = mcm_host(client=False)
        client = NoOpen(ndis)
        bc = raises(ndis.load_driver, client, "noopen")
        expected = ("NdisBindIncomplete", "ProtocolBindAdapterEx", "noopen", client.context.label)
        assert facts(bc) == (C4, *expected)
        assert "not opened" in bc.detail

    def test_unbind_success_without_close(self) -> None:
        class NoClose(SampleClient):
            def ProtocolUnbindAdapterEx(self, UnbindContext: Any, ctx: Any) -> int:
                return NDIS_STATUS_SUCCESS

        h = build(client=NoClose, afs=())
        bc = raises(h.ndis.unbind_adapter, h.binding)
        expected = ("CoNdisUnbindIncomplete", "ProtocolUnbindAdapterEx", "sampleclient")
        assert facts(bc) == (C4, *expected, h.binding.unbind_context.label)


class TestWaitAndWorkItems:
    """NdisWaitDeadlock and NdisWorkItemQueued."""

    def test_wait_forever_with_nothing_to_set_the_event(self) -> None:
        ndis, _, _ = mcm_host(afs=(), client=False)
        with ndis.driver_context(ndis.driver("samplemcm")):
            event = ndis.NdisInitializeEvent()
            bc = expect_bugcheck(
                ndis,
                partial(ndis.NdisWaitEvent, event, 0),
                "NdisWaitDeadlock",
                "NdisWaitEvent",
                "samplemcm",
                None,
                stops=True,  # a thread that can never wake: the host hangs
            )
            assert event.label in bc.detail
        ndis, _, _ = mcm_host(afs=(), client=False)
        with ndis.driver_context(ndis.driver("samplemcm")):
            event = ndis.NdisInitializeEvent()
            assert ndis.NdisWaitEvent(event, 5) is False  # a finite wait just times out
        assert ndis.now == 5 * TICKS_PER_MS

    @pytest.mark.parametrize("second", ["NdisQueueIoWorkItem", "NdisFreeIoWorkItem"])
    def test_work_item_still_queued(self, second: str) -> None:
        ndis, _, _ = mcm_host(afs=(), client=False)
        item = ndis.NdisAllocateIoWorkItem(ndis.adapter("mcm0").handle)
        ran: list[object] = []
        ndis.NdisQueueIoWorkItem(item, lambda ctx, h: ran.append(ctx), "first")
        args = (item, lambda ctx, h: ran.append(ctx), "second") if "Queue" in second else (item,)
        run = partial(getattr(ndis, second), *args)
        bc = expect_bugcheck(ndis, run, "NdisWorkItemQueued", second, "samplemcm", item.label)
        assert "queued" in bc.detail
        ndis.run()
        assert ran == ["first"]
