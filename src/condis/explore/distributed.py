"""Exploring on a Dask cluster: the same search, its pieces run by worker processes.

Install with ``pip install "condis[dask]"``. `explore_on_dask` keeps the
search's frontier (the schedule prefixes still to run) on the client and
hands out coarse tasks: for dfs, a few prefixes of the fewest deviations
each, their subtrees run by `search_chunk` in a worker up to a per-task
budget (about a second of work), what is left coming back to the frontier;
for random, ranges of seeds. The first failing schedule cancels the rest
and is shrunk on the client. Every schedule of the tree is run once,
wherever, so an exhaustive dfs gives the same counts and verdict on a
cluster as in one process; which failing schedule is found first (and so
the counterexample) may differ when several fail, as tasks finish in any
order.

A worker finds the driver from the target's spec (``path/to/file.py:factory``
or ``module:factory``), as `condis verify` does; the target must be readable
from every worker.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from typing import Any

from condis.explore.search import (
    Chunk,
    ExploreResult,
    Prefix,
    Progress,
    check_options,
    explore_setups,
    search_chunk,
)
from condis.verify.runner import WATCHDOG_MS
from condis.verify.target import load_target
from condis.verify.workloads import Setup

__all__ = ["explore_on_dask"]

#: schedules per task: a second or so of a worker's time
TASK_BUDGET = 300
#: prefixes per dfs task
TASK_ROOTS = 4

_factories: dict[str, Any] = {}


def _chunk(
    target: str, setup: Setup, roots: Sequence[tuple[int, Prefix]], options: dict[str, Any]
) -> Chunk:
    """What a worker runs: one piece of the search (module docstring)."""
    factory = _factories.get(target)
    if factory is None:
        factory = _factories[target] = load_target(target)
    return search_chunk(factory, setup, roots, **options)


def _client(workers: int | None, scheduler: str | None) -> Any:
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - exercised without the extra installed
        raise RuntimeError(
            'explore: --workers and --scheduler need Dask: pip install "condis[dask]"'
        ) from exc
    if scheduler is not None:
        return Client(scheduler)
    cluster = LocalCluster(n_workers=workers or 1, threads_per_worker=1, processes=True)
    return Client(cluster)


def explore_on_dask(
    target: str,
    role: str,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
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
    """`explore`, its schedules run on a Dask cluster: a LocalCluster of `workers`
    processes, or the one at `scheduler` (module docstring)."""
    check_options(role, strategy, stop, budget)
    factory = load_target(target)
    client = _client(workers, scheduler)
    try:
        slots = max(1, sum(client.nthreads().values()))
        options = {
            "strategy": strategy,
            "max_deviations": max_deviations,
            "faults": faults,
            "watchdog_ms": watchdog_ms,
            "seed": seed,
        }

        def on_cluster(setup: Setup, share: int, first: int, report: Progress) -> Chunk:
            return _run_setup(
                client,
                target,
                setup,
                slots,
                strategy=strategy,
                budget=share,
                options=options,
                progress=report,
            )

        return explore_setups(
            on_cluster,
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
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None and scheduler is None:
            cluster.close()


def _run_setup(
    client: Any,
    target: str,
    setup: Setup,
    slots: int,
    *,
    strategy: str,
    budget: int,
    options: dict[str, Any],
    progress: Callable[[int], None] | None,
) -> Chunk:
    """Run one setup's search on the cluster, its tasks' chunks merged into one (the
    frontier left is empty when every schedule within the bound ran)."""
    from dask.distributed import as_completed

    frontier: list[tuple[int, int, Prefix]] = [(0, 0, ())]
    order = 1
    merged = Chunk()
    handed = 0  # schedules given out, less what tasks gave back (random: the next seed)
    shares: dict[Any, int] = {}
    pending = as_completed()

    def hand_out() -> None:
        nonlocal order, handed
        while pending.count() < 2 * slots and handed < budget:
            share = min(TASK_BUDGET, budget - handed)
            if strategy == "dfs":
                if not frontier:
                    return
                roots = [heapq.heappop(frontier) for _ in range(min(TASK_ROOTS, len(frontier)))]
                task_roots = [(d, p) for d, _, p in roots]
                future = client.submit(
                    _chunk, target, setup, task_roots, {**options, "budget": share}, pure=False
                )
            else:
                future = client.submit(
                    _chunk,
                    target,
                    setup,
                    [],
                    {**options, "budget": share, "first": handed},
                    pure=False,
                )
            handed += share
            shares[future] = share
            pending.add(future)

    hand_out()
    for future in pending:
        chunk: Chunk = future.result()
        merged.runs += chunk.runs
        if strategy == "dfs":  # a subtree that ran out gives its unused budget back
            handed -= shares.pop(future) - chunk.runs
        merged.seen |= chunk.seen
        merged.coverage = merged.coverage.merge(chunk.coverage)
        if progress is not None:
            progress(merged.runs)
        if chunk.failing is not None:
            for other in shares:
                if other is not future:
                    other.cancel()
            merged.failing = chunk.failing
            return merged
        for d, p in chunk.frontier:
            heapq.heappush(frontier, (d, -order, p))
            order += 1
        hand_out()
    merged.frontier = [(d, p) for d, _, p in frontier]
    return merged
