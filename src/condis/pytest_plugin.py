"""condis's pytest plugin: test your own driver with a verified host.

Installed with condis and loaded by pytest through the `pytest11` entry
point. It provides one fixture:

`condis_ndis`
    An `Ndis` in collect mode. When the test ends, the fixture shuts the
    host down (every adapter still up is halted, so drivers unbind and
    release what they hold), unloads every driver that has an unload
    routine, and fails the test if any rule was broken, if anything is still
    allocated, or if the host crashed, printing the report
    (verifier/report.py) with the trace before each violation.

A test that wants a violation (a test of a buggy driver) reads
`condis_ndis.verifier.violations` and then clears the list; leaks are
checked after shutdown regardless.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from condis.ndis import Ndis
from condis.verifier import Mode
from condis.verifier.report import Report

__all__ = ["condis_ndis"]


@pytest.fixture
def condis_ndis() -> Iterator[Ndis]:
    """An Ndis (collect mode) that fails the test on any violation or leak."""
    ndis = Ndis(mode=Mode.COLLECT)
    yield ndis
    if ndis.crashed is None:
        ndis.shutdown()
    if ndis.crashed is None:
        ndis.unload_all()
    report = Report.of(ndis)
    if not report.clean:
        pytest.fail(f"condis found problems:\n\n{report.render(diagram=False)}", pytrace=False)
