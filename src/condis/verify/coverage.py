"""What a verify exercised of the driver under test, and whether that is enough.

A run that never reached the driver under test proves nothing about it, so
a verify counts, for the drivers under test only, every handler NDIS called
(with the status it returned) and every DDI they called (with its status or
result). It counts as the crossings are recorded (`CoverageTrace` wraps the
bounded trace a verify run keeps), so nothing reads a trace back.

Each role's workload is meant to reach a few milestones in the driver under
test (`MILESTONES`): for an MCM, that NDIS opened an AF on it
(ProtocolCmOpenAf), made a call through it (ProtocolCmMakeCall) and sent on
its VC (MiniportCoSendNetBufferLists). A verify in which some milestone was
never reached in any run is *not exercised*: `missing` says which, and why
as far as the counts show it (a DDI of the driver that never succeeded, a
handler that never ran or always failed).

Choices made here: a milestone is reached when its handler ran and returned
anything but a failure (SUCCESS, PENDING, or nothing for a VOID handler);
for the client role, opening an AF is its own DDI (NdisClOpenAddressFamilyEx
returning SUCCESS or PENDING), since NDIS calls no client handler for it
before the open completes. The milestones are a floor, not a measure of
quality: a driver can reach them all and still be wrong, which is what the
rules are for.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from condis.status import NDIS_STATUS, NDIS_STATUS_PENDING, NDIS_STATUS_SUCCESS
from condis.trace import Row, Trace
from condis.trace.records import ROW_HANDLER, ROW_RETURN, summary
from condis.verifier.rules import RULES

__all__ = ["MILESTONES", "Coverage", "CoverageTrace", "Milestone", "missing", "rule_summary"]

_GOOD = {str(NDIS_STATUS_SUCCESS), str(NDIS_STATUS_PENDING), "VOID"}


@dataclass
class Coverage:
    """What the drivers under test did in one run, or in a whole verify (`merge`)."""

    #: (handler, status it returned or "VOID") -> times NDIS called it in a driver under test
    handlers: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: (DDI, status or result it returned, or "VOID") -> times a driver under test called it
    ddis: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: how many runs this covers
    runs: int = 1

    def merge(self, other: Coverage) -> Coverage:
        return Coverage(
            self.handlers + other.handlers, self.ddis + other.ddis, self.runs + other.runs
        )

    def ran(self, handler: str, *, succeeded: bool = False) -> bool:
        """Whether NDIS called `handler` (and it returned a good status, if asked)."""
        return any(
            name == handler and (not succeeded or status in _GOOD) for name, status in self.handlers
        )

    def called(self, ddi: str, *, succeeded: bool = False) -> bool:
        """Whether a driver under test called `ddi` (and it returned a good status, if asked)."""
        return any(name == ddi and (not succeeded or status in _GOOD) for name, status in self.ddis)

    def never_succeeded(self) -> list[str]:
        """The DDIs the drivers under test called whose returns were all failures."""
        by_name: dict[str, Counter[str]] = {}
        for (name, status), n in self.ddis.items():
            by_name.setdefault(name, Counter())[status] += n
        out = []
        for name, statuses in by_name.items():
            if statuses and all(s.startswith("NDIS_STATUS_") and s not in _GOOD for s in statuses):
                text = ", ".join(f"{s} x{n}" for s, n in statuses.most_common())
                out.append(f"{name} returned {text}, never NDIS_STATUS_SUCCESS")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "handlers": _counts(self.handlers),
            "ddis": _counts(self.ddis),
        }


def _counts(counter: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (name, status), n in sorted(counter.items()):
        out.setdefault(name, {})[status] = n
    return out


class CoverageTrace(Trace):
    """A bounded trace that also counts the crossings of the drivers under test.

    `drivers` is filled once the factory has made them (their names are known
    only then); crossings of other drivers are kept but not counted.
    """

    def __init__(self, limit: int | None) -> None:
        super().__init__(limit=limit)
        self.drivers: set[str] = set()
        self.coverage = Coverage()

    def recorder(self) -> Callable[[Row], None]:
        keep = super().recorder()
        assert keep is not None
        drivers, handlers, ddis = self.drivers, self.coverage.handlers, self.coverage.ddis
        ret, handler_kind = ROW_RETURN, ROW_HANDLER

        def count(row: Row) -> None:
            keep(row)
            if row[1] == ret and row[4] in drivers:
                status, result = row[9], row[10]
                if status is not None:
                    text = str(NDIS_STATUS(status))
                else:
                    text = "VOID" if result is None else summary(result)
                (handlers if row[2] == handler_kind else ddis)[(row[3], text)] += 1

        return count


@dataclass(frozen=True)
class Milestone:
    """One thing a role's workload is meant to make the driver under test do."""

    stage: str
    #: the crossing that shows it: a handler of the driver, e.g. "ProtocolCmOpenAf"
    evidence: str
    #: why it may not have been reached, when the counts say nothing more
    hint: str
    #: the evidence is a DDI the driver calls, not a handler NDIS calls
    ddi: bool = False

    def reached(self, coverage: Coverage) -> bool:
        if self.ddi:
            return coverage.called(self.evidence, succeeded=True)
        return coverage.ran(self.evidence, succeeded=True)


