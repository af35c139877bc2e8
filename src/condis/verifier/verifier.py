"""The verifier: where a broken rule becomes a bug check or a report.

Every check in the runtime ends in `Verifier.violation`. In strict mode (the
default, and what Driver Verifier does) the first violation raises
`BugCheck`. In collect mode the violation is recorded and the DDI goes on
where the runtime's state allows it, returning the failure the caller would
see; a run can then report every violation at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from condis.errors import BugCheck
from condis.trace import TraceRecord
from condis.verifier.rules import rule

__all__ = ["Mode", "Verifier", "Violation"]

EXCERPT_LENGTH = 12


class Mode(Enum):
    STRICT = "strict"
    COLLECT = "collect"


@dataclass(frozen=True, slots=True, kw_only=True)
class Violation:
    rule: str
    ddi: str
    driver: str | None
    handle: str | None
    detail: str
    seq: int
    excerpt: tuple[TraceRecord, ...]
    #: the driver's own Python frames at the violation, innermost last ("file:line in fn")
    stack: tuple[str, ...] = ()
    #: every live handle at the violation: label, what it is, its state, where it was born
    live: tuple[str, ...] = ()

    @property
    def where(self) -> str | None:
        """The driver's source line that made the call, if the driver's code was running."""
        return self.stack[-1] if self.stack else None

    def to_bugcheck(self) -> BugCheck:
        r = rule(self.rule)
        return BugCheck(
            code=r.bugcheck,
            parameters=(r.parameter1, None, None, None),
            rule=self.rule,
            ddi=self.ddi,
            driver=self.driver,
            handle=self.handle,
            detail=self.detail,
            excerpt=self.excerpt,
        )


@dataclass(slots=True)
class Verifier:
    mode: Mode = Mode.STRICT
    violations: list[Violation] = field(default_factory=list)

    def violation(
        self,
        rule_id: str,
        *,
        ddi: str,
        driver: str | None,
        handle: str | None,
        detail: str,
        seq: int,
        excerpt: Sequence[TraceRecord],
        stack: Sequence[str] = (),
        live: Sequence[str] = (),
    ) -> None:
        """Report a violation: raise in strict mode, record in collect mode."""
        rule(rule_id)  # an unknown rule id is condis's own bug: fail loudly
        v = Violation(
            rule=rule_id,
            ddi=ddi,
            driver=driver,
            handle=handle,
            detail=detail,
            seq=seq,
            excerpt=tuple(excerpt[-EXCERPT_LENGTH:]),
            stack=tuple(stack),
            live=tuple(live),
        )
        self.violations.append(v)
        if self.mode is Mode.STRICT:
            raise v.to_bugcheck()
