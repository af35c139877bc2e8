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
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from condis.errors import BugCheck, SystemCrashed
from condis.ndis import Ndis
from condis.verifier import Mode
from condis.verifier.report import Report

__all__ = ["condis_ndis"]


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