MILESTONES: dict[str, tuple[Milestone, ...]] = {
    "mcm": (
        Milestone(
            "init",
            "MiniportInitializeEx",
            "NDIS never started an adapter of the driver",
        ),
        Milestone(
            "open",
            "ProtocolCmOpenAf",
            "no AF was offered (NdisMCmRegisterAddressFamilyEx) or every open failed",
        ),
        Milestone(
            "call",
            "ProtocolCmMakeCall",
            "the clients' calls never reached the driver",
        ),
        Milestone(
            "data",
            "MiniportCoSendNetBufferLists",
            "no call connected, so nothing was sent",
        ),
    ),
    "callmanager": (
        Milestone(
            "open",
            "ProtocolCmOpenAf",
            "no AF was offered (NdisCmRegisterAddressFamilyEx) or every open failed",
        ),
        Milestone(
            "call",
            "ProtocolCmMakeCall",
            "the clients' calls never reached the driver",
        ),
    ),
    "client": (
        Milestone(
            "open",
            "NdisClOpenAddressFamilyEx",
            "it never opened the AF NDIS announced (ProtocolCoAfRegisterNotify)",
            ddi=True,
        ),
        Milestone(
            "call",
            "ProtocolClIncomingCall",
            "the peer calls each SAP the driver registers, and none was registered "
            "(NdisClRegisterSap)",
        ),
        Milestone(
            "data",
            "ProtocolCoReceiveNetBufferLists",
            "no incoming call connected, so nothing was received",
        ),
    ),
    "miniport": (
        Milestone(
            "init",
            "MiniportInitializeEx",
            "NDIS never started an adapter of the driver",
        ),
        Milestone(
            "call",
            "MiniportCoActivateVc",
            "no call was made over its adapter",
        ),
        Milestone(
            "data",
            "MiniportCoSendNetBufferLists",
            "no call connected, so nothing was sent",
        ),
    ),
}


def missing(role: str, coverage: Coverage) -> list[str]:
    """Why `coverage` does not exercise a driver in `role`: one line per milestone never
    reached, each with the reason the counts give; empty when every one was reached."""
    failing = coverage.never_succeeded()
    out = []
    for milestone in MILESTONES[role]:
        if milestone.reached(coverage):
            continue
        why = "; ".join(failing) if failing else milestone.hint
        out.append(
            f"stage {milestone.stage!r} not reached: {milestone.evidence} never succeeded "
            f"in the driver under test in any run ({why})"
        )
    return out


def rule_summary(coverage: Coverage, violated: Iterable[str]) -> dict[str, str]:
    """Each rule's outcome, as SDV's summary gives it: "violated"; "passed" when it applied
    to something the drivers under test did (a DDI they called or a handler of theirs
    NDIS called) and was not broken; "not applicable" otherwise.

    A rule with no DDIs of its own (the handle and completion rules) applies to every
    DDI, so it applied when the drivers called any.
    """
    broken = set(violated)
    crossed = {name for name, _ in coverage.handlers} | {name for name, _ in coverage.ddis}
    called_any = bool(coverage.ddis)
    out = {}
    for rule_id, r in RULES.items():
        if rule_id in broken:
            out[rule_id] = "violated"
        elif (set(r.applies_to) & crossed) if r.applies_to else called_any:
            out[rule_id] = "passed"
        else:
            out[rule_id] = "not applicable"
    return out
