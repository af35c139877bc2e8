"""Running the conformance workload in every variant and collecting the reports.

A verification is a set of runs, one per variant: the role's workload
stopped after each stage (so teardown is tried from everywhere), with the
sample peers completing synchronously and pended, under the FIFO scheduler
and under seeded random interleavings. Each run gets a fresh host with the
watchdog on, optional low-resources simulation, and ends with a shutdown
and the unloading of every driver, last loaded first; its `Report` holds
the violations, the leaks and the injected failures.

Choices made here: the watchdog is 60 simulated seconds by default (the
samples complete in zero simulated time, so only a forgotten completion
reaches it). With it off (`watchdog_ms=None`, `--watchdog-ms 0`) NDIS waits
for a pended operation as long as there is work left to run, and what is
still pending at teardown is reported there (CoNdisPendingOnTeardown)
instead of as a timed-out completion (NdisWatchdog). In strict mode a run
ends at its first violation, as a machine does at a bug check, and the next
run starts on a fresh host; an exception from a driver's Python code ends
the run and is reported as a crash.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from condis.errors import BugCheck, CondisInternalError, SystemCrashed
from condis.ndis import Ndis
from condis.scheduler import Policy, RandomPolicy
from condis.trace import Trace
from condis.verifier import Mode
from condis.verifier.report import Report
from condis.verify.coverage import Coverage, CoverageTrace
from condis.verify.target import Factory, make_drivers
from condis.verify.workloads import ROLES, STAGES, Setup, run_workload

__all__ = ["TRACE_LIMIT", "WATCHDOG_MS", "VerifyRun", "plan", "run_one", "verify"]

WATCHDOG_MS = 60_000
#: trace records each run keeps: a violation's excerpt is its last 12, so a run keeps
#: a few excerpts' worth and no more (``trace_limit=None`` keeps the whole trace)
TRACE_LIMIT = 64


@dataclass(frozen=True, slots=True)
class Variant:
    setup: Setup
    #: None for the FIFO scheduler, else the RandomPolicy seed
    schedule: int | None

    @property
    def name(self) -> str:
        schedule = "fifo" if self.schedule is None else f"random:{self.schedule}"
        setup = self.setup
        lr = setup.low_resources
        faults = "" if lr is None else f" low-resources:{lr[0]}:{lr[1]}"
        return f"{setup.role} peers={setup.peers} stop={setup.stop} {schedule}{faults}"


@dataclass(frozen=True, slots=True)
class VerifyRun:
    variant: Variant
    report: Report
    #: a Python exception that escaped a driver (or condis), formatted
    error: str | None = None
    #: what the drivers under test did in the run (verify/coverage.py)
    coverage: Coverage = field(default_factory=Coverage)
    #: the exception was condis's own (CondisInternalError), not the driver's
    internal: bool = False
    #: the run's trace, kept when asked for (`keep_trace`) and the run was not clean
    trace: Trace | None = None

    @property
    def clean(self) -> bool:
        return self.report.clean and self.error is None

    @property
    def signature(self) -> tuple[object, ...]:
        """What makes two failing runs the same finding: the headline violation's rule,
        DDI and driver; else the exception; else the kinds of leak; else the broken
        invariants."""
        report = self.report
        if report.headline is not None:
            v = report.findings[report.headline].violation
            return ("violation", v.rule, v.ddi, v.driver)
        if self.error:
            return ("error", self.error.strip().splitlines()[-1])
        if report.leaks:
            return ("leaks", tuple(sorted({(k.kind, k.driver, k.detail) for k in report.leaks})))
        return ("other", tuple(report.broken_invariants), report.crashed)


def plan(
    role: str,
    *,
    schedules: int = 2,
    seed: int = 0,
    low_resources: float | None = None,
) -> list[Variant]:
    """Every variant of `role`'s workload: stages x peer completion x schedules."""
    if role not in ROLES:
        raise ValueError(f"verify: role must be one of {', '.join(ROLES)}, not {role!r}")
    if schedules < 0:
        raise ValueError(f"verify: schedules must be >= 0, not {schedules}")
    orders: list[int | None] = [None, *(seed + i for i in range(schedules))]
    variants = []
    for stop in STAGES:
        for peers in ("sync", "pended"):
            for n, order in enumerate(orders):
                faults = None if low_resources is None else (low_resources, seed + n)
                variants.append(Variant(Setup(role, peers, stop, faults), order))
    return variants


def _names(drivers: list[object]) -> list[str]:
    names: list[str] = []
    for driver in drivers:
        base = type(driver).__name__.lower()
        name, n = base, 2
        while name in names:
            name, n = f"{base}{n}", n + 1
        names.append(name)
    return names


def run_one(
    factory: Factory,
    variant: Variant,
    *,
    strict: bool = False,
    watchdog_ms: int | None = WATCHDOG_MS,
    trace_limit: int | None = TRACE_LIMIT,
    keep_trace: bool = False,
    policy: Policy | None = None,
) -> VerifyRun:
    """One run on a fresh host; `watchdog_ms` None runs it with the watchdog off,
    `trace_limit` None keeps its whole trace, `keep_trace` hands the trace of a run
    that is not clean back with it, and `policy` (the explorer's) picks among ready
    work in place of the variant's schedule."""
    if policy is None and variant.schedule is not None:
        policy = RandomPolicy(variant.schedule)
    mode = Mode.STRICT if strict else Mode.COLLECT
    trace = CoverageTrace(trace_limit)
    ndis = Ndis(policy=policy, mode=mode, watchdog_ms=watchdog_ms, trace=trace)
    error, internal = None, False
    names: list[str] = []
    try:
        drivers = make_drivers(factory, ndis)
        names = _names(drivers)
        trace.drivers.update(names)
        run_workload(ndis, drivers, names, variant.setup)
        ndis.shutdown()
        ndis.unload_all()
    except (BugCheck, SystemCrashed):
        pass  # recorded by the verifier; the report shows the crash
    except Exception as exc:
        error = "".join(traceback.format_exc(limit=-6))
        internal = isinstance(exc, CondisInternalError)
    report = Report.of(ndis, under_test=names)
    kept = trace if keep_trace and not (report.clean and error is None) else None
    return VerifyRun(variant, report, error, trace.coverage, internal, kept)


def verify(
    factory: Factory,
    variants: list[Variant],
    *,
    strict: bool = False,
    watchdog_ms: int | None = WATCHDOG_MS,
    trace_limit: int | None = TRACE_LIMIT,
    keep_trace: bool = False,
    progress: Callable[[Variant], None] | None = None,
) -> Iterator[VerifyRun]:
    """Run every variant; `progress` is told of each before it runs."""
    for variant in variants:
        if progress is not None:
            progress(variant)
        yield run_one(
            factory,
            variant,
            strict=strict,
            watchdog_ms=watchdog_ms,
            trace_limit=trace_limit,
            keep_trace=keep_trace,
        )
