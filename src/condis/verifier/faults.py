"""Fault injection: making NDIS's allocation failures reachable.

On Windows, NDIS_STATUS_RESOURCES comes back when pool allocation fails,
which a test cannot arrange. condis marks each place where NDIS allocates
tracking state as an allocation point named after its DDI, and asks the
`FaultInjector` before allocating. Two ways to make a point fail:

* `fail(name, times=1)`: the next `times` allocations at that point fail;
* `low_resources(probability, seed)`: like Driver Verifier's low-resources
  simulation, every allocation point fails with that probability, drawn from
  a generator seeded by `seed`, so a run is reproducible;
* `chooser`: a function asked at every allocation point whether it fails
  (the explorer's: each point is one of its choices).

Every injected failure is remembered (`injected`), so a report can say which
failure a later violation followed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["FaultInjector"]


@dataclass(slots=True)
class FaultInjector:
    _planned: dict[str, int] = field(default_factory=dict)
    _probability: float = 0.0
    _rng: random.Random = field(default_factory=lambda: random.Random(0))
    injected: list[tuple[str, int]] = field(default_factory=list)
    #: asked at every allocation point (after `fail`'s plans) whether it fails
    chooser: Callable[[str], bool] | None = None

    def fail(self, name: str, times: int = 1) -> None:
        """Make the next `times` allocations at point `name` fail."""
        if not isinstance(name, str) or not name:
            raise ValueError("fail: name must be the DDI name of an allocation point")
        if times < 1:
            raise ValueError(f"fail: times must be >= 1, not {times}")
        self._planned[name] = self._planned.get(name, 0) + times

    def low_resources(self, probability: float, seed: int) -> None:
        """Fail every allocation point with `probability`, reproducibly from `seed`."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"low_resources: probability must be in [0, 1], not {probability}")
        self._probability = probability
        self._rng = random.Random(seed)

    def should_fail(self, name: str, seq: int) -> bool:
        """Ask at allocation point `name` (trace position `seq`) whether to fail."""
        planned = self._planned.get(name, 0)
        if planned:
            self._planned[name] = planned - 1
            self.injected.append((name, seq))
            return True
        if self.chooser is not None:
            fails = self.chooser(name)
            if fails:
                self.injected.append((name, seq))
            return fails
        if self._probability and self._rng.random() < self._probability:
            self.injected.append((name, seq))
            return True
        return False
