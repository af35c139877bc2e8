"""The deterministic scheduler (condis.scheduler), directly and through Ndis.

Ordering policies, the simulated clock (which moves only when nothing is
ready), run(until=...), the max_steps guard against periodic timers, cancel,
and through Ndis: step/run, a scripted interleaving of the demo, and seeded
runs of the demo that are byte-identical per seed and clean for every seed.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from condis import (
    NDIS_STATUS_SUCCESS,
    NDIS_TIMER_CHARACTERISTICS,
    CondisInternalError,
    FifoPolicy,
    Ndis,
    RandomPolicy,
    SchedulerError,
    ScriptedPolicy,
)
from condis.constants import DISPATCH_LEVEL, PASSIVE_LEVEL
from condis.demo import af_lifecycle
from condis.samples import SampleClient, SampleCoMiniport, SampleMcm
from condis.scheduler import TICKS_PER_MS, Item, ItemKind, Scheduler
from condis.trace import to_jsonl

Log = list[tuple[str, int]]


def item(sched: Scheduler, log: Log, label: str, then: Callable[[], None] | None = None) -> Item:
    """An item that logs (label, clock) when it runs, then calls `then`."""

    def action() -> None:
        log.append((label, sched.now))
        if then is not None:
            then()

    return Item(label, ItemKind.NDIS, PASSIVE_LEVEL, action)


def labels(log: Log) -> list[str]:
    return [label for label, _ in log]


def run_order(policy: FifoPolicy | RandomPolicy | ScriptedPolicy, count: int = 6) -> list[str]:
    sched = Scheduler(policy=policy)
    log: Log = []
    for i in range(count):
        sched.queue(item(sched, log, f"w{i}"))
    assert sched.run() == count
    return labels(log)


class TestPolicies:
    """Which ready item runs next."""

    def test_default_policy_is_fifo(self) -> None:
        """Items run in the order they were queued."""
        assert run_order(Scheduler().policy) == [f"w{i}" for i in range(6)]
        assert run_order(FifoPolicy()) == [f"w{i}" for i in range(6)]

    def test_fifo_includes_items_queued_while_running(self) -> None:
        """Work queued by a running item goes behind what was already ready."""
        sched = Scheduler()
        log: Log = []
        sched.queue(item(sched, log, "a", then=lambda: sched.queue(item(sched, log, "c"))))
        sched.queue(item(sched, log, "b"))
        sched.run()
        assert labels(log) == ["a", "b", "c"]

    def test_random_same_seed_same_order(self) -> None:
        """The same seed gives the same order, run after run."""
        for seed in range(5):
            first = run_order(RandomPolicy(seed))
            assert sorted(first) == [f"w{i}" for i in range(6)]
            assert run_order(RandomPolicy(seed)) == first

    def test_random_different_seeds_can_differ(self) -> None:
        """Some other seed gives another order (found by a fixed search)."""
        base = run_order(RandomPolicy(0))
        other = next((s for s in range(1, 50) if run_order(RandomPolicy(s)) != base), None)
        assert other is not None
        assert run_order(RandomPolicy(other)) != base
        assert sorted(run_order(RandomPolicy(other))) == sorted(base)

    def test_random_is_not_always_fifo(self) -> None:
        """Among a few seeds at least one does not pick the oldest item every time."""
        fifo = [f"w{i}" for i in range(6)]
        assert any(run_order(RandomPolicy(s)) != fifo for s in range(10))

    def test_scripted_follows_choices_then_fifo(self) -> None:
        """Indices are into the ready items, oldest first; afterwards FIFO."""
        policy = ScriptedPolicy([2, 0, 1])
        assert run_order(policy, count=5) == ["w2", "w0", "w3", "w1", "w4"]
        # every choice is recorded, the FIFO fallback included
        assert policy.taken == [(2, 5), (0, 4), (1, 3), (0, 2)]

    def test_scripted_is_asked_only_when_there_is_a_choice(self) -> None:
        """With one ready item the policy is not consulted."""
        policy = ScriptedPolicy([5])
        sched = Scheduler(policy=policy)
        log: Log = []
        sched.queue(item(sched, log, "only"))
        assert sched.run() == 1
        assert policy.taken == []

    def test_scripted_out_of_range_raises(self) -> None:
        """A choice past the ready items is a SchedulerError."""
        sched = Scheduler(policy=ScriptedPolicy([3]))
        log: Log = []
        for name in ("a", "b"):
            sched.queue(item(sched, log, name))
        with pytest.raises(SchedulerError, match=r"^scripted choice 3 out of range for 2 items$"):
            sched.step()
        assert log == []


class TestStep:
    """step() runs exactly one item."""

    def test_step_runs_one_and_returns_it(self) -> None:
        sched = Scheduler()
        log: Log = []
        a = sched.queue(item(sched, log, "a"))
        b = sched.queue(item(sched, log, "b"))
        assert sched.step() is a
        assert labels(log) == ["a"]
        assert sched.ready() == (b,)
        assert sched.step() is b
        assert sched.steps == 2

    def test_step_when_idle_returns_none(self) -> None:
        sched = Scheduler()
        assert sched.idle()
        assert sched.step() is None
        assert sched.steps == 0
        assert sched.now == 0


class TestClock:
    """Simulated time moves only when nothing is ready."""

    def test_timer_due_now_runs_after_every_ready_item(self) -> None:
        """A timer due at the current time still waits for all ready work."""
        sched = Scheduler()
        log: Log = []
        sched.at(0, item(sched, log, "timer"))
        sched.queue(item(sched, log, "a", then=lambda: sched.queue(item(sched, log, "c"))))
        sched.queue(item(sched, log, "b"))
        sched.run()
        assert labels(log) == ["a", "b", "c", "timer"]

    def test_clock_jumps_to_the_earliest_timer(self) -> None:
        """Ready work runs at t=0; then the clock jumps to each timer in turn."""
        sched = Scheduler()
        log: Log = []
        sched.at(500, item(sched, log, "late"))
        sched.at(200, item(sched, log, "early"))
        sched.queue(item(sched, log, "ready"))
        sched.run()
        assert log == [("ready", 0), ("early", 200), ("late", 500)]
        assert sched.now == 500

    def test_work_queued_by_a_timer_runs_at_the_timer_time(self) -> None:
        sched = Scheduler()
        log: Log = []
        sched.at(300, item(sched, log, "t", then=lambda: sched.queue(item(sched, log, "w"))))
        sched.at(400, item(sched, log, "t2"))
        sched.run()
        assert log == [("t", 300), ("w", 300), ("t2", 400)]

    def test_past_due_time_means_now(self) -> None:
        sched = Scheduler()
        log: Log = []
        sched.at(100, item(sched, log, "first", then=lambda: sched.at(5, item(sched, log, "x"))))
        sched.run()
        assert log == [("first", 100), ("x", 100)]

    def test_run_until_stops_the_clock(self) -> None:
        """Timers after `until` stay pending; the clock stops at `until`."""
        sched = Scheduler()
        log: Log = []
        sched.at(100, item(sched, log, "a"))
        late = sched.at(300, item(sched, log, "b"))
        assert sched.run(until=200) == 1
        assert log == [("a", 100)]
        assert sched.now == 200
        assert sched.pending() == (late,)
        assert sched.run() == 1
        assert log == [("a", 100), ("b", 300)]

    def test_run_until_runs_a_timer_due_exactly_then(self) -> None:
        sched = Scheduler()
        log: Log = []
        sched.at(200, item(sched, log, "edge"))
        assert sched.run(until=200) == 1
        assert log == [("edge", 200)]

    def test_run_until_with_nothing_to_do_moves_the_clock(self) -> None:
        sched = Scheduler()
        assert sched.run(until=1234) == 0
        assert sched.now == 1234

    def test_periodic_timer_never_cancelled_raises(self) -> None:
        """A timer that re-arms itself forever shows up as a SchedulerError."""
        sched = Scheduler()
        log: Log = []

        def rearm() -> None:
            sched.at(sched.now + 10, item(sched, log, "tick", then=rearm))

        rearm()
        message = r"^run\(\) ran 25 items without becoming idle; is a periodic timer still set\?$"
        with pytest.raises(SchedulerError, match=message):
            sched.run(max_steps=25)
        assert len(log) == 25
        assert log[-1] == ("tick", 250)


class TestCancel:
    """cancel() withdraws waiting work."""

    def test_cancel_ready_item(self) -> None:
        sched = Scheduler()
        log: Log = []
        a = sched.queue(item(sched, log, "a"))
        sched.queue(item(sched, log, "b"))
        assert sched.cancel(a) is True
        assert sched.cancel(a) is False
        sched.run()
        assert labels(log) == ["b"]

    def test_cancel_timer_keeps_the_clock(self) -> None:
        """A cancelled timer neither runs nor moves the clock."""
        sched = Scheduler()
        log: Log = []
        t = sched.at(1000, item(sched, log, "t"))
        assert not sched.idle()
        assert sched.cancel(t) is True
        assert sched.idle()
        assert sched.pending() == ()
        assert sched.run() == 0
        assert log == []
        assert sched.now == 0

    def test_cancel_one_of_two_timers(self) -> None:
        sched = Scheduler()
        log: Log = []
        t1 = sched.at(100, item(sched, log, "t1"))
        sched.at(200, item(sched, log, "t2"))
        assert sched.cancel(t1) is True
        sched.run()
        assert log == [("t2", 200)]

    def test_cancel_after_it_ran_is_false(self) -> None:
        sched = Scheduler()
        log: Log = []
        a = sched.queue(item(sched, log, "a"))
        sched.run()
        assert sched.cancel(a) is False


# --- through Ndis ---------------------------------------------------------------------------


def pended_mcm_host(policy: ScriptedPolicy | RandomPolicy | None = None) -> Ndis:
    """The pended sample MCM and the client, adapter up, deferred work NOT yet run."""
    ndis = Ndis(policy=policy)
    ndis.load_driver(SampleMcm(ndis, completion="pended"), "samplemcm")
    ndis.load_driver(SampleClient(ndis), "sampleclient")
    ndis.add_adapter("samplemcm", "mcm0")
    return ndis


def miniport_host() -> tuple[Ndis, SampleCoMiniport]:
    ndis = Ndis()
    miniport = SampleCoMiniport(ndis)
    ndis.load_driver(miniport, "mini")
    return ndis, miniport


class TestThroughNdis:
    """Ndis.step / Ndis.run drive the same scheduler."""

    def test_step_runs_one_work_item(self) -> None:
        """The two pended opens are two work items; step runs them one at a time."""
        ndis = pended_mcm_host()
        routines = [r for r in ndis.trace if r.name == "NdisIoWorkItemRoutine"]
        assert routines == []
        first = ndis.step()
        assert first is not None
        assert first.kind is ItemKind.WORK_ITEM
        assert first.label == "work item NdisIoWorkItemHandle#1"
        calls = [r for r in ndis.trace if r.name == "NdisIoWorkItemRoutine"]
        assert [r.handle for r in calls if r.phase.value == "call"] == ["NdisIoWorkItemHandle#1"]
        assert ndis.step() is not None
        assert ndis.step() is None
        assert len(ndis.address_families) == 2

    def test_scripted_policy_reorders_the_work_items(self) -> None:
        """Choosing index 1 runs the second queued work item first."""
        policy = ScriptedPolicy([1])
        ndis = pended_mcm_host(policy)
        ndis.run()
        order = [
            r.handle
            for r in ndis.trace
            if r.name == "NdisIoWorkItemRoutine" and r.phase.value == "call"
        ]
        assert order == ["NdisIoWorkItemHandle#2", "NdisIoWorkItemHandle#1"]
        assert policy.taken == [(1, 2)]
        completes = [
            r.handle
            for r in ndis.trace
            if r.name == "ProtocolClOpenAfCompleteEx" and r.phase.value == "call"
        ]
        assert completes == ["NdisAfHandle#2", "NdisAfHandle#1"]

    def test_run_until_and_the_clock_with_a_timer(self) -> None:
        """run(until=) leaves a later timer set; run() fires it at its due time."""
        ndis, miniport = miniport_host()
        fired: list[int] = []
        chars = NDIS_TIMER_CHARACTERISTICS(TimerFunction=lambda *a: fired.append(ndis.now))
        assert miniport.driver_handle is not None
        status, timer = ndis.NdisAllocateTimerObject(miniport.driver_handle, chars)
        assert status == NDIS_STATUS_SUCCESS
        assert timer is not None
        ndis.NdisSetTimerObject(timer, -10 * TICKS_PER_MS)
        assert ndis.run(until=5 * TICKS_PER_MS) == 0
        assert ndis.now == 5 * TICKS_PER_MS
        assert fired == []
        assert ndis.run() == 1
        assert fired == [10 * TICKS_PER_MS]

    def test_timer_due_now_waits_for_ready_work(self) -> None:
        """A timer set to fire at once still runs after a work item queued later."""
        ndis, miniport = miniport_host()
        ndis.add_adapter("mini", "nic0")
        order: list[str] = []
        assert miniport.driver_handle is not None
        chars = NDIS_TIMER_CHARACTERISTICS(TimerFunction=lambda *a: order.append("timer"))
        _, timer = ndis.NdisAllocateTimerObject(miniport.driver_handle, chars)
        assert timer is not None
        ndis.NdisSetTimerObject(timer, 0)
        work = ndis.NdisAllocateIoWorkItem(ndis.adapter("nic0").handle)
        assert work is not None
        ndis.NdisQueueIoWorkItem(work, lambda ctx, h: order.append("work"))
        assert ndis.run() == 2
        assert order == ["work", "timer"]
        assert ndis.now == 0

    def test_run_from_driver_code_is_refused(self) -> None:
        ndis, _ = miniport_host()
        with (
            ndis.driver_context(ndis.driver("mini"), DISPATCH_LEVEL),
            pytest.raises(
                CondisInternalError, match=r"^run\(\) called from driver code; use NdisWaitEvent$"
            ),
        ):
            ndis.run()


class TestSeededDemo:
    """The demo under RandomPolicy: reproducible per seed, correct for every seed."""

    def test_same_seed_byte_identical_json(self) -> None:
        for seed in (0, 7):
            first = to_jsonl(af_lifecycle(policy=RandomPolicy(seed)).trace)
            second = to_jsonl(af_lifecycle(policy=RandomPolicy(seed)).trace)
            assert first == second

    def test_some_seeds_interleave_differently(self) -> None:
        base = to_jsonl(af_lifecycle(policy=RandomPolicy(0)).trace)
        traces = {to_jsonl(af_lifecycle(policy=RandomPolicy(s)).trace) for s in range(20)}
        assert base in traces
        assert len(traces) > 1

    @pytest.mark.parametrize("seed", range(20))
    def test_every_seed_completes_cleanly(self, seed: int) -> None:
        ndis = af_lifecycle(policy=RandomPolicy(seed))
        assert ndis.crashed is None
        assert ndis.verifier.violations == []
        assert ndis.operations == ()
        assert ndis.address_families == ()
        assert ndis.adapters == ()
        assert ndis.work_items == ()
        assert ndis.timers == ()
        assert ndis.scheduler.idle()
        names = [r.name for r in ndis.trace if r.phase.value == "call"]
        assert names.count("ProtocolClOpenAfCompleteEx") == 3
        assert names.count("ProtocolClCloseAfComplete") == 3
