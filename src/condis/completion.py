"""Pendable operations: the NDIS side of the completion contract.

Every DDI whose handler may return NDIS_STATUS_PENDING starts an `Operation`
(ops.py holds its table); the handler's return and the completion DDI step
it, and a violation of the contract (a completion with no pending handler,
a second completion, the wrong DDI spelling for an MCM, a Status of
NDIS_STATUS_PENDING) is reported here, in one place, for every entity.

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
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from condis.constants import DISPATCH_LEVEL
from condis.handles import NDIS_HANDLE
from condis.ops import Operation, OpInput, OpTransition
from condis.runtime import NdisCore
from condis.scheduler import TICKS_PER_MS, Item, ItemKind
from condis.status import NDIS_STATUS, NDIS_STATUS_PENDING
from condis.verifier.leaks import Leak

if TYPE_CHECKING:
    from condis.drivers import DriverBlock

__all__ = ["CompletionMixin"]


class CompletionMixin(NdisCore):
    """Outstanding operations and the checks on their completion DDIs."""

    def __init__(self, *, watchdog_ms: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if watchdog_ms is not None and (
            isinstance(watchdog_ms, bool) or not isinstance(watchdog_ms, int) or watchdog_ms <= 0
        ):
            raise ValueError(
                f"Ndis: watchdog_ms must be a positive int or None, not {watchdog_ms!r}"
            )
        self.watchdog_ms = watchdog_ms
        self._ops: dict[int, Operation] = {}
        self._op_ids = itertools.count(1)
        self._watchdogs: dict[int, Item] = {}

    def _leaks(self) -> Iterator[Leak]:
        yield from super()._leaks()
        for op in self._ops.values():
            label = op.kind if op.handle is None else f"{op.kind} on {op.handle.label}"
            yield Leak(
                "operation",
                f"#{op.id} {label}",
                None,
                f"{op.handler} left it {op.state.value}; it ends with {' or '.join(op.completers)}",
                op=op.id,
            )

    def _invariants(self) -> Iterator[str]:
        yield from super()._invariants()
        for op in self._ops.values():
            if not op.outstanding:
                yield f"{op.kind} operation #{op.id} is done but still tracked"
            elif op.handle is not None and not self.handles.is_live(op.handle):
                yield (
                    f"{op.kind} operation #{op.id} is outstanding on {op.handle.label}, "
                    "which no longer stands for a live object"
                )
        for op_id, item in self._watchdogs.items():
            if op_id not in self._ops:
                yield f"the watchdog of operation #{op_id} outlives its operation"
            elif item.cancelled:
                yield f"the watchdog of operation #{op_id} is cancelled but still tracked"

    def _arm_watchdog(self, op: Operation, driver: DriverBlock, handle: NDIS_HANDLE | None) -> None:
        if self.watchdog_ms is None:
            return
        pended_at = self.scheduler.now
        timeout = self.watchdog_ms * TICKS_PER_MS

        def expire() -> None:
            self._watchdogs.pop(op.id, None)
            if not op.outstanding:
                return
            self._violation(
                "NdisWatchdog",
                ddi=op.handler,
                driver=driver,
                handle=handle,
                detail=f"{op.kind} operation #{op.id} pended by {op.handler} at t={pended_at} "
                f"was not completed within {self.watchdog_ms} ms (with "
                f"{' or '.join(op.completers)})",
            )

        item = Item(f"NDIS watchdog for {op.kind} #{op.id}", ItemKind.NDIS, DISPATCH_LEVEL, expire)
        self._watchdogs[op.id] = self.scheduler.at(pended_at + timeout, item)

    def _retire_op(self, op: Operation) -> None:
        """Forget `op` once it is done, and stop its watchdog."""
        if op.outstanding:
            return
        self._ops.pop(op.id, None)
        item = self._watchdogs.pop(op.id, None)
        if item is not None:
            self.scheduler.cancel(item)

    def _forget_op(self, op: Operation) -> None:
        """Stop tracking `op` although it is outstanding, and stop its watchdog.

        Only for an operation whose driver broke the contract in a way NDIS has
        already reported, and that no longer belongs to anything NDIS holds
        (qos.py: a QoS change still pending when its call's close completed).
        """
        self._ops.pop(op.id, None)
        item = self._watchdogs.pop(op.id, None)
        if item is not None:
            self.scheduler.cancel(item)

    def _new_op(
        self, kind: str, handler_name: str, completers: tuple[str, ...], handle: NDIS_HANDLE | None
    ) -> Operation:
        op = Operation(
            id=next(self._op_ids),
            kind=kind,
            handler=handler_name,
            completers=completers,
            handle=handle,
            started=self.scheduler.now,
        )
        self._ops[op.id] = op
        return op

    def _step_op(
        self,
        op: Operation,
        event: OpInput,
        where: str,
        driver: DriverBlock,
        handle: NDIS_HANDLE | None,
    ) -> OpTransition:
        """Feed a handler's return to the completion contract (ops.py)."""
        row = op.step(event)
        self._retire_op(op)
        if event is OpInput.RETURNED_PENDING and row.rule is None and op.outstanding:
            self._arm_watchdog(op, driver, handle)
        if row.rule is not None:
            self._violation(
                row.rule,
                ddi=where,
                driver=driver,
                handle=handle,
                detail=f"{where} {event.value} for {op.kind} operation #{op.id}, "
                f"which its driver already completed",
            )
        return row

    def _returned(
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
        return self._step_op(op, event, where, driver, handle).delivers

    def _complete_op(
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
        if status == NDIS_STATUS_PENDING:
            self._violation(
                "CoNdisCompleteStatus",
                refused=True,
                ddi=ddi_name,
                driver=driver,
                handle=handle,
                detail="Status is NDIS_STATUS_PENDING; a completion gives the final status",
            )
        if op is None:
            self._violation(
                "CoNdisCompleteNotPending",
                refused=True,
                ddi=ddi_name,
                driver=driver,
                handle=handle,
                detail=f"{ddi_name} called for {handle.label}, which has no such operation",
            )
            return False
        if ddi_name not in op.completers:
            self._violation(
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
        self._retire_op(op)
        if row.rule is not None:
            what = {
                "CoNdisCompleteNotPending": "whose handler did not return NDIS_STATUS_PENDING",
                "CoNdisDoubleComplete": "which was already completed",
            }.get(row.rule, f"in state {before.value}")
            self._violation(
                row.rule,
                refused=True,
                ddi=ddi_name,
                driver=driver,
                handle=handle,
                detail=f"{ddi_name} for {op.kind} operation #{op.id} {what}",
            )
            return False
        return row.delivers

    @staticmethod
    def _status_arg(ddi_name: str, param: str, value: object) -> NDIS_STATUS:
        """A Status argument of a completion DDI, as an NDIS_STATUS (its value is checked
        by `_complete_op`, once NDIS knows whose completion it is)."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(
                f"{ddi_name}: {param} must be an NDIS_STATUS, not {type(value).__name__}"
            )
        return NDIS_STATUS(value)

    @property
    def operations(self) -> tuple[Operation, ...]:
        """Every operation still outstanding, oldest first."""
        return tuple(self._ops.values())
