"""condis's pytest plugin: test your own driver with a verified host.

Installed with condis and loaded by pytest through the `pytest11` entry
point. It provides one fixture:

`condis_ndis`
    An `Ndis` in collect mode. When the test ends, the fixture shuts the
    host down (every adapter still up is halted, so drivers unbind and
    release what they hold), unloads every driver that has an unload
    routine, and fails the test if any rule was broken, if anything is still
    allocated, or if the host crashed, printing the report
    (verifier/report.py): every violation, in order, with the trace before
    it, also when the shutdown itself stopped the host (a driver that never
    answers MiniportHaltEx's wait, say), so the first one is the cause.

A test that wants a violation (a test of a buggy driver) reads
`condis_ndis.verifier.violations` and then clears the list; leaks are
checked after shutdown regardless.

`condis_explore`
    A function ``condis_explore(factory, role, **options)`` that explores the
    role's workload on the factory's driver (condis.explore.explore, same
    options) and fails the test when a schedule breaks a rule: with the
    report of the minimal schedule, its reorderings, and the command that
    replays it (the replay file is written to the test's tmp_path), or when
    no schedule reached some stage of the driver (`allow_partial=True`
    accepts that). It returns the `ExploreResult` otherwise.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from condis.errors import BugCheck, SystemCrashed
from condis.explore import ExploreResult, explore, save_replay
from condis.ndis import Ndis
from condis.verifier import Mode
from condis.verifier.report import Report
from condis.verify.runner import WATCHDOG_MS

__all__ = ["condis_explore", "condis_ndis"]


@pytest.fixture
def condis_explore(tmp_path: Path) -> Callable[..., ExploreResult]:
    """Explore a driver's role workload; fail the test on the first failing schedule."""

    def run(
        factory: Callable[[Ndis], object], role: str, *, allow_partial: bool = False, **options: Any
    ) -> ExploreResult:
        result = explore(factory, role, **options)
        found = result.counterexample
        if found is None:
            if result.not_reached and not allow_partial:
                pytest.fail(
                    "condis explore never exercised the driver fully:\n"
                    + "\n".join(f"  {line}" for line in result.not_reached),
                    pytrace=False,
                )
            return result
        out = tmp_path / "condis-replay.json"
        target = _target_of(factory)
        save_replay(out, target, found, watchdog_ms=options.get("watchdog_ms", WATCHDOG_MS))
        lines = [
            f"condis explore found a failing schedule after {result.schedules} schedule(s)",
            "",
            found.run.report.render(diagram=False) if not found.run.report.clean else "",
            found.run.error or "",
            f"setup: peers={found.setup.peers} stop={found.setup.stop}",
            *found.reorderings(),
            f"replay: condis replay {out}",
        ]
        pytest.fail("\n".join(line for line in lines if line is not None), pytrace=False)

    return run


def _target_of(factory: Callable[..., object]) -> str:
    """How `condis replay` finds `factory` again: its file and name when it is defined at
    the top of a file, else its module and name."""
    name = getattr(factory, "__name__", "factory")
    source = inspect.getsourcefile(factory) if callable(factory) else None
    if source is not None and getattr(factory, "__qualname__", name) == name:
        return f"{source}:{name}"
    return f"{factory.__module__}:{name}"


@pytest.fixture
def condis_ndis() -> Iterator[Ndis]:
    """An Ndis (collect mode) that fails the test on any violation or leak."""
    ndis = Ndis(mode=Mode.COLLECT)
    yield ndis
    for teardown in (ndis.shutdown, ndis.unload_all):
        if ndis.crashed is None:
            with contextlib.suppress(BugCheck, SystemCrashed):
                teardown()  # what stopped it is in the report
    report = Report.of(ndis)
    if not report.clean:
        text = report.render(diagram=False, verbose=True)
        pytest.fail(f"condis found problems:\n\n{text}", pytrace=False)
