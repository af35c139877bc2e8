"""The completion contract for the mixins, forwarded to operations.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import condis.args as args
from condis.handles import NDIS_HANDLE
from condis.ops import Operation, OpInput, OpTransition
from condis.records import DriverBlock
from condis.runtime import NdisCore
from condis.status import NDIS_STATUS
from condis.verifier.leaks import Leak

__all__ = ["CompletionMixin"]


class CompletionMixin(NdisCore):
    """Outstanding operations and the checks on their completion DDIs."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._ops_engine = self.core.ops

    def _leaks(self) -> Iterator[Leak]:
        yield from super()._leaks()
        yield from self._ops_engine.leaks()

    def _invariants(self) -> Iterator[str]:
        yield from super()._invariants()
        yield from self._ops_engine.invariants()

    def _retire_op(self, op: Operation) -> None:
        self._ops_engine.retire(op)

    def _forget_op(self, op: Operation) -> None:
        self._ops_engine.forget(op)

    def _new_op(
        self, kind: str, handler_name: str, completers: tuple[str, ...], handle: NDIS_HANDLE | None
    ) -> Operation:
        return self._ops_engine.new(kind, handler_name, completers, handle)

    def _step_op(
        self,
        op: Operation,
        event: OpInput,
        where: str,
        driver: DriverBlock,
        handle: NDIS_HANDLE | None,
    ) -> OpTransition:
        return self._ops_engine.step(op, event, where, driver, handle)

    def _returned(
        self,
        op: Operation,
        status: NDIS_STATUS,
        where: str,
        driver: DriverBlock,
        handle: NDIS_HANDLE | None,
    ) -> bool:
        return self._ops_engine.returned(op, status, where, driver, handle)

    def _complete_op(
        self,
        op: Operation | None,
        ddi_name: str,
        driver: DriverBlock,
        handle: NDIS_HANDLE,
        status: NDIS_STATUS | None = None,
    ) -> bool:
        return self._ops_engine.complete(op, ddi_name, driver, handle, status)

    @staticmethod
    def _status_arg(ddi_name: str, param: str, value: object) -> NDIS_STATUS:
        return args.status(ddi_name, param, value)

    @property
    def operations(self) -> tuple[Operation, ...]:
        """Every operation still outstanding, oldest first."""
        return self._ops_engine.outstanding
