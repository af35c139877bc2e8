"""How the bench measures: CPU time per unit, bytes per object, runs per second.

Every figure is process CPU time (`time.process_time`), the minimum over
repeats, and every comparison is between figures taken in the same process
and interleaved (each repeat runs every configuration once before the next
repeat starts), so machine load moves them together and the ratios hold.
Memory is what `tracemalloc` sees allocated and still alive, after a
collection.
"""

from __future__ import annotations

import gc
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.scenarios import Config, Op, Sample, Scenario
from condis.samples import SampleCallManager, SampleClient, SampleCoMiniport, SampleMcm
from condis.samples.mcm_state import called_party
from condis.verify.runner import plan, verify

__all__ = [
    "ROLE_TARGETS",
    "ScaleCase",
    "retained_per_cycle",
    "scale_cases",
    "startup_seconds",
    "time_op",
    "time_scenario",
    "verify_rate",
]


def time_op(op: Op, ops: int) -> float:
    """CPU seconds for `ops` calls of `op`, after a collection."""
    gc.collect()
    start = time.process_time()
    for _ in range(ops):
        op()
    return time.process_time() - start


def time_scenario(scenario: Scenario, config: Config) -> float:
    """Seconds per unit of `scenario` on a fresh `config` host (one warm-up op)."""
    host = config.host()
    op = scenario.setup(host)
    op()
    return time_op(op, scenario.ops) / (scenario.ops * scenario.unit)


# --- scale ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaleCase:
    """`op` repeated on a host that holds `live` VCs (idle) or calls (connected)."""

    what: str  # "VCs" or "calls"
    live: int
    op_name: str
    ops: int


def scale_cases(vcs: list[int], calls: list[int]) -> list[ScaleCase]:
    cases = []
    for n in vcs:
        cases += [ScaleCase("VCs", n, "VC create+delete", 500), ScaleCase("VCs", n, "send", 500)]
    for n in calls:
        cases += [
            ScaleCase("calls", n, "call setup+teardown", 100),
            ScaleCase("calls", n, "send", 500),
        ]
    return cases


def populate(config: Config, what: str, live: int) -> tuple[Sample, Any]:
    """A sync-MCM host with `live` idle VCs (carol's) or connected calls (carol to dave),
    and one connected call from alice to bob."""
    s = Sample.build(config.host(), "sync", callee=True, crowd=True)
    carol = s.carol
    assert carol is not None and s.dave_sap is not None
    af = carol.afs("open")[0]
    for _ in range(live):
        if what == "VCs":
            carol.create_vc(af)
        else:
            vc = carol.make_call(af, called_party(s.dave_sap))
            s.host.run()
            assert vc is not None and vc.call == "connected"
    return s, s.call()


def scale_op(s: Sample, vc: Any, op_name: str) -> Op:
    alice, run = s.alice, s.host.run
    af = alice.afs("open")[0]
    packet = b"x" * 64

    if op_name == "VC create+delete":

        def op() -> None:
            alice.delete_vc(alice.create_vc(af))  # type: ignore[arg-type]
            run()

    elif op_name == "call setup+teardown":

        def op() -> None:
            s.hang_up(s.call())

    else:

        def op() -> None:
            alice.send(vc, packet)
            run()

    return op


def bytes_per_live(config: Config, what: str, live: int) -> float:
    """Bytes held per live idle VC or connected call (both ends of a call), the samples'
    own records included (the floor shows what those take)."""
    s = Sample.build(config.host(), "sync", callee=True)
    af = s.alice.afs("open")[0]
    s.call()  # the first of a kind allocates more than the rest
    s.alice.create_vc(af)
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(live):
            if what == "VCs":
                s.alice.create_vc(af)
            else:
                s.call()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return held / live


def retained_per_cycle(scenario: Scenario, config: Config, cycles: int) -> float:
    """Bytes still held per op of `scenario` after `cycles` ops that each undo themselves."""
    host = config.host()
    op = scenario.setup(host)
    for _ in range(100):  # the first ops fill caches (interned names, free lists)
        op()
    gc.collect()
    tracemalloc.start()
    try:
        for _ in range(cycles):
            op()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return held / cycles


# --- verify -----------------------------------------------------------------------------------

ROLE_TARGETS: dict[str, Callable[[Any], Any]] = {
    "client": SampleClient,
    "mcm": SampleMcm,
    "callmanager": SampleCallManager,
    "miniport": SampleCoMiniport,
}


def verify_rate(role: str, schedules: int) -> tuple[int, float]:
    """(runs, CPU seconds) for `condis verify` of the sample `role` driver, in process."""
    variants = plan(role, schedules=schedules)
    gc.collect()
    start = time.process_time()
    runs = list(verify(ROLE_TARGETS[role], variants))
    elapsed = time.process_time() - start
    dirty = [r.variant.name for r in runs if not r.clean]
    if dirty:
        raise AssertionError(f"verify {role}: the sample is not clean in {dirty[:3]}")
    return len(runs), elapsed


def explore_rate(schedules: int) -> tuple[float, float]:
    """(schedules per CPU second, the explorer's cost over plain runs of as many
    schedules) for dfs over the mcm workload of the sample MCM completing from work
    items, whose schedules outnumber any budget."""
    from condis.explore import explore
    from condis.explore.search import run_schedule
    from condis.verify.workloads import Setup

    def pended(ndis: Any) -> Any:
        return SampleMcm(ndis, completion="pended")

    gc.collect()
    start = time.process_time()
    result = explore(pended, "mcm", budget=schedules, peers=("sync",))
    explored = time.process_time() - start
    setup = Setup("mcm", "sync", "end")
    gc.collect()
    start = time.process_time()
    for _ in range(result.schedules):
        run_schedule(pended, setup)
    plain = time.process_time() - start
    return result.schedules / explored, explored / plain


def dask_speedup(schedules: int) -> tuple[float, float] | None:
    """Wall seconds for dfs over the pended MCM's workload on a Dask LocalCluster of one
    worker and of two (cluster start-up included), or None without the [dask] extra.
    The work runs in the worker processes, so this is wall time, not CPU time."""
    try:
        import dask.distributed  # noqa: F401

        from condis.explore.distributed import explore_on_dask
    except ImportError:
        return None
    target = f"{Path(__file__).resolve().parent.parent / 'tests/targets/pended_mcm.py'}:factory"
    out = []
    for workers in (1, 2):
        start = time.perf_counter()
        explore_on_dask(target, "mcm", workers=workers, budget=schedules, peers=("sync",))
        out.append(time.perf_counter() - start)
    return out[0], out[1]


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def startup_seconds() -> float:
    """CPU seconds a fresh interpreter spends importing the `condis` command line."""
    before = _child_cpu()
    subprocess.run([sys.executable, "-c", "import condis.cli"], check=True)
    return _child_cpu() - before


def interleaved(repeats: int, jobs: list[Callable[[], float]]) -> Iterator[list[float]]:
    """Each repeat runs every job once, in order; yields each repeat's figures."""
    for _ in range(repeats):
        yield [job() for job in jobs]
