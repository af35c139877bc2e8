"""One deterministic scheduler for all deferred work on a host.

Windows runs work items on system threads at PASSIVE_LEVEL, timer callbacks
as DPCs at DISPATCH_LEVEL, and completions whenever the hardware or another
processor gets to them. condis has no threads: every piece of deferred work
is an `Item` in this scheduler, and it runs only when the test (or a driver
blocked in NdisWaitEvent) asks for it.

* `step()` runs one ready item; `run()` runs until nothing is left.
* Time is simulated, in the 100-nanosecond units NDIS uses, and moves only
  when no item is ready and a timer is due: then the clock jumps to the
  earliest timer. Nothing ever depends on the wall clock.
* Where several items are ready, a `Policy` picks one: `FifoPolicy` (the
  default) takes the oldest, `RandomPolicy(seed)` a seeded random one,
  `ScriptedPolicy` follows a list of choices (for exploring interleavings).
  The same policy and seed give the same order, hence the same trace.
* A policy with ``timers_compete = True`` (the explorer's) is also offered,
  while work is ready, the earliest driver timer still to come, as one more
  option after the ready items: on Windows a timer DPC runs when it is due
  and a work item may wait, so a timer can beat queued work. Taking it moves
  the clock to its due time. NDIS's own timed items (the watchdog) are not
  offered: they are condis's judgement of time, not a driver's race. FIFO
  never takes it, so index 0 keeps today's order.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from condis.constants import KIRQL, Key
from condis.errors import SchedulerError

__all__ = [
    "TICKS_PER_MS",
    "FifoPolicy",
    "Item",
    "ItemKind",
    "Policy",
    "RandomPolicy",
    "Scheduler",
    "ScriptedPolicy",
]

#: NDIS system time counts 100-ns units; 10,000 of them make a millisecond.
TICKS_PER_MS = 10_000

DEFAULT_MAX_STEPS = 1_000_000


class ItemKind(Key):
    WORK_ITEM = "work item"
    TIMER = "timer"
    NDIS = "NDIS"


@dataclass(slots=True, eq=False)
class Item:
    """One unit of deferred work."""

    label: str
    kind: ItemKind
    irql: KIRQL
    action: Callable[[], None]
    owner: str | None = None
    seq: int = 0
    due: int = 0
    cancelled: bool = False

    def __repr__(self) -> str:
        return f"<Item #{self.seq} {self.kind.value} {self.label} @{self.due}>"


class Policy(Protocol):
    def choose(self, ready: Sequence[Item]) -> int:
        """Index into `ready` of the item to run next."""
        ...


@dataclass(slots=True)
class FifoPolicy:
    """Oldest first: the order in which the work was queued."""

    def choose(self, ready: Sequence[Item]) -> int:
        return 0


@dataclass(slots=True)
class RandomPolicy:
    """A seeded random choice among the ready items."""

    seed: int
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def choose(self, ready: Sequence[Item]) -> int:
        return self._rng.randrange(len(ready))


@dataclass(slots=True)
class ScriptedPolicy:
    """Follows a list of indices; once it is used up, falls back to FIFO."""

    choices: Iterable[int]
    _it: Iterator[int] = field(init=False)
    taken: list[tuple[int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._it = iter(self.choices)

    def choose(self, ready: Sequence[Item]) -> int:
        index = next(self._it, 0)
        if not 0 <= index < len(ready):
            raise SchedulerError(f"scripted choice {index} out of range for {len(ready)} items")
        self.taken.append((index, len(ready)))
        return index


@dataclass(slots=True)
class Scheduler:
    policy: Policy = field(default_factory=FifoPolicy)
    now: int = 0
    _ready: list[Item] = field(default_factory=list)
    _timers: list[tuple[int, int, Item]] = field(default_factory=list)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    steps: int = 0

    def queue(self, item: Item) -> Item:
        """Make `item` ready to run now."""
        item.seq = next(self._seq)
        item.due = self.now
        item.cancelled = False
        self._ready.append(item)
        return item

    def at(self, due: int, item: Item) -> Item:
        """Make `item` ready at simulated time `due` (a past time means now)."""
        item.seq = next(self._seq)
        item.due = max(due, self.now)
        item.cancelled = False
        heapq.heappush(self._timers, (item.due, item.seq, item))
        return item

    def cancel(self, item: Item) -> bool:
        """Withdraw a queued or timed item; True if it was still waiting."""
        if item.cancelled:
            return False
        if item in self._ready:
            self._ready.remove(item)
            item.cancelled = True
            return True
        for _, _, waiting in self._timers:
            if waiting is item:
                item.cancelled = True
                return True
        return False

    def ready(self) -> tuple[Item, ...]:
        """The items that could run now, oldest first."""
        return tuple(self._ready)

    def pending(self) -> tuple[Item, ...]:
        """Every item still waiting, ready or timed."""
        timed = sorted((d, s, i) for d, s, i in self._timers if not i.cancelled)
        return tuple(self._ready) + tuple(i for _, _, i in timed)

    def idle(self) -> bool:
        return not self._ready and all(i.cancelled for _, _, i in self._timers)

    def _advance(self, until: int | None) -> bool:
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)
        if not self._timers:
            return False
        due = self._timers[0][0]
        if until is not None and due > until:
            return False
        self.now = max(self.now, due)
        while self._timers and self._timers[0][0] <= self.now:
            _, _, item = heapq.heappop(self._timers)
            if not item.cancelled:
                self._ready.append(item)
        return True

    def step(self, *, until: int | None = None) -> Item | None:
        """Run one item, moving the clock to the next timer if nothing is ready.

        Returns the item that ran, or None if there was nothing to run (before
        `until`, when given).
        """
        if not self._ready and not self._advance(until):
            return None
        ready = self._ready
        early = self._early_timer(until) if getattr(self.policy, "timers_compete", False) else None
        options = len(ready) + (early is not None)
        offered = tuple(ready) if early is None else (*ready, early)
        index = self.policy.choose(offered) if options > 1 else 0
        if early is not None and index == len(ready):
            self._timers.remove((early.due, early.seq, early))
            heapq.heapify(self._timers)
            self.now = max(self.now, early.due)
            item = early
        else:
            item = ready.pop(index)
        self.steps += 1
        item.action()
        return item

    def _early_timer(self, until: int | None) -> Item | None:
        """The earliest driver timer still waiting while work is ready (module docstring)."""
        best: tuple[int, int, Item] | None = None
        for entry in self._timers:
            item = entry[2]
            if item.kind is not ItemKind.TIMER or item.cancelled:
                continue
            if best is None or entry[:2] < best[:2]:
                best = entry
        if best is None or (until is not None and best[0] > until):
            return None
        return best[2]

    def run(self, *, until: int | None = None, max_steps: int = DEFAULT_MAX_STEPS) -> int:
        """Run items until none is left (or the clock would pass `until`).

        Returns the number of items run. Raises SchedulerError after
        `max_steps` items, which is how a periodic timer that is never
        cancelled shows up.
        """
        ran = 0
        while self.step(until=until) is not None:
            ran += 1
            if ran >= max_steps:
                raise SchedulerError(
                    f"run() ran {max_steps} items without becoming idle; "
                    "is a periodic timer still set?"
                )
        if until is not None and until > self.now:
            self.now = until
        return ran
