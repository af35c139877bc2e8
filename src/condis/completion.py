"""Pendable operations: the NDIS side of the completion contract.

Every DDI whose handler may return NDIS_STATUS_PENDING starts an `Operation`
(ops.py holds its table); the handler's return and the completion DDI step
it, and a violation of the contract (a completion with no pending handler,
a second completion, the wrong DDI spelling for an MCM, a Status of
NDIS_STATUS_PENDING) is reported here, in one place, for every entity.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from condis.handles import NDIS_HANDLE
from condis.ops import Operation, OpInput, OpTransition
from condis.runtime import NdisCore
from condis.status import NDIS_STATUS, NDIS_STATUS_PENDING

if TYPE_CHECKING:
    from condis.drivers import DriverBlock

__all__ = ["CompletionMixin"]


class CompletionMixin(NdisCore):
    """Outstanding operations and the checks on their completion DDIs."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ops: dict[int, Operation] = {}
        self._op_ids = itertools.count(1)

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
        if not op.outstanding:
            self._ops.pop(op.id, None)
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

    def _complete_op(
        self, op: Operation | None, ddi_name: str, driver: DriverBlock, handle: NDIS_HANDLE
    ) -> bool:
        """A completion DDI for `op`: check it, step it; True if NDIS delivers it now."""
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
        if not op.outstanding:
            self._ops.pop(op.id, None)
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

    def _status_arg(self, ddi_name: str, param: str, value: object) -> NDIS_STATUS:
        """Check a Status argument of a completion DDI (never NDIS_STATUS_PENDING)."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(
                f"{ddi_name}: {param} must be an NDIS_STATUS, not {type(value).__name__}"
            )
        status = NDIS_STATUS(value)
        if status == NDIS_STATUS_PENDING:
            self._violation(
                "CoNdisCompleteStatus",
                refused=True,
                ddi=ddi_name,
                driver=self.current_driver,
                detail=f"{param} is NDIS_STATUS_PENDING; a completion gives the final status",
            )
        return status

    @property
    def operations(self) -> tuple[Operation, ...]:
        """Every operation still outstanding, oldest first."""
        return tuple(self._ops.values())
