"""A verification report: violations, leaks and the faults injected before them.

Built from one host after a run (`Report.of(ndis)`), it is what
`condis verify` prints and what the `condis_ndis` pytest fixture fails a
test with. Plain data: `to_json()` for machines, `render()` for people.

Root cause first. One bug usually breaks more than one rule: a driver that
forgets NdisClDeregisterSap breaks CoNdisAfCloseWithChildren, and then the
sample MCM, waiting at halt for an AF close that can never come, breaks
NdisWaitDeadlock. The report's `headline` is the first violation by a
driver under test (`Report.of(ndis, under_test=...)`; with none named, the
first violation of the run); every later violation is marked a
*consequence*, and `render()` gives it one line under the headline
(`verbose=True` renders each in full). Violations by other drivers before
the headline are listed as "before it": they are not the driver's doing,
and may be why it went wrong.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from condis.constants import BUGCODE_NDIS_DRIVER, DRIVER_VERIFIER_DETECTED_VIOLATION
from condis.trace import to_mermaid
from condis.verifier.leaks import Leak
from condis.verifier.rules import rule
from condis.verifier.verifier import Violation

if TYPE_CHECKING:
    from condis.ndis import Ndis

__all__ = ["Finding", "Report"]

_BUGCHECK_NAMES = {
    DRIVER_VERIFIER_DETECTED_VIOLATION: "DRIVER_VERIFIER_DETECTED_VIOLATION",
    BUGCODE_NDIS_DRIVER: "BUGCODE_NDIS_DRIVER",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One violation, with its rule's statement and the fault it followed."""

    violation: Violation
    statement: str
    bugcheck: int
    #: the last injected allocation failure before the violation: (point, seq)
    after_fault: tuple[str, int] | None
    #: it came after the report's headline (module docstring)
    consequence: bool = False

    @property
    def parameters(self) -> tuple[int | None, str, None, None]:
        """The bug check's four parameters as condis can give them: Parameter 1 where the
        documentation defines a code for the rule (else None), Parameter 2 the violated
        rule condition (Driver Verifier passes a pointer to its text), Parameters 3
        and 4 the rule's state, which condis does not model."""
        return rule(self.violation.rule).parameter1, self.statement, None, None

    def crash_block(self) -> list[str]:
        """What a debugger's `!analyze -v` would show first: the bug check and its
        arguments, the driver's line and stack, every live handle."""
        v = self.violation
        name = _BUGCHECK_NAMES.get(self.bugcheck, "")
        p1 = self.parameters[0]
        lines = [
            f"  bug check 0x{self.bugcheck:X} {name}".rstrip(),
            "    Arg1: " + ("none documented for this rule" if p1 is None else f"0x{p1:08X}"),
            f"    Arg2: the violated rule condition: {self.statement}",
            "    Arg3, Arg4: the rule's state (not modelled)",
        ]
        if v.stack:
            lines.append(f"  at: {v.where}")
            lines.append("  driver stack, innermost last:")
            lines.extend(f"    {frame}" for frame in v.stack)
        if v.live:
            lines.append(f"  live handles ({len(v.live)}):")
            lines.extend(f"    {entry}" for entry in v.live)
        return lines

    def brief(self) -> str:
        """One line: rule, where, who."""
        v = self.violation
        who = f" by {v.driver}" if v.driver else ""
        return f"{v.rule} at #{v.seq} in {v.ddi}{who}: {v.detail}"

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
            "consequence": self.consequence,
            "parameters": [
                None if p is None else (f"0x{p:08X}" if isinstance(p, int) else p)
                for p in self.parameters
            ],
            "where": v.where,
            "stack": list(v.stack),
            "live_handles": list(v.live),
            "excerpt": [r.to_json() for r in v.excerpt],
        }

    def render(self, *, diagram: bool = True, crash: bool = False) -> str:
        """The violation in full; `crash` adds the `crash_block`."""
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
        if crash:
            lines.extend(self.crash_block())
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

    #: the index in `findings` of the root cause (module docstring), or None when clean
    headline: int | None = None

    @classmethod
    def of(cls, ndis: Ndis, *, under_test: Iterable[str] = ()) -> Report:
        """The report for `ndis` as it stands (run teardown first for leaks to mean leaks);
        `under_test` names the drivers whose first violation is the headline."""
        injected = list(ndis.faults.injected)
        violations = ndis.verifier.violations
        names = set(under_test)
        ours = [i for i, v in enumerate(violations) if v.driver in names]
        headline = ours[0] if ours else (0 if violations else None)
        findings = []
        for i, v in enumerate(violations):
            before = [f for f in injected if f[1] <= v.seq]
            r = rule(v.rule)
            after = headline is not None and i > headline
            findings.append(
                Finding(v, r.statement, r.bugcheck, before[-1] if before else None, after)
            )
        crashed = ndis.crashed
        return cls(
            findings=findings,
            leaks=ndis.leaks() if crashed is None else [],
            broken_invariants=ndis.check_invariants() if crashed is None else [],
            crashed=None if crashed is None else str(crashed),
            injected=injected,
            headline=headline,
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
            "headline": self.headline,
            "violations": [f.to_json() for f in self.findings],
            "leaks": [leak.to_json() for leak in self.leaks],
            "broken_invariants": self.broken_invariants,
            "crashed": self.crashed,
            "injected_failures": [{"point": p, "seq": s} for p, s in self.injected],
        }

    def render(self, *, diagram: bool = True, verbose: bool = False) -> str:
        """For people: the headline in full, what followed from it one line each
        (`verbose` renders every violation in full), then leaks."""
        if self.clean:
            return "no violations, no leaks"
        parts = []
        if self.crashed:
            parts.append(f"the host crashed: {self.crashed}")
        if verbose or self.headline is None:
            parts.extend(f.render(diagram=diagram) for f in self.findings)
        else:
            head = self.headline
            earlier = self.findings[:head]
            if earlier:
                parts.append(
                    "before it, by the other drivers:\n"
                    + "\n".join(f"  {f.brief()}" for f in earlier)
                )
            parts.append(self.findings[head].render(diagram=diagram, crash=True))
            later = self.findings[head + 1 :]
            if later:
                parts.append(
                    f"then {len(later)} more after it, most often its consequences:\n"
                    + "\n".join(f"  {f.brief()}" for f in later)
                )
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
