"""Deferred work: NDIS I/O work items, timer objects, and events (NdisWaitEvent).

Work items run at PASSIVE_LEVEL and timers at DISPATCH_LEVEL, both only when
the host's scheduler runs (Ndis.run / Ndis.step, or a driver waiting in
NdisWaitEvent). Time is simulated, in 100-ns units.
"""

from __future__ import annotations

from typing import Any

import pytest

from condis import (
    NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
    NDIS_MINIPORT_INIT_PARAMETERS,
    NDIS_STATUS,
    NDIS_STATUS_BAD_CHARACTERISTICS,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
    NDIS_TIMER_CHARACTERISTICS,
    BugCheck,
    MiniportDriver,
    Mode,
    Ndis,
)
from condis.constants import DISPATCH_LEVEL, NDIS_HALT_ACTION, PASSIVE_LEVEL
from condis.handles import AdapterHandle, DriverHandle, TimerHandle, WorkItemHandle
from condis.samples import SampleClient
from condis.scheduler import TICKS_PER_MS
from condis.trace import RecordKind
from util import in_order, records

MS = TICKS_PER_MS


class Mini(MiniportDriver):
    """A minimal miniport: its adapter context is its adapter handle."""

    CONNECTION_ORIENTED = False

    def MiniportInitializeEx(
        self,
        NdisMiniportHandle: AdapterHandle,
        MiniportDriverContext: object,
        MiniportInitParameters: NDIS_MINIPORT_INIT_PARAMETERS,
    ) -> NDIS_STATUS:
        attributes = NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES(
            MiniportAdapterContext=NdisMiniportHandle
        )
        return self.ndis.NdisMSetMiniportAttributes(NdisMiniportHandle, attributes)

    def MiniportHaltEx(
        self, MiniportAdapterContext: AdapterHandle, HaltAction: NDIS_HALT_ACTION
    ) -> None:
        return None


def host(mode: Mode = Mode.STRICT) -> tuple[Ndis, Mini]:
    """A host with a minimal miniport ('mini') and its adapter 'nic0' up."""
    ndis = Ndis(mode=mode)
    miniport = Mini(ndis)
    ndis.load_driver(miniport, "mini")
    ndis.add_adapter("mini", "nic0")
    return ndis, miniport


def adapter_handle(ndis: Ndis) -> AdapterHandle:
    return ndis.adapter("nic0").handle


def driver_handle(ndis: Ndis, name: str = "mini") -> DriverHandle:
    handle = ndis.driver(name).handle
    assert handle is not None
    return handle


class TestAllocateIoWorkItem:
    """NdisAllocateIoWorkItem: miniports only; NULL on failure."""

    def test_with_adapter_handle(self) -> None:
        ndis, _ = host()
        item = ndis.NdisAllocateIoWorkItem(adapter_handle(ndis))
        assert isinstance(item, WorkItemHandle)
        (w,) = ndis.work_items
        assert w.handle is item
        assert w.driver is ndis.driver("mini")
        assert w.adapter is ndis.adapter("nic0")
        ret = records(ndis, "NdisAllocateIoWorkItem", "return")[-1]
        assert ret.driver == "mini"
        assert ret.result == item.label

    def test_with_miniport_driver_handle(self) -> None:
        ndis, _ = host()
        item = ndis.NdisAllocateIoWorkItem(driver_handle(ndis))
        assert isinstance(item, WorkItemHandle)
        (w,) = ndis.work_items
        assert w.adapter is None
        assert w.driver is ndis.driver("mini")

    def test_protocol_handle_returns_null(self) -> None:
        """'Protocol drivers cannot use NdisAllocateIoWorkItem': NULL, and no item."""
        ndis, _ = host()
        ndis.load_driver(SampleClient(ndis), "client")
        assert ndis.NdisAllocateIoWorkItem(driver_handle(ndis, "client")) is None
        assert ndis.work_items == ()
        ret = records(ndis, "NdisAllocateIoWorkItem", "return")[-1]
        assert ret.driver == "client"
        assert ret.result is None
        assert ndis.verifier.violations == []

    def test_injected_failure_returns_null_once(self) -> None:
        ndis, _ = host()
        ndis.faults.fail("NdisAllocateIoWorkItem")
        before = ndis.snapshot()
        assert ndis.NdisAllocateIoWorkItem(adapter_handle(ndis)) is None
        assert ndis.snapshot() == before
        assert [name for name, _ in ndis.faults.injected] == ["NdisAllocateIoWorkItem"]
        assert isinstance(ndis.NdisAllocateIoWorkItem(adapter_handle(ndis)), WorkItemHandle)


