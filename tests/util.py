"""Helpers shared by the tests: building hosts and reading traces."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pytest

from condis import DRIVER_VERIFIER_DETECTED_VIOLATION, BugCheck, Ndis
from condis.samples import SampleCallManager, SampleClient, SampleCoMiniport, SampleMcm
from condis.trace import Phase, TraceRecord


def records(ndis: Ndis, name: str, phase: str | None = None) -> list[TraceRecord]:
    """Every trace record of `name` (optionally one phase: "call" or "return")."""
    return [r for r in ndis.trace if r.name == name and (phase is None or r.phase.value == phase)]


def find(
    ndis: Ndis,
    name: str,
    phase: str = "call",
    *,
    driver: str | None = None,
    status: int | None = None,
    after: int = -1,
) -> TraceRecord:
    """The first record of `name` in `phase` after `after` (optionally by `driver`, `status`)."""
    for r in ndis.trace:
        if (
            r.seq > after
            and r.name == name
            and r.phase.value == phase
            and (driver is None or r.driver == driver)
            and (status is None or r.status == status)
        ):
            return r
    raise AssertionError(f"no {phase} of {name} (driver={driver}, status={status}) after #{after}")


def in_order(ndis: Ndis, *steps: tuple[Any, ...], after: int = -1) -> list[TraceRecord]:
    """Assert steps (phase, name[, status[, driver]]) occur in this order; return the records."""
    found = []
    for phase, name, *rest in steps:
        status = rest[0] if rest else None
        driver = rest[1] if len(rest) > 1 else None
        record = find(ndis, name, phase, driver=driver, status=status, after=after)
        found.append(record)
        after = record.seq
    return found


def calls(
    ndis: Ndis, name: str, *, driver: str | None = None, after: int = -1
) -> list[TraceRecord]:
    """Every call record of `name` after `after` (optionally by `driver`)."""
    return [
        r
        for r in ndis.trace
        if r.seq > after
        and r.name == name
        and r.phase.value == "call"
        and driver in (None, r.driver)
    ]


def mark_of(ndis: Ndis) -> int:
    """The seq of the last record so far (for `after=`; -1 on an empty trace)."""
    return ndis.trace[-1].seq if len(ndis.trace) else -1


def names(ndis: Ndis, phase: str = "call", kinds: Iterable[str] = ("ddi", "handler")) -> list[str]:
    wanted = set(kinds)
    return [r.name for r in ndis.trace if r.phase.value == phase and r.kind.value in wanted]


def mcm_host(
    *, completion: str = "sync", afs: Sequence[int] | None = None, client: bool = True
) -> tuple[Ndis, SampleMcm, SampleClient | None]:
    """A host with the sample MCM (adapter 'mcm0' up) and, optionally, the sample client."""
    ndis = Ndis()
    kwargs = {} if afs is None else {"address_families": tuple(afs)}
    mcm = SampleMcm(ndis, completion=completion, **kwargs)  # type: ignore[arg-type]
    ndis.load_driver(mcm, "samplemcm")
    cl = None
    if client:
        cl = SampleClient(ndis)
        ndis.load_driver(cl, "sampleclient")
    ndis.add_adapter("samplemcm", "mcm0")
    ndis.run()
    return ndis, mcm, cl


def cm_host(
    *, completion: str = "sync", client: bool = True
) -> tuple[Ndis, SampleCallManager, SampleClient | None]:
    """A host with the sample CoNDIS miniport (adapter 'atm0'), call manager and client."""
    ndis = Ndis()
    ndis.load_driver(SampleCoMiniport(ndis), "samplecominiport")
    cm = SampleCallManager(ndis, completion=completion)  # type: ignore[arg-type]
    ndis.load_driver(cm, "samplecallmanager")
    cl = None
    if client:
        cl = SampleClient(ndis)
        ndis.load_driver(cl, "sampleclient")
    ndis.add_adapter("samplecominiport", "atm0")
    ndis.run()
    return ndis, cm, cl


C4 = DRIVER_VERIFIER_DETECTED_VIOLATION


def facts(bc: BugCheck) -> tuple[int, str, str, str | None, str | None]:
    """(code, rule, DDI, driver, handle) of a bug check."""
    return bc.code, bc.rule, bc.ddi, bc.driver, bc.handle


def expect_bugcheck(
    ndis: Ndis, run: Callable[[], object], *expected: str | None, stops: bool = False
) -> BugCheck:
    """`run` must raise BugCheck(0xC4, rule, ddi, driver[, handle]), recording one violation,
    and leave the host as it was.

    `stops`: the fault is found in the middle of an operation, so the host stops.
    """
    before, seen = ndis.snapshot(), len(ndis.verifier.violations)
    with pytest.raises(BugCheck) as info:
        run()
    assert facts(info.value)[: len(expected) + 1] == (C4, *expected)
    assert ndis.snapshot() == before
    assert ndis.crashed is (info.value if stops else None)
    assert len(ndis.verifier.violations) == seen + 1
    return info.value


__all__ = [
    "C4",
    "Phase",
    "calls",
    "cm_host",
    "expect_bugcheck",
    "facts",
    "find",
    "in_order",
    "mark_of",
    "mcm_host",
    "names",
    "records",
]
