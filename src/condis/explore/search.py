"""Exploring schedules: depth-first over every choice point, or at random; shrinking.

`explore` runs the role's conformance workload (verify/workloads.py, with the
teardown after the last stage) under `ChoicePolicy` schedules until a run is
not clean, the budget is spent, or (`dfs`) every schedule within the bound
has run.

`dfs` is stateless search over the tree of schedules: each run starts from a
fresh host and follows a prefix of decisions, FIFO after it; every choice
point past the prefix, and every other item it could have run there, is a
new prefix. Runs are deterministic (the same prefix gives the same run), so
the search enumerates every schedule exactly once. It runs schedules in
order of their deviations from FIFO, fewest first (deepest first among
equals): most bugs need one or two deviations (CHESS's observation, behind
its preemption bound and Coyote's delay bound), and a plain depth-first
order would spend its budget deep in the tree before trying an early one.
`--max-deviations K` stops at K. There is no
partial-order reduction yet: two orders of items that touch nothing in
common are both run. `random` runs seeded random picks at every choice point.

A failing run is *shrunk* (`shrink`): each deviation in turn is reset to
FIFO, and kept reset when the run still fails with the same headline (the
rule, DDI and driver); then earlier teardown stages are tried. The result is
1-minimal: no single remaining deviation can go back to FIFO without losing
the failure.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from condis.explore.choices import ChoicePolicy, Decision, Divergence
from condis.verify.coverage import Coverage, missing
from condis.verify.runner import WATCHDOG_MS, Variant, VerifyRun, run_one
from condis.verify.target import Factory
from condis.verify.workloads import ROLES, STAGES, Setup

__all__ = [
    "STRATEGIES",
    "Chunk",
    "Counterexample",
    "ExploreResult",
    "explore",
    "run_schedule",
    "search_chunk",
    "shrink",
]

STRATEGIES = ("dfs", "random", "pct")
#: PCT's depth (priority change points + 1) and the decisions it spreads them over
PCT_DEPTH, PCT_STEPS = 3, 100


@dataclass(frozen=True)
class Counterexample:
    """A minimal failing schedule: the setup, every decision of the run, and the run."""

    setup: Setup
    decisions: tuple[Decision, ...]
    run: VerifyRun
    #: the schedule as found, before shrinking (its deviations)
    found_deviations: int
    #: allocation points were choices (and failures among its decisions)
    faults: bool = False

    @property
    def deviations(self) -> list[tuple[int, Decision]]:
        """The decisions that left FIFO order, with their index."""
        return [(i, d) for i, d in enumerate(self.decisions) if d.chose]

    def reorderings(self) -> list[str]:
        """Each deviation in CoNDIS terms: what ran before what FIFO would have run first,
        or which allocation failed."""
        out = []
        for i, d in self.deviations:
            if d.options[0].startswith("allocation ") and d.label.endswith(" fails"):
                point = d.label.removeprefix("allocation ").removesuffix(" fails")
                out.append(f"decision {i}: NDIS failed the allocation in {point} (RESOURCES)")
            else:
                out.append(
                    f"decision {i}: ran [{d.label}] before [{d.options[0]}], which FIFO runs first"
                )
        return out


@dataclass
class ExploreResult:
    role: str
    strategy: str
    #: schedules run, in all
    schedules: int = 0
    #: (setup name, schedules run, whether every schedule within the bound was run)
    setups: list[tuple[str, int, bool]] = field(default_factory=list)
    #: distinct traces, as the sequence of decisions each run took
    distinct: int = 0
    counterexample: Counterexample | None = None
    #: what the drivers under test did over every schedule (verify/coverage.py)
    coverage: Coverage = field(default_factory=lambda: Coverage(runs=0))

    @property
    def not_reached(self) -> list[str]:
        """The role's milestones no schedule reached, with why: an exploration of a
        driver it never exercised is not clean (verify/coverage.py)."""
        return missing(self.role, self.coverage)

    @property
    def exhaustive(self) -> bool:
        """Every schedule within the bound ran, for every setup explored, and none failed."""
        return (
            self.counterexample is None
            and bool(self.setups)
            and all(done for _, _, done in self.setups)
        )


def run_schedule(
    factory: Factory,
    setup: Setup,
    prefix: Sequence[int] = (),
    *,
    rng: random.Random | None = None,
    watchdog_ms: int | None = WATCHDOG_MS,
    expect: Sequence[tuple[str, ...]] | None = None,
    fifo_after_divergence: bool = False,
    trace_limit: int | None = 64,
    faults: bool = False,
    pct: tuple[int, int] | None = None,
) -> tuple[VerifyRun, ChoicePolicy]:
    """One run of `setup` following `prefix` (then FIFO, or `rng`); raises Divergence
    when `expect` is given and the run's choice points differ from it. With `faults`,
    every allocation point is a choice too."""
    policy = ChoicePolicy(
        prefix, rng=rng, expect=expect, fifo_after_divergence=fifo_after_divergence, pct=pct
    )

    def armed(ndis: Any) -> Any:
        if faults:
            ndis.faults.chooser = policy.choose_fault
        return factory(ndis)

    run = run_one(
        armed,
        Variant(setup, None),
        watchdog_ms=watchdog_ms,
        trace_limit=trace_limit,
        keep_trace=True,
        policy=policy,
    )
    return run, policy


def explore(
    factory: Factory,
    role: str,
    *,
    strategy: str = "dfs",
    budget: int = 1000,
    max_deviations: int | None = None,
    peers: Sequence[str] = ("sync", "pended"),
    stop: str = "end",
    seed: int = 0,
    watchdog_ms: int | None = WATCHDOG_MS,
    faults: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ExploreResult:
    """Explore `role`'s workload on `factory`'s driver; the first failing schedule ends
    the search and is shrunk (module docstring). `budget` counts runs over all setups."""
    check_options(role, strategy, stop, budget)

    def locally(setup: Setup, share: int, first: int, report: Progress) -> Chunk:
        return search_chunk(
            factory,
            setup,
            [(0, ())],
            strategy=strategy,
            budget=share,
            max_deviations=max_deviations,
            faults=faults,
            watchdog_ms=watchdog_ms,
            seed=seed,
            first=first,
            progress=report,
        )

    return explore_setups(
        locally,
        factory,
        role,
        strategy=strategy,
        budget=budget,
        peers=peers,
        stop=stop,
        watchdog_ms=watchdog_ms,
        faults=faults,
        progress=progress,
    )


Progress = Callable[[int], None]
#: a shrinking step's result: the setup, the run's decisions, and the run
Found = tuple[Setup, tuple[Decision, ...], VerifyRun]


def explore_setups(
    run_setup: Callable[[Setup, int, int, Progress], Chunk],
    factory: Factory,
    role: str,
    *,
    strategy: str,
    budget: int,
    peers: Sequence[str],
    stop: str,
    watchdog_ms: int | None,
    faults: bool,
    progress: Progress | None,
) -> ExploreResult:
    """Run each setup's search with `run_setup` (in this process, or on a cluster: the
    setup's whole search as one `Chunk`), share the budget between them, and shrink the
    first failing schedule here."""
    result = ExploreResult(role, strategy)
    seen: set[tuple[int, ...]] = set()
    setups = [Setup(role, p, stop) for p in peers]  # type: ignore[arg-type]
    for n, setup in enumerate(setups):
        before = result.schedules
        left = budget - result.schedules
        # dfs may finish a setup and leave the rest to the next; random and pct never
        # finish, so each setup gets its share
        share = left if strategy == "dfs" else -(-left // (len(setups) - n))

        def report(n: int, before: int = before) -> None:
            if progress is not None:
                progress(before + n)

        chunk = run_setup(setup, share, before, report)
        runs, done = chunk.runs, strategy == "dfs" and not chunk.frontier
        result.schedules += runs
        seen |= chunk.seen
        result.coverage = result.coverage.merge(chunk.coverage)
        if chunk.failing is not None:
            decisions, run = chunk.failing
            result.setups.append((_name(setup), runs, False))
            result.distinct = len(seen)
            result.counterexample = shrink(
                factory, setup, decisions, run, watchdog_ms=watchdog_ms, faults=faults
            )
            return result
        result.setups.append((_name(setup), runs, done))
        if result.schedules >= budget:
            break
    result.distinct = len(seen)
    return result


Prefix = tuple[int, ...]


@dataclass
class Chunk:
    """One piece of a search: how many schedules ran, the first failing one (its
    decisions and run), what is left of the frontier, and the schedules seen."""

    runs: int = 0
    failing: tuple[tuple[Decision, ...], VerifyRun] | None = None
    #: (deviations, prefix) still to run, for dfs
    frontier: list[tuple[int, Prefix]] = field(default_factory=list)
    seen: set[Prefix] = field(default_factory=set)
    coverage: Coverage = field(default_factory=lambda: Coverage(runs=0))


def search_chunk(
    factory: Factory,
    setup: Setup,
    roots: Sequence[tuple[int, Prefix]],
    *,
    strategy: str = "dfs",
    budget: int,
    max_deviations: int | None = None,
    faults: bool = False,
    watchdog_ms: int | None = WATCHDOG_MS,
    seed: int = 0,
    first: int = 0,
    progress: Callable[[int], None] | None = None,
) -> Chunk:
    """Run up to `budget` schedules of `setup`: for dfs, the subtrees under `roots`,
    fewest deviations first (module docstring); for random, the seeded schedules
    numbered from `first`. Stops at the first failing schedule."""
    chunk = Chunk()
    # (deviations, order, prefix): fewest deviations first, newest first among equals
    frontier = [(d, -i, p) for i, (d, p) in enumerate(roots)]
    heapq.heapify(frontier)
    pushed = len(frontier)
    while chunk.runs < budget:
        if strategy == "dfs":
            if not frontier:
                break
            _, _, prefix = heapq.heappop(frontier)
            run, policy = run_schedule(
                factory, setup, prefix, watchdog_ms=watchdog_ms, faults=faults
            )
        else:
            prefix = ()
            rng = random.Random(seed * 1_000_003 + first + chunk.runs)
            pct = (PCT_DEPTH, PCT_STEPS) if strategy == "pct" else None
            run, policy = run_schedule(
                factory, setup, rng=rng, watchdog_ms=watchdog_ms, faults=faults, pct=pct
            )
        chunk.runs += 1
        chunk.seen.add(tuple(d.chose for d in policy.decisions))
        chunk.coverage = chunk.coverage.merge(run.coverage)
        if progress is not None:
            progress(chunk.runs)
        if not run.clean:
            chunk.failing = (tuple(policy.decisions), run)
            break
        if strategy == "dfs":
            for child in _children(policy.decisions, len(prefix), max_deviations):
                pushed += 1
                heapq.heappush(frontier, (sum(1 for c in child if c), -pushed, child))
    chunk.frontier = [(d, p) for d, _, p in sorted(frontier)]
    return chunk


def check_options(role: str, strategy: str, stop: str, budget: int) -> None:
    """ValueError naming what is wrong with an exploration's options."""
    if role not in ROLES:
        raise ValueError(f"explore: role must be one of {', '.join(ROLES)}, not {role!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"explore: strategy must be one of {', '.join(STRATEGIES)}")
    if stop not in STAGES:
        raise ValueError(f"explore: stop must be one of {', '.join(STAGES)}, not {stop!r}")
    if budget < 1:
        raise ValueError(f"explore: budget must be at least 1, not {budget}")


def _name(setup: Setup) -> str:
    return f"{setup.role} peers={setup.peers} stop={setup.stop}"


def _children(
    decisions: Sequence[Decision], start: int, max_deviations: int | None
) -> list[tuple[int, ...]]:
    """The prefixes that differ from this run first at a decision past its prefix."""
    taken = [d.chose for d in decisions]
    used = sum(1 for c in taken[:start] if c)
    if max_deviations is not None and used >= max_deviations:
        return []
    out = []
    for i in range(len(decisions) - 1, start - 1, -1):  # deepest last, so it runs first
        for alt in range(len(decisions[i].options) - 1, 0, -1):
            out.append((*taken[:i], alt))
    return out[::-1]


def shrink(
    factory: Factory,
    setup: Setup,
    decisions: Sequence[Decision],
    failing: VerifyRun,
    *,
    watchdog_ms: int | None = WATCHDOG_MS,
    faults: bool = False,
) -> Counterexample:
    """The smallest schedule found that fails as `failing` did (module docstring)."""
    signature = failing.signature

    def fails_alike(trial_setup: Setup, picks: list[int]) -> Found | None:
        last = max((j for j, c in enumerate(picks) if c), default=-1)
        try:
            run, policy = run_schedule(
                factory, trial_setup, picks[: last + 1], watchdog_ms=watchdog_ms, faults=faults
            )
        except Divergence:  # a reset left a later index out of range
            return None
        if run.clean or run.signature != signature:
            return None
        return trial_setup, tuple(policy.decisions), run

    best: Found = (setup, tuple(decisions), failing)
    changed = True
    while changed:
        changed = False
        current_setup, current, _ = best
        for i, d in enumerate(current):
            if not d.chose:
                continue
            picks = [c.chose for c in current]
            picks[i] = 0
            smaller = fails_alike(current_setup, picks)
            if smaller is not None:
                best, changed = smaller, True
                break
    current_setup, current, _ = best
    for stop in STAGES[: STAGES.index(current_setup.stop)]:
        earlier = fails_alike(
            Setup(current_setup.role, current_setup.peers, stop), [d.chose for d in current]
        )
        if earlier is not None:
            best = earlier
            break
    final_setup, final, run = best
    found = sum(1 for d in decisions if d.chose)
    return Counterexample(final_setup, final, run, found, faults)