class TestQueueIoWorkItem:
    """NdisQueueIoWorkItem: the routine runs later, at PASSIVE_LEVEL."""

    def test_routine_runs_only_when_the_scheduler_runs(self) -> None:
        ndis, _ = host()
        item = ndis.NdisAllocateIoWorkItem(adapter_handle(ndis))
        assert item is not None
        seen: list[tuple[object, object, object, object]] = []

        def routine(ctx: object, handle: WorkItemHandle) -> None:
            driver = ndis.current_driver
            seen.append((ctx, handle, ndis.current_irql, driver and driver.name))
            ndis.NdisFreeIoWorkItem(handle)

        context = object()
        ndis.NdisQueueIoWorkItem(item, routine, context)
        assert seen == []
        assert records(ndis, "NdisIoWorkItemRoutine") == []
        assert ndis.snapshot()["work_items"] == [(item.label, True, 0)]
        ran = ndis.step()
        assert ran is not None
        assert seen == [(context, item, PASSIVE_LEVEL, "mini")]
        call = records(ndis, "NdisIoWorkItemRoutine", "call")[0]
        assert (call.kind, call.driver, call.irql, call.handle) == (
            RecordKind.HANDLER,
            "mini",
            PASSIVE_LEVEL,
            item.label,
        )
        assert ndis.step() is None

    def test_queued_at_dispatch_runs_at_passive(self) -> None:
        ndis, _ = host()
        levels: list[object] = []
        with ndis.driver_context(ndis.driver("mini"), DISPATCH_LEVEL):
            item = ndis.NdisAllocateIoWorkItem(adapter_handle(ndis))
            assert item is not None
            ndis.NdisQueueIoWorkItem(item, lambda ctx, h: levels.append(ndis.current_irql))
        assert levels == []
        assert ndis.run() == 1
        assert levels == [PASSIVE_LEVEL]
        assert records(ndis, "NdisIoWorkItemRoutine", "return")[0].irql == PASSIVE_LEVEL

    def test_free_from_inside_the_routine(self) -> None:
        """The routine frees its own work item; the adapter then halts cleanly."""
        ndis, _ = host()
        item = ndis.NdisAllocateIoWorkItem(adapter_handle(ndis))
        assert item is not None
        ndis.NdisQueueIoWorkItem(item, lambda ctx, h: ndis.NdisFreeIoWorkItem(h))
        ndis.run()
        assert ndis.work_items == ()
        in_order(
            ndis,
            ("call", "NdisIoWorkItemRoutine"),
            ("call", "NdisFreeIoWorkItem"),
            ("return", "NdisFreeIoWorkItem"),
            ("return", "NdisIoWorkItemRoutine"),
        )
        ndis.halt_adapter("nic0")
        assert ndis.verifier.violations == []

    def test_requeue_after_it_ran(self) -> None:
        ndis, _ = host()
        item = ndis.NdisAllocateIoWorkItem(driver_handle(ndis))
        assert item is not None
        count: list[int] = []
        for _ in range(2):
            ndis.NdisQueueIoWorkItem(item, lambda ctx, h: count.append(1))
            ndis.run()
        assert len(count) == 2
        assert ndis.snapshot()["work_items"] == [(item.label, False, 2)]

    def test_queue_twice_is_a_violation(self) -> None:
        ndis, _ = host()
        item = ndis.NdisAllocateIoWorkItem(adapter_handle(ndis))
        assert item is not None
        ndis.NdisQueueIoWorkItem(item, lambda ctx, h: None)
        before = ndis.snapshot()
        with pytest.raises(BugCheck) as exc:
            ndis.NdisQueueIoWorkItem(item, lambda ctx, h: None)
        assert exc.value.rule == "NdisWorkItemQueued"
        assert ndis.snapshot() == before

    def test_free_while_queued_is_a_violation(self) -> None:
        ndis, _ = host()
        item = ndis.NdisAllocateIoWorkItem(adapter_handle(ndis))
        assert item is not None
        ndis.NdisQueueIoWorkItem(item, lambda ctx, h: None)
        before = ndis.snapshot()
        with pytest.raises(BugCheck) as exc:
            ndis.NdisFreeIoWorkItem(item)
        assert exc.value.rule == "NdisWorkItemQueued"
        assert ndis.snapshot() == before

    def test_routine_must_be_callable(self) -> None:
        ndis, _ = host()
        item = ndis.NdisAllocateIoWorkItem(adapter_handle(ndis))
        assert item is not None
        with pytest.raises(
            TypeError, match=r"^NdisQueueIoWorkItem: Routine must be callable, not int$"
        ):
            ndis.NdisQueueIoWorkItem(item, 5)  # type: ignore[arg-type]

    def test_leaked_work_item_at_halt(self) -> None:
        ndis, _ = host(Mode.COLLECT)
        item = ndis.NdisAllocateIoWorkItem(adapter_handle(ndis))
        assert item is not None
        ndis.halt_adapter("nic0")
        assert [(v.rule, v.ddi, v.handle) for v in ndis.verifier.violations] == [
            ("NdisWorkItemLeak", "MiniportHaltEx", item.label)
        ]


