"""Spin locks: the Static Driver Verifier lock rules, and the IRQL a lock leaves behind.

SpinLock, SpinlockRelease, SpinLockDprRelease, SpinLockBalanced and SpinLockDpr
are checked on every acquire, release and free; a handler, work item or timer
that returns holding a lock breaks SpinLock. Strict, a faulty call is refused
and the host is left as it was; collecting, a release that does not match its
acquire goes ahead as on Windows (spinlocks.py).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from condis import (
    DISPATCH_LEVEL,
    KIRQL,
    NDIS_STATUS_SUCCESS,
    PASSIVE_LEVEL,
    BugCheck,
    MiniportDriver,
    Mode,
    Ndis,
)
from util import C4, expect_bugcheck, facts, mcm_host, records


@pytest.fixture
def host() -> Ndis:
    ndis, _, _ = mcm_host(afs=(), client=False)
    return ndis


#: (IRQL of the frame, what is done to the lock first, the faulty call, rule)
LOCK_CASES = [
    (PASSIVE_LEVEL, "NdisAcquireSpinLock", "NdisAcquireSpinLock", "SpinLock"),
    (DISPATCH_LEVEL, "NdisDprAcquireSpinLock", "NdisDprAcquireSpinLock", "SpinLock"),
    (DISPATCH_LEVEL, None, "NdisReleaseSpinLock", "SpinlockRelease"),
    (DISPATCH_LEVEL, None, "NdisDprReleaseSpinLock", "SpinlockRelease"),
    (PASSIVE_LEVEL, "NdisAcquireSpinLock", "NdisDprReleaseSpinLock", "SpinLockDprRelease"),
    (DISPATCH_LEVEL, "NdisDprAcquireSpinLock", "NdisReleaseSpinLock", "SpinLockDprRelease"),
    (PASSIVE_LEVEL, "NdisAcquireSpinLock", "NdisFreeSpinLock", "SpinLockBalanced"),
]


class TestSpinLockRules:
    """SpinLock, SpinlockRelease, SpinLockDprRelease and SpinLockBalanced."""

    @pytest.mark.parametrize(("irql", "first", "bad", "rule"), LOCK_CASES)
    def test_lock_misuse(
        self, host: Ndis, irql: KIRQL, first: str | None, bad: str, rule: str
    ) -> None:
        with host.driver_context(host.driver("samplemcm"), irql):
            lock = host.NdisAllocateSpinLock()
            if first is not None:
                getattr(host, first)(lock)
            level = host.current_irql
            run = partial(getattr(host, bad), lock)
            bc = expect_bugcheck(host, run, rule, bad, "samplemcm", None)
            assert lock.label in bc.detail
            if rule == "SpinLockDprRelease":
                assert first in bc.detail  # names the acquire that does not match
            assert host.current_irql == level  # the IRQL did not move either
        assert [lk.held for lk in host.spin_locks] == [first is not None]


class TestMismatchedReleaseCollecting:
    """SpinLockDprRelease, collecting: the lock is released as on Windows, and the
    code goes on at the IRQL the mismatched pair leaves."""

    def test_dpr_release_of_a_lock_taken_at_passive_level_stays_at_dispatch(
        self, host: Ndis
    ) -> None:
        host.verifier.mode = Mode.COLLECT
        with host.driver_context(host.driver("samplemcm"), PASSIVE_LEVEL):
            lock = host.NdisAllocateSpinLock()
            host.NdisAcquireSpinLock(lock)
            host.NdisDprReleaseSpinLock(lock)
            assert host.current_irql == DISPATCH_LEVEL  # not lowered: the Dpr release
        assert [v.rule for v in host.verifier.violations] == ["SpinLockDprRelease"]
        assert [lk.held for lk in host.spin_locks] == [False]
        assert host.check_invariants() == []

    @pytest.mark.parametrize("saved", [None, PASSIVE_LEVEL, DISPATCH_LEVEL])
    def test_release_of_a_dpr_acquire_restores_what_the_lock_last_saved(
        self, host: Ndis, saved: KIRQL | None
    ) -> None:
        host.verifier.mode = Mode.COLLECT
        block = host.driver("samplemcm")
        with host.driver_context(block, PASSIVE_LEVEL):
            lock = host.NdisAllocateSpinLock()
        if saved is not None:  # an earlier NdisAcquireSpinLock saved this IRQL in the lock
            with host.driver_context(block, saved):
                host.NdisAcquireSpinLock(lock)
                host.NdisReleaseSpinLock(lock)
        with host.driver_context(block, DISPATCH_LEVEL):
            host.NdisDprAcquireSpinLock(lock)
            host.NdisReleaseSpinLock(lock)
            assert host.current_irql == (PASSIVE_LEVEL if saved is None else saved)
        (violation,) = host.verifier.violations
        assert (violation.rule, violation.ddi) == ("SpinLockDprRelease", "NdisReleaseSpinLock")
        assert "NdisDprAcquireSpinLock" in violation.detail
        assert [lk.held for lk in host.spin_locks] == [False]


class LockLeakingMcm(MiniportDriver):
    """A miniport whose MiniportInitializeEx returns holding a spin lock."""

    def MiniportInitializeEx(self, NdisMiniportHandle: Any, *args: object) -> int:
        self.ndis.NdisAcquireSpinLock(self.ndis.NdisAllocateSpinLock())
        return NDIS_STATUS_SUCCESS

    def MiniportHaltEx(self, *args: object) -> None:
        return None


class TestLockHeldOnReturn:
    """A handler or work item that returns to NDIS holding a lock breaks SpinLock."""

    def test_handler_returns_holding_a_lock(self) -> None:
        ndis = Ndis()
        ndis.load_driver(LockLeakingMcm(ndis), "leaky")
        with pytest.raises(BugCheck) as info:
            ndis.add_adapter("leaky", "nic0")
        bc = info.value
        handle = ndis.adapter("nic0").handle.label
        assert facts(bc) == (C4, "SpinLock", "MiniportInitializeEx", "leaky", handle)
        assert ndis.crashed is bc

    def test_work_item_returns_holding_a_lock(self, host: Ndis) -> None:
        item = host.NdisAllocateIoWorkItem(host.adapter("mcm0").handle)
        assert item is not None

        def routine(ctx: object, handle: Any) -> None:
            host.NdisFreeIoWorkItem(handle)
            host.NdisAcquireSpinLock(host.NdisAllocateSpinLock())

        host.NdisQueueIoWorkItem(item, routine)
        with pytest.raises(BugCheck) as info:
            host.run()
        bc = info.value
        assert (bc.rule, bc.ddi, bc.driver, bc.handle) == (
            "SpinLock",
            "NdisIoWorkItemRoutine",
            "samplemcm",
            item.label,
        )
        assert host.crashed is bc


class TestSpinLockIrql:
    """NdisAcquireSpinLock raises the IRQL to DISPATCH_LEVEL; release restores it."""

    @pytest.mark.parametrize("start", [PASSIVE_LEVEL, DISPATCH_LEVEL])
    def test_raise_and_restore(self, host: Ndis, start: KIRQL) -> None:
        with host.driver_context(host.driver("samplemcm"), start):
            lock = host.NdisAllocateSpinLock()
            assert host.current_irql == start
            host.NdisAcquireSpinLock(lock)
            assert host.current_irql == DISPATCH_LEVEL
            assert [lk.held for lk in host.spin_locks] == [True]
            host.NdisReleaseSpinLock(lock)
            assert host.current_irql == start
        assert host.current_irql == PASSIVE_LEVEL
        assert records(host, "NdisReleaseSpinLock", "call")[0].irql == DISPATCH_LEVEL
        assert records(host, "NdisReleaseSpinLock", "return")[0].irql == start

    def test_dpr_pair_keeps_dispatch_level(self, host: Ndis) -> None:
        with host.driver_context(host.driver("samplemcm"), DISPATCH_LEVEL):
            lock = host.NdisAllocateSpinLock()
            host.NdisDprAcquireSpinLock(lock)
            assert host.current_irql == DISPATCH_LEVEL
            host.NdisDprReleaseSpinLock(lock)
            assert host.current_irql == DISPATCH_LEVEL
            assert [lk.held for lk in host.spin_locks] == [False]


class TestSpinLockArguments:
    """Bad arguments are Python errors naming the DDI, not bug checks."""

    @pytest.mark.parametrize(
        "ddi",
        [
            "NdisAcquireSpinLock",
            "NdisReleaseSpinLock",
            "NdisDprAcquireSpinLock",
            "NdisDprReleaseSpinLock",
            "NdisFreeSpinLock",
        ],
    )
    def test_not_a_lock(self, host: Ndis, ddi: str) -> None:
        before = host.snapshot()
        with (
            host.driver_context(host.driver("samplemcm"), DISPATCH_LEVEL),
            pytest.raises(
                TypeError,
                match=rf"^{ddi}: SpinLock must be an NDIS_SPIN_LOCK from NdisAllocateSpinLock, "
                r"not int$",
            ),
        ):
            getattr(host, ddi)(42)
        assert host.snapshot() == before
        assert host.verifier.violations == []

    def test_freed_lock(self, host: Ndis) -> None:
        with host.driver_context(host.driver("samplemcm")):
            lock = host.NdisAllocateSpinLock()
            host.NdisFreeSpinLock(lock)
            with pytest.raises(
                ValueError,
                match=rf"^NdisAcquireSpinLock: {lock.label} was freed with NdisFreeSpinLock$",
            ):
                host.NdisAcquireSpinLock(lock)
        assert host.spin_locks == ()

    def test_outside_driver_code(self, host: Ndis) -> None:
        with pytest.raises(
            ValueError,
            match=r"^NdisAllocateSpinLock: must be called from driver code \(a handler, a work "
            r"item, a timer, or Ndis\.driver_context\)$",
        ):
            host.NdisAllocateSpinLock()
