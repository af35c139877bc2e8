"""Exceptions that condis raises, and who is to blame for each.

condis keeps h11's split between "you broke the rule" and "we broke": a
driver that breaks an NDIS rule gets a `BugCheck`, the way Windows stops a
machine whose driver Driver Verifier caught; a driver or test that passes the
wrong Python type or a missing value gets an ordinary `TypeError` or
`ValueError` whose message names the DDI and the parameter; and a fault in
condis itself is a `CondisInternalError`, never blamed on a driver.

A `BugCheck` carries what a kernel debugger would show first: the bug check
code and its four parameters, the rule (the Static Driver Verifier or Driver
Verifier rule name where one exists), the DDI or handler, the driver, the
handle, and the last trace records before the fault.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from condis.trace import TraceRecord

__all__ = [
    "BugCheck",
    "CondisError",
    "CondisInternalError",
    "SchedulerError",
    "SystemCrashed",
]

_BUGCHECK_NAMES = {
    0x4F: "NDIS_INTERNAL_ERROR",
    0x7C: "BUGCODE_NDIS_DRIVER",
    0xC4: "DRIVER_VERIFIER_DETECTED_VIOLATION",
    0x15E: "BUGCODE_NDIS_DRIVER_LIVE_DUMP",
}


class CondisError(Exception):
    """Base class of the errors condis defines."""


class BugCheck(CondisError):
    """A driver broke an NDIS rule; on Windows the machine would stop here.

    Attributes:
        code: the bug check code (0xC4 DRIVER_VERIFIER_DETECTED_VIOLATION or
            0x7C BUGCODE_NDIS_DRIVER).
        parameters: the four bug check parameters; Parameter 1 is the rule
            code where Windows documents one, else None.
        rule: the rule id (see `condis.verifier.rules`).
        ddi: the DDI or handler in which the fault was detected.
        driver: the name of the driver at fault, if known.
        handle: a printable form of the handle involved, if any.
        detail: one sentence saying what happened.
        excerpt: the last trace records before the fault.
    """

    def __init__(
        self,
        *,
        code: int,
        parameters: tuple[int | None, int | None, int | None, int | None],
        rule: str,
        ddi: str,
        driver: str | None,
        handle: str | None,
        detail: str,
        excerpt: Sequence[TraceRecord] = (),
    ) -> None:
        self.code = code
        self.parameters = parameters
        self.rule = rule
        self.ddi = ddi
        self.driver = driver
        self.handle = handle
        self.detail = detail
        self.excerpt = tuple(excerpt)
        super().__init__(self._message())

    @property
    def code_name(self) -> str:
        """The bug check's symbolic name, e.g. DRIVER_VERIFIER_DETECTED_VIOLATION."""
        return _BUGCHECK_NAMES.get(self.code, f"0x{self.code:X}")

    def _message(self) -> str:
        who = f" by {self.driver}" if self.driver else ""
        handle = f" [{self.handle}]" if self.handle else ""
        return (
            f"bug check 0x{self.code:X} {self.code_name}: rule {self.rule} in {self.ddi}"
            f"{who}{handle}: {self.detail}"
        )


class SystemCrashed(CondisError):
    """The simulated host already stopped on a bug check or a driver exception.

    Once an exception has unwound through a driver handler that NDIS called,
    the NDIS operation that made the call was cut short, so the host is down,
    as a Windows machine is after a bug check. Every later DDI or host
    operation on that `Ndis` raises this error; reading its state and trace
    still works.
    """


class SchedulerError(CondisError):
    """The deterministic scheduler cannot do what was asked (a run that never
    becomes idle, a wait that nothing can end)."""


class CondisInternalError(CondisError):
    """condis itself is wrong: an invariant of its own tables does not hold."""