# --- timers -----------------------------------------------------------------------------------


class Recorder:
    """A NetTimerCallback that records its arguments, the IRQL and the clock."""

    def __init__(self, ndis: Ndis) -> None:
        self.ndis = ndis
        self.calls: list[tuple[tuple[object, ...], object, int]] = []

    def __call__(self, *args: object) -> None:
        self.calls.append((args, self.ndis.current_irql, self.ndis.now))

    @property
    def times(self) -> list[int]:
        return [t for _, _, t in self.calls]


def timer(
    ndis: Ndis, handle: AdapterHandle | DriverHandle | None = None, context: object = None
) -> tuple[TimerHandle, Recorder]:
    cb = Recorder(ndis)
    chars = NDIS_TIMER_CHARACTERISTICS(TimerFunction=cb, FunctionContext=context)
    status, t = ndis.NdisAllocateTimerObject(
        driver_handle(ndis) if handle is None else handle, chars
    )
    assert status == NDIS_STATUS_SUCCESS
    assert isinstance(t, TimerHandle)
    return t, cb


class TestAllocateTimerObject:
    """NdisAllocateTimerObject: SUCCESS, BAD_CHARACTERISTICS, RESOURCES."""

    def test_success_with_driver_adapter_and_protocol_handles(self) -> None:
        ndis, _ = host()
        ndis.load_driver(SampleClient(ndis), "client")
        t1, _ = timer(ndis)
        t2, _ = timer(ndis, adapter_handle(ndis))
        t3, _ = timer(ndis, driver_handle(ndis, "client"))
        assert [t.handle for t in ndis.timers] == [t1, t2, t3]
        assert [t.driver.name for t in ndis.timers] == ["mini", "mini", "client"]
        returns = records(ndis, "NdisAllocateTimerObject", "return")
        assert [r.status for r in returns] == [NDIS_STATUS_SUCCESS] * 3

    def test_no_timer_function_is_bad_characteristics(self) -> None:
        ndis, _ = host()
        before = ndis.snapshot()
        status, t = ndis.NdisAllocateTimerObject(driver_handle(ndis), NDIS_TIMER_CHARACTERISTICS())
        assert status == NDIS_STATUS_BAD_CHARACTERISTICS
        assert t is None
        assert ndis.snapshot() == before
        assert records(ndis, "NdisAllocateTimerObject", "return")[0].status == status

    def test_injected_failure_is_resources(self) -> None:
        ndis, _ = host()
        ndis.faults.fail("NdisAllocateTimerObject")
        chars = NDIS_TIMER_CHARACTERISTICS(TimerFunction=Recorder(ndis))
        assert ndis.NdisAllocateTimerObject(driver_handle(ndis), chars) == (
            NDIS_STATUS_RESOURCES,
            None,
        )
        assert ndis.timers == ()
        status, _ = ndis.NdisAllocateTimerObject(driver_handle(ndis), chars)
        assert status == NDIS_STATUS_SUCCESS


