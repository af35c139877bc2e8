"""Every host a test builds is checked, at the end of the test, for invariants.

The runtime's tables must agree with each other after any sequence of DDIs,
legal or not (Ndis.check_invariants). Rather than repeat the check in every
test, each `Ndis` a test creates is remembered and checked at teardown,
unless the host crashed (a bug check may stop it halfway through an
operation, as it stops a real machine).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from condis import Ndis

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def _hosts_keep_their_invariants(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    hosts: list[Ndis] = []
    original = Ndis.__init__

    def remember(self: Ndis, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        hosts.append(self)

    monkeypatch.setattr(Ndis, "__init__", remember)
    yield
    for ndis in hosts:
        if ndis.crashed is None:
            broken = ndis.check_invariants()
            assert broken == [], f"host invariants broken: {broken}"
