"""``python -m bench``: the ratio table, printed with rich and written as JSON.

Four parts, each selectable with ``--part``: throughput (every scenario on
the floor and on every condis configuration, interleaved), scale (per-op
cost with many VCs or calls live, against the cost at the smallest size),
memory (bytes per live VC and call, bytes retained per closed cycle) and
verify (runs per second per role, and the command line's start-up).
``--quick`` shrinks every size for a smoke run; its figures are not the
ones to quote.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from bench import measure
from bench.scenarios import FLOOR, SCENARIOS, available_configs, same_crossings

PARTS = ("throughput", "scale", "memory", "verify", "explore")
console = Console(width=160)


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.2f}"


def throughput(repeats: int, quick: bool) -> list[dict[str, Any]]:
    configs = available_configs()
    condis_configs = [c for c in configs if not c.floor]
    rows = []
    for scenario in SCENARIOS:
        names = same_crossings(scenario, condis_configs[0])
        for config in condis_configs[1:]:
            same_crossings(scenario, config)
        if quick:
            scenario = type(scenario)(scenario.name, scenario.setup, scenario.unit, 20)
        best = [float("inf")] * len(configs)
        jobs = [lambda c=c, s=scenario: measure.time_scenario(s, c) for c in configs]
        for figures in measure.interleaved(repeats, jobs):
            best = [min(b, f) for b, f in zip(best, figures, strict=True)]
        floor = best[0]
        rows.append(
            {
                "scenario": scenario.name,
                "crossings": len(names),
                "unit": scenario.unit,
                "us": {c.name: b * 1e6 for c, b in zip(configs, best, strict=True)},
                "ratio": {c.name: b / floor for c, b in zip(configs, best, strict=True)},
            }
        )
    table = Table(title="throughput: µs per op (per NBL for batches), ratio to the floor")
    table.add_column("scenario (crossings per op)")
    for config in configs:
        table.add_column(config.name, justify="right")
    for row in rows:
        cells = [f"{row['us'][c.name]:.2f}" for c in configs[:1]]
        cells += [f"{row['us'][c.name]:.2f} ({row['ratio'][c.name]:.1f}×)" for c in configs[1:]]
        table.add_row(f"{row['scenario']} ({row['crossings']})", *cells)
    console.print(table)
    return rows


def scale(repeats: int, quick: bool) -> list[dict[str, Any]]:
    vcs = [100, 1000] if quick else [1000, 10_000, 100_000]
    calls = [100, 1000] if quick else [1000, 10_000]
    configs = [FLOOR, *(c for c in available_configs() if c.name in ("condis trace=off", "condis"))]
    rows: list[dict[str, Any]] = []
    for case in measure.scale_cases(vcs, calls):
        row: dict[str, Any] = {"live": case.live, "what": case.what, "op": case.op_name, "us": {}}
        hosts = [measure.populate(c, case.what, case.live) for c in configs]
        ops = [measure.scale_op(s, vc, case.op_name) for s, vc in hosts]
        jobs = [lambda op=op, n=case.ops: measure.time_op(op, n) / n for op in ops]
        best = [float("inf")] * len(configs)
        for figures in measure.interleaved(repeats, jobs):
            best = [min(b, f) for b, f in zip(best, figures, strict=True)]
        row["us"] = {c.name: b * 1e6 for c, b in zip(configs, best, strict=True)}
        del hosts, ops
        rows.append(row)
    smallest = {(r["what"], r["op"]): r for r in rows if r["live"] in (vcs[0], calls[0])}
    table = Table(title="scale: µs per op with many live, growth against the smallest size")
    for column in ("live", "op"):
        table.add_column(column)
    for config in configs:
        table.add_column(config.name, justify="right")
    for row in rows:
        base = smallest[(row["what"], row["op"])]
        row["growth"] = {n: row["us"][n] / base["us"][n] for n in row["us"]}
        cells = [f"{row['us'][c.name]:.2f} ({row['growth'][c.name]:.2f}×)" for c in configs]
        table.add_row(f"{row['live']:,} {row['what']}", row["op"], *cells)
    console.print(table)
    return rows


def memory(quick: bool) -> dict[str, Any]:
    live = 1000 if quick else 10_000
    cycles = 500 if quick else 10_000
    configs = [FLOOR, *(c for c in available_configs() if c.name in ("condis trace=off", "condis"))]
    af = next(s for s in SCENARIOS if s.name == "AF open+close, sync")
    call = next(s for s in SCENARIOS if s.name == "call setup+teardown, sync MCM")
    out: dict[str, Any] = {"live": live, "cycles": cycles, "configs": {}}
    table = Table(
        title=f"memory: bytes per live object ({live:,}) and retained per cycle ({cycles:,})"
    )
    for column in (
        "config",
        "per live VC",
        "per live call",
        "per closed AF cycle",
        "per closed call",
    ):
        table.add_column(column, justify="right")
    for config in configs:
        figures = {
            "per live VC": measure.bytes_per_live(config, "VCs", live),
            "per live call": measure.bytes_per_live(config, "calls", live // 10),
            "per closed AF cycle": measure.retained_per_cycle(af, config, cycles),
            "per closed call": measure.retained_per_cycle(call, config, cycles // 5),
        }
        out["configs"][config.name] = figures
        table.add_row(config.name, *(f"{v:,.0f}" for v in figures.values()))
    console.print(table)
    return out


def verify_part(repeats: int, quick: bool) -> dict[str, Any]:
    schedules = 0 if quick else 2
    out: dict[str, Any] = {"schedules": schedules, "roles": {}}
    table = Table(title=f"verify: runs per CPU second (sample drivers, --schedules {schedules})")
    for column in ("role", "runs", "runs/s"):
        table.add_column(column, justify="right")
    for role in measure.ROLE_TARGETS:
        best = float("inf")
        runs = 0
        for _ in range(max(1, repeats // 2)):
            runs, seconds = measure.verify_rate(role, schedules)
            best = min(best, seconds)
        out["roles"][role] = {"runs": runs, "runs_per_s": runs / best}
        table.add_row(role, str(runs), f"{runs / best:,.0f}")
    startup = min(measure.startup_seconds() for _ in range(max(1, repeats)))
    out["startup_s"] = startup
    table.add_row("start-up (import condis.cli)", "", f"{startup:.3f} s")
    console.print(table)
    return out


def explore_part(repeats: int, quick: bool) -> dict[str, Any]:
    schedules = 50 if quick else 500
    best_rate, best_overhead = 0.0, float("inf")
    for _ in range(max(1, repeats // 2)):
        rate, overhead = measure.explore_rate(schedules)
        best_rate, best_overhead = max(best_rate, rate), min(best_overhead, overhead)
    table = Table(
        title=f"explore: dfs over the pended sample MCM's workload ({schedules} schedules)"
    )
    for column in ("schedules/s", "cost over plain runs"):
        table.add_column(column, justify="right")
    table.add_row(f"{best_rate:,.0f}", f"{best_overhead:.2f}×")
    console.print(table)
    out: dict[str, Any] = {
        "schedules": schedules,
        "schedules_per_s": best_rate,
        "overhead": best_overhead,
    }
    timed = measure.dask_speedup(schedules * 6)
    if timed is not None:
        one, two = timed
        out["dask_wall_s"] = {"1 worker": one, "2 workers": two, "speedup": one / two}
        console.print(
            f"Dask LocalCluster, {schedules * 6} schedules: 1 worker {one:.1f} s, "
            f"2 workers {two:.1f} s wall ({one / two:.2f}×)"
        )
    return out


@click.command()
@click.option("--part", "parts", multiple=True, type=click.Choice(PARTS), help="Only these parts.")
@click.option("--repeats", default=5, show_default=True, help="Minimum taken over this many.")
@click.option("--quick", is_flag=True, help="Small sizes, for a smoke run.")
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("bench-results.json"),
    show_default=True,
    help="Where to write the figures.",
)
def main(parts: tuple[str, ...], repeats: int, quick: bool, json_path: Path) -> None:
    """Measure condis against the CPython floor (see bench/__init__.py)."""
    chosen = parts or PARTS
    result: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "repeats": repeats,
        "quick": quick,
    }
    if "throughput" in chosen:
        result["throughput"] = throughput(repeats, quick)
    if "scale" in chosen:
        result["scale"] = scale(repeats, quick)
    if "memory" in chosen:
        result["memory"] = memory(quick)
    if "verify" in chosen:
        result["verify"] = verify_part(repeats, quick)
    if "explore" in chosen:
        result["explore"] = explore_part(repeats, quick)
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"figures written to {json_path}")


main()