class TestSetTimerObject:
    """Due times, return value, and the NetTimerCallback call."""

    def test_relative_due_time(self) -> None:
        """A negative DueTime counts from now, in 100-ns units."""
        ndis, _ = host()
        ndis.run(until=1000)
        t, cb = timer(ndis)
        assert ndis.NdisSetTimerObject(t, -5 * MS) is False
        ndis.run(until=1000 + 5 * MS - 1)
        assert cb.calls == []
        ndis.run()
        assert cb.times == [1000 + 5 * MS]

    def test_absolute_due_time(self) -> None:
        """A positive DueTime is a system time."""
        ndis, _ = host()
        ndis.run(until=1000)
        t, cb = timer(ndis)
        ndis.NdisSetTimerObject(t, 5 * MS)
        ndis.run()
        assert cb.times == [5 * MS]

    def test_callback_arguments_and_irql(self) -> None:
        """NetTimerCallback(SystemSpecific1, FunctionContext, SystemSpecific2, SystemSpecific3)."""
        ndis, _ = host()
        t, cb = timer(ndis, context="ctx")
        ndis.NdisSetTimerObject(t, -2 * MS)
        ndis.run()
        ((args, irql, when),) = cb.calls
        assert len(args) == 4
        assert args[1] == "ctx"
        assert irql == DISPATCH_LEVEL
        assert when == 2 * MS
        call = records(ndis, "NetTimerCallback", "call")[0]
        assert (call.kind, call.driver, call.irql, call.time, call.handle) == (
            RecordKind.HANDLER,
            "mini",
            DISPATCH_LEVEL,
            2 * MS,
            t.label,
        )

    def test_returns_true_when_already_queued(self) -> None:
        """Setting a set timer re-sets it: it fires once, at the new time."""
        ndis, _ = host()
        t, cb = timer(ndis)
        assert ndis.NdisSetTimerObject(t, -10 * MS) is False
        assert ndis.NdisSetTimerObject(t, -3 * MS) is True
        ndis.run()
        assert cb.times == [3 * MS]
        assert ndis.NdisSetTimerObject(t, -1 * MS) is False
        ret = records(ndis, "NdisSetTimerObject", "return")
        assert [r.result for r in ret] == ["False", "True", "False"]

    def test_function_context_default_and_override(self) -> None:
        ndis, _ = host()
        t, cb = timer(ndis, context="default")
        for passed in (None, "passed", None):
            ndis.NdisSetTimerObject(t, -1 * MS, 0, passed)
            ndis.run()
        assert [args[1] for args, _, _ in cb.calls] == ["default", "passed", "default"]

    def test_bad_period(self) -> None:
        ndis, _ = host()
        t, _ = timer(ndis)
        with pytest.raises(
            ValueError, match=r"^NdisSetTimerObject: MillisecondsPeriod must be in 0..MAXLONG"
        ):
            ndis.NdisSetTimerObject(t, -1, -1)
        with pytest.raises(TypeError, match=r"^NdisSetTimerObject: DueTime must be an int"):
            ndis.NdisSetTimerObject(t, 1.5)  # type: ignore[arg-type]


