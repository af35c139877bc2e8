"""A verification report: violations, leaks and the faults injected before them.

Built from one host after a run (`Report.of(ndis)`), it is what
`condis verify` prints and what the `condis_ndis` pytest fixture fails a
test with. Plain data: `to_json()` for machines, `render()` for people.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from condis.trace import to_mermaid
from condis.verifier.leaks import Leak
from condis.verifier.rules import rule
from condis.verifier.verifier import Violation

if TYPE_CHECKING:
    from condis.ndis import Ndis

__all__ = ["Finding", "Report"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One violation, with its rule's statement and the fault it followed."""

    violation: Violation
    statement: str
    bugcheck: int
    #: the last injected allocation failure before the violation: (point, seq)
    after_fault: tuple[str, int] | None

    def to_json(self) -> dict[str, Any]:
        v = self.violation
        return {
            "rule": v.rule,
            "statement": self.statement,
            "bugcheck": f"0x{self.bugcheck:X}",
            "ddi": v.ddi,
            "driver": v.driver,
            "handle": v.handle,
            "detail": v.detail,
            "seq": v.seq,
            "after_injected_failure": None
            if self.after_fault is None
            else {"point": self.after_fault[0], "seq": self.after_fault[1]},
            "excerpt": [r.to_json() for r in v.excerpt],
        }

    def render(self, *, diagram: bool = True) -> str:
        v = self.violation
        who = f" by {v.driver}" if v.driver else ""
        handle = f" [{v.handle}]" if v.handle else ""
        lines = [
            f"{v.rule} (bug check 0x{self.bugcheck:X}) at #{v.seq} in {v.ddi}{who}{handle}",
            f"  rule: {self.statement}",
            f"  what: {v.detail}",
        ]
        if self.after_fault is not None:
            point, seq = self.after_fault
            lines.append(f"  after an injected allocation failure at #{seq} ({point})")
        if v.excerpt:
            lines.append("  trace before it:")
            lines.extend(f"    {r.brief()}" for r in v.excerpt)
            if diagram:
                lines.append("  diagram:")
                mermaid = to_mermaid(v.excerpt, title=f"{v.rule} in {v.ddi}")
                lines.extend(f"    {line}" for line in mermaid.splitlines())
        return "\n".join(lines)


@dataclass(slots=True)
class Report:
    findings: list[Finding] = field(default_factory=list)
    leaks: list[Leak] = field(default_factory=list)
    broken_invariants: list[str] = field(default_factory=list)
    crashed: str | None = None
    injected: list[tuple[str, int]] = field(default_factory=list)

    @classmethod
    def of(cls, ndis: Ndis) -> Report:
        """The report for `ndis` as it stands (run teardown first for leaks to mean leaks)."""
        injected = list(ndis.faults.injected)
        findings = []
        for v in ndis.verifier.violations:
            before = [f for f in injected if f[1] <= v.seq]
            r = rule(v.rule)
            findings.append(Finding(v, r.statement, r.bugcheck, before[-1] if before else None))
        crashed = ndis.crashed
        return cls(
            findings=findings,
            leaks=ndis.leaks() if crashed is None else [],
            broken_invariants=ndis.check_invariants() if crashed is None else [],
            crashed=None if crashed is None else str(crashed),
            injected=injected,
        )

    @property
    def clean(self) -> bool:
        return not (self.findings or self.leaks or self.broken_invariants or self.crashed)

    def totals(self) -> dict[str, int]:
        """Violations per rule id, most frequent first."""
        return dict(Counter(f.violation.rule for f in self.findings).most_common())

    def to_json(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "totals": self.totals(),
            "violations": [f.to_json() for f in self.findings],
            "leaks": [leak.to_json() for leak in self.leaks],
            "broken_invariants": self.broken_invariants,
            "crashed": self.crashed,
            "injected_failures": [{"point": p, "seq": s} for p, s in self.injected],
        }

    def render(self, *, diagram: bool = True) -> str:
        if self.clean:
            return "no violations, no leaks"
        parts = []
        if self.crashed:
            parts.append(f"the host crashed: {self.crashed}")
        parts.extend(f.render(diagram=diagram) for f in self.findings)
        if self.leaks:
            parts.append(
                "still allocated after teardown:\n"
                + "\n".join(f"  {leak.describe()}" for leak in self.leaks)
            )
        if self.broken_invariants:
            parts.append(
                "condis's own tables disagree (a condis bug):\n"
                + "\n".join(f"  {line}" for line in self.broken_invariants)
            )
        if self.findings:
            parts.append("totals: " + ", ".join(f"{k} x{n}" for k, n in self.totals().items()))
        return "\n\n".join(parts)
