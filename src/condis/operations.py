"""Pendable operations: the NDIS side of the completion contract, run one way.

Every DDI whose handler may return NDIS_STATUS_PENDING starts an `Operation`
of one of the kinds ops.py declares (`OPERATIONS`). `Operations` is the one
place that knows how such an operation runs:

* `start` files it, under the completion spellings its completer may use;
* `run` calls the handler, feeds what it returned to the contract (ops.py's
  table) and says whether NDIS acts on that return now (the handler finished,
  or completed inside itself) or waits for the completion DDI;
* `complete` checks a completion DDI against the contract (a completion
  with no pending handler, a second completion, the wrong spelling for an
  MCM, a Status of NDIS_STATUS_PENDING) and says whether NDIS delivers it
  now.

The entity engines only say what each step means for their object.

The watchdog. NDIS starts a watchdog when it calls out into a driver and
bug checks (0x7C, NDIS_BUGCHECK_WATCHDOG) when the call takes too long.
Windows documents the watchdog for pause, PnP events, status indications,
unbind, halt and OIDs, without a timeout the driver can rely on. condis
extends it, when asked (`Ndis(watchdog_ms=...)`), to every operation a
handler pends: if the simulated clock passes the operation's pend time plus
the watchdog time before its completion DDI is called, the rule
NdisWatchdog fires, naming the driver whose handler pended. It is off by
default, because a test that pends an operation and completes it by hand
after `ndis.run()` is not a hang; `condis verify` turns it on. Time moves
only as the scheduler runs, so an operation nothing will ever complete shows
up at the end of `ndis.run()`, when the clock jumps to the watchdog.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

from condis.constants import DISPATCH_LEVEL, KIRQL
from condis.crossing import Returns
from condis.handles import NDIS_HANDLE
from condis.kernel import Kernel
from condis.ops import (
    OP_TRANSITIONS,
    OUTSTANDING,
    Operation,
    OpInput,
    OpState,
    OpTransition,
    Pendable,
)
from condis.records import DriverBlock
from condis.scheduler import TICKS_PER_MS, Item, ItemKind
from condis.status import NDIS_STATUS, NDIS_STATUS_PENDING
from condis.verifier.leaks import Leak

__all__ = ["Operations"]

#: the row a handler that finishes takes: no rule, delivers now
_FINISHED: OpTransition = OP_TRANSITIONS[(OpState.IN_HANDLER, OpInput.RETURNED)]
assert _FINISHED.rule is None


class Operations:
    """The operations outstanding on one host, and how each one runs."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel
        self._born = kernel.op_born
        self._ops: dict[int, Operation] = {}
        self._ids = itertools.count(1)
        self._watchdogs: dict[int, Item] = {}

    @property
    def outstanding(self) -> tuple[Operation, ...]:
        """Every operation still outstanding, oldest first."""
        return tuple(self._ops.values())

    # --- filing and running ------------------------------------------------------------------

    def start(self, kind: Pendable, handle: NDIS_HANDLE | None, *, mcm: bool = False) -> Operation:
        """File a new operation of `kind` on `handle`; `mcm` when its completer is an MCM."""
        return self.new(kind.kind, kind.handler, kind.completers(mcm), handle)

    def new(
        self, kind: str, handler_name: str, completers: tuple[str, ...], handle: NDIS_HANDLE | None
    ) -> Operation:
        now = self.k.scheduler.now
        op = Operation(next(self._ids), kind, handler_name, completers, handle, now)
        self._ops[op.id] = op
        self._born[op.id] = None
        return op

    def run(
        self,
        op: Operation,
        driver: DriverBlock,
        fn: Callable[..., Any] | None,
        *args: Any,
        handle: NDIS_HANDLE | None,
        returns: Returns = Returns.STATUS,
        check: Callable[[NDIS_STATUS], NDIS_STATUS] | None = None,
        irql: KIRQL | None = None,
    ) -> tuple[NDIS_STATUS, object, bool]:
        """Call `op`'s handler in `driver` and feed its return to the contract.

        `check` may judge the status the handler returned (a status its page
        does not allow) and give the one NDIS goes on with. Returns (status,
        out-parameter, delivers): `delivers` is True when NDIS acts on the
        status now rather than on the completion DDI.
        """
        status, out = self.k.invoke(
            driver, op.handler, fn, *args, handle=handle, op=op.id, returns=returns, irql=irql
        )
        assert status is not None
        if check is not None:
            status = check(status)
        if status != NDIS_STATUS_PENDING and op.state is OpState.IN_HANDLER:
            # the common row, taken without the general step: the handler finished
            op.state = _FINISHED.target
            self.retire(op)
            return status, out, _FINISHED.delivers
        return status, out, self.returned(op, status, op.handler, driver, handle)

    def returned(
        self,
        op: Operation,
        status: NDIS_STATUS,
        where: str,
        driver: DriverBlock,
        handle: NDIS_HANDLE | None,
    ) -> bool:
        """Handler `where` returned `status` for `op` (PENDING or a final status): step the
        operation; True if NDIS acts on `status` now rather than on the completion DDI."""
        event = OpInput.RETURNED_PENDING if status == NDIS_STATUS_PENDING else OpInput.RETURNED
        return self.step(op, event, where, driver, handle).delivers

    def step(
        self,
        op: Operation,
        event: OpInput,
        where: str,
        driver: DriverBlock,
        handle: NDIS_HANDLE | None,
    ) -> OpTransition:
        """Feed a handler's return to the completion contract (ops.py)."""
        row = op.step(event)
        self.retire(op)
        if event is OpInput.RETURNED_PENDING and row.rule is None and op.outstanding:
            self._arm_watchdog(op, driver, handle)
        if row.rule is not None:
            self.k.violation(
                row.rule,
                ddi=where,
                driver=driver,
                handle=handle,
                detail=f"{where} {event.value} for {op.kind} operation #{op.id}, "
                f"which its driver already completed",
            )
        return row

    # --- completion ----------------------------------------------------------------------------

    def complete(
        self,
        op: Operation | None,
        ddi_name: str,
        driver: DriverBlock,
        handle: NDIS_HANDLE,
        status: NDIS_STATUS | None = None,
    ) -> bool:
        """A completion DDI for `op`: check it, step it; True if NDIS delivers it now.

        `status` is the DDI's Status argument: NDIS_STATUS_PENDING there is
        CoNdisCompleteStatus (a completion gives the final status), reported
        first and refused in strict mode; collecting, the completion goes on
        with it as a failure.
        """
        k = self.k
        if status == NDIS_STATUS_PENDING:
            k.violation(
                "CoNdisCompleteStatus",
                refused=True,
                ddi=ddi_name,
                driver=driver,
                handle=handle,
                detail="Status is NDIS_STATUS_PENDING; a completion gives the final status",
            )
        if op is None:
            k.violation(
                "CoNdisCompleteNotPending",
                refused=True,
                ddi=ddi_name,
                driver=driver,
                handle=handle,
                detail=f"{ddi_name} called for {handle.label}, which has no such operation",
            )
            return False
        if ddi_name not in op.completers:
            k.violation(
                "CoNdisMcmSpelling",
                refused=True,
                ddi=ddi_name,
                driver=driver,
                handle=handle,
                detail=f"{op.kind} operation #{op.id} is completed with "
                f"{' or '.join(op.completers)}",
            )
        before = op.state
        row = op.step(OpInput.COMPLETED)
        self.retire(op)
        if row.rule is not None:
            what = {
                "CoNdisCompleteNotPending": "whose handler did not return NDIS_STATUS_PENDING",
                "CoNdisDoubleComplete": "which was already completed",
            }.get(row.rule, f"in state {before.value}")
            k.violation(
                row.rule,
                refused=True,
                ddi=ddi_name,
                driver=driver,
                handle=handle,
                detail=f"{ddi_name} for {op.kind} operation #{op.id} {what}",
            )
            return False
        return row.delivers

    # --- bookkeeping -----------------------------------------------------------------------------

    def retire(self, op: Operation) -> None:
        """Forget `op` once it is done, and stop its watchdog."""
        if op.state in OUTSTANDING:
            return
        self._ops.pop(op.id, None)
        self._born.pop(op.id, None)
        if self._watchdogs:
            item = self._watchdogs.pop(op.id, None)
            if item is not None:
                self.k.scheduler.cancel(item)

    def forget(self, op: Operation) -> None:
        """Stop tracking `op` although it is outstanding, and stop its watchdog.

        Only for an operation whose driver broke the contract in a way NDIS has
        already reported, and that no longer belongs to anything NDIS holds
        (qos.py: a QoS change still pending when its call's close completed).
        """
        self._ops.pop(op.id, None)
        self.k.op_born.pop(op.id, None)
        item = self._watchdogs.pop(op.id, None)
        if item is not None:
            self.k.scheduler.cancel(item)

    def _arm_watchdog(self, op: Operation, driver: DriverBlock, handle: NDIS_HANDLE | None) -> None:
        k = self.k
        if k.watchdog_ms is None:
            return
        pended_at = k.scheduler.now
        timeout = k.watchdog_ms * TICKS_PER_MS
        watchdog_ms = k.watchdog_ms

        def expire() -> None:
            self._watchdogs.pop(op.id, None)
            if not op.outstanding:
                return
            k.violation(
                "NdisWatchdog",
                ddi=op.handler,
                driver=driver,
                handle=handle,
                detail=f"{op.kind} operation #{op.id} pended by {op.handler} at t={pended_at} "
                f"was not completed within {watchdog_ms} ms (with "
                f"{' or '.join(op.completers)})",
            )

        item = Item(f"NDIS watchdog for {op.kind} #{op.id}", ItemKind.NDIS, DISPATCH_LEVEL, expire)
        self._watchdogs[op.id] = k.scheduler.at(pended_at + timeout, item)

    def leaks(self) -> Iterator[Leak]:
        for op in self._ops.values():
            label = op.kind if op.handle is None else f"{op.kind} on {op.handle.label}"
            yield Leak(
                "operation",
                f"#{op.id} {label}",
                None,
                f"{op.handler} left it {op.state.value}; it ends with {' or '.join(op.completers)}",
                op=op.id,
            ).at(self.k.op_born.get(op.id))

    def invariants(self) -> Iterator[str]:
        for op in self._ops.values():
            if not op.outstanding:
                yield f"{op.kind} operation #{op.id} is done but still tracked"
            elif op.handle is not None and not self.k.handles.is_live(op.handle):
                yield (
                    f"{op.kind} operation #{op.id} is outstanding on {op.handle.label}, "
                    "which no longer stands for a live object"
                )
        for op_id, item in self._watchdogs.items():
            if op_id not in self._ops:
                yield f"the watchdog of operation #{op_id} outlives its operation"
            elif item.cancelled:
                yield f"the watchdog of operation #{op_id} is cancelled but still tracked"