class TestPeriodicAndCancel:
    """Periodic timers, NdisCancelTimerObject and NdisFreeTimerObject."""

    def test_periodic_fires_every_period_until_cancelled(self) -> None:
        ndis, _ = host()
        t, cb = timer(ndis)
        ndis.NdisSetTimerObject(t, -1 * MS, 2)
        ndis.run(until=10 * MS)
        assert cb.times == [1 * MS, 3 * MS, 5 * MS, 7 * MS, 9 * MS]
        assert ndis.NdisCancelTimerObject(t) is True
        assert ndis.run() == 0
        assert len(cb.calls) == 5
        assert ndis.NdisCancelTimerObject(t) is False

    def test_cancel_periodic_at_dispatch_is_a_violation(self) -> None:
        """Cancelling a periodic timer requires PASSIVE_LEVEL."""
        ndis, _ = host()
        t, _ = timer(ndis)
        ndis.NdisSetTimerObject(t, -1 * MS, 2)
        before = ndis.snapshot()
        with (
            ndis.driver_context(ndis.driver("mini"), DISPATCH_LEVEL),
            pytest.raises(BugCheck) as exc,
        ):
            ndis.NdisCancelTimerObject(t)
        assert exc.value.rule == "Irql_Timer_Function"
        assert ndis.snapshot() == before
        assert ndis.NdisCancelTimerObject(t) is True

    def test_cancel_one_shot_at_dispatch(self) -> None:
        ndis, _ = host()
        t, cb = timer(ndis)
        ndis.NdisSetTimerObject(t, -1 * MS)
        with ndis.driver_context(ndis.driver("mini"), DISPATCH_LEVEL):
            assert ndis.NdisCancelTimerObject(t) is True
        assert ndis.run() == 0
        assert cb.calls == []

    def test_cancel_returns_false_when_not_queued(self) -> None:
        ndis, _ = host()
        t, _ = timer(ndis)
        assert ndis.NdisCancelTimerObject(t) is False
        ndis.NdisSetTimerObject(t, -1 * MS)
        ndis.run()
        assert ndis.NdisCancelTimerObject(t) is False
        ret = records(ndis, "NdisCancelTimerObject", "return")
        assert [r.result for r in ret] == ["False", "False"]

    def test_free_cancels(self) -> None:
        ndis, _ = host()
        t, cb = timer(ndis)
        ndis.NdisSetTimerObject(t, -1 * MS, 1)
        ndis.NdisFreeTimerObject(t)
        assert ndis.timers == ()
        assert ndis.run() == 0
        assert cb.calls == []
        assert ndis.now == 0
        with pytest.raises(BugCheck) as exc:
            ndis.NdisSetTimerObject(t, -1)
        assert exc.value.rule == "NdisHandleStale"

    def test_leaked_adapter_timer_at_halt(self) -> None:
        ndis, _ = host(Mode.COLLECT)
        t, _ = timer(ndis, adapter_handle(ndis))
        ndis.halt_adapter("nic0")
        assert [(v.rule, v.handle) for v in ndis.verifier.violations] == [
            ("NdisTimerLeak", t.label)
        ]


# --- events -----------------------------------------------------------------------------------


class TestWaitEvent:
    """NdisWaitEvent runs the rest of the system while the driver waits."""

    def test_set_by_a_work_item(self) -> None:
        ndis, _ = host()
        with ndis.driver_context(ndis.driver("mini")):
            event = ndis.NdisInitializeEvent()
            item = ndis.NdisAllocateIoWorkItem(adapter_handle(ndis))
            assert item is not None

            def routine(ctx: object, handle: WorkItemHandle) -> None:
                ndis.NdisFreeIoWorkItem(handle)
                ndis.NdisSetEvent(event)

            ndis.NdisQueueIoWorkItem(item, routine)
            assert ndis.NdisWaitEvent(event, 0) is True
        assert ndis.now == 0
        in_order(
            ndis,
            ("call", "NdisWaitEvent"),
            ("call", "NdisIoWorkItemRoutine"),
            ("call", "NdisSetEvent"),
            ("return", "NdisIoWorkItemRoutine"),
            ("return", "NdisWaitEvent"),
        )
        assert records(ndis, "NdisWaitEvent", "return")[0].result == "True"

    def test_timeout_moves_the_clock_to_the_deadline(self) -> None:
        """A timer due after the deadline does not fire during the wait."""
        ndis, _ = host()
        t, cb = timer(ndis)
        with ndis.driver_context(ndis.driver("mini")):
            event = ndis.NdisInitializeEvent()
            ndis.NdisSetTimerObject(t, -10 * MS)
            assert ndis.NdisWaitEvent(event, 5) is False
            assert ndis.now == 5 * MS
            assert cb.calls == []
        ret = records(ndis, "NdisWaitEvent", "return")[0]
        assert (ret.result, ret.time) == ("False", 5 * MS)
        ndis.run()
        assert cb.times == [10 * MS]

    def test_set_by_a_timer_before_the_deadline(self) -> None:
        ndis, _ = host()
        with ndis.driver_context(ndis.driver("mini")):
            event = ndis.NdisInitializeEvent()
            cb = NDIS_TIMER_CHARACTERISTICS(TimerFunction=lambda *a: ndis.NdisSetEvent(event))
            status, t = ndis.NdisAllocateTimerObject(driver_handle(ndis), cb)
            assert status == NDIS_STATUS_SUCCESS and t is not None
            ndis.NdisSetTimerObject(t, -3 * MS)
            assert ndis.NdisWaitEvent(event, 50) is True
            assert ndis.now == 3 * MS

    def test_infinite_wait_with_nothing_left_is_a_deadlock(self) -> None:
        ndis, _ = host()
        with ndis.driver_context(ndis.driver("mini")):
            event = ndis.NdisInitializeEvent()
            with pytest.raises(BugCheck) as exc:
                ndis.NdisWaitEvent(event, 0)
        assert exc.value.rule == "NdisWaitDeadlock"

    def test_wait_from_a_halt_handler(self) -> None:
        """MiniportHaltEx waits for its own work item; the scheduler runs nested."""

        class WaitingMiniport(Mini):
            waited: bool | None = None

            def MiniportHaltEx(
                self, MiniportAdapterContext: AdapterHandle, HaltAction: NDIS_HALT_ACTION
            ) -> None:
                ndis = self.ndis
                event = ndis.NdisInitializeEvent()
                item = ndis.NdisAllocateIoWorkItem(MiniportAdapterContext)
                assert item is not None

                def routine(ctx: Any, handle: WorkItemHandle) -> None:
                    ndis.NdisFreeIoWorkItem(handle)
                    ndis.NdisSetEvent(ctx)

                ndis.NdisQueueIoWorkItem(item, routine, event)
                self.waited = ndis.NdisWaitEvent(event, 0)
                super().MiniportHaltEx(MiniportAdapterContext, HaltAction)

        ndis = Ndis()
        miniport = WaitingMiniport(ndis)
        ndis.load_driver(miniport, "waiter")
        ndis.add_adapter("waiter", "nic0")
        ndis.halt_adapter("nic0")
        assert miniport.waited is True
        assert ndis.verifier.violations == []
        assert ndis.work_items == ()
        assert ndis.adapters == ()
        found = in_order(
            ndis,
            ("call", "MiniportHaltEx"),
            ("call", "NdisWaitEvent"),
            ("call", "NdisIoWorkItemRoutine"),
            ("call", "NdisSetEvent"),
            ("return", "NdisIoWorkItemRoutine"),
            ("return", "NdisWaitEvent"),
            ("return", "MiniportHaltEx"),
        )
        routine_call = found[2]
        assert routine_call.depth > found[1].depth
        assert routine_call.irql == PASSIVE_LEVEL
