"""Choice points: every pick the scheduler makes, named, followed and recorded.

When more than one deferred item is ready (work items, timers that fell due
together, NDIS's own deferred completions), the scheduler asks its policy
which runs next. `ChoicePolicy` is the explorer's policy: it follows a list
of indices (a *schedule prefix*), then runs in FIFO order (index 0, the
"zero" decision), and records each decision with the labels of everything
it chose among, so that a schedule can be replayed and checked against the
code it runs on. A label is the item's own label, after its owner's name
when a driver owns it, e.g. ``timer NdisTimerObject#2`` or ``samplemcm:
work item NdisIoWorkItemHandle#3``; the same schedule on the same code gives
the same labels.

PCT (probabilistic concurrency testing) is a third way to pick: each item
gets a random priority when first ready, the highest-priority ready item
runs, and at d - 1 random decisions the running one drops to the lowest.
condis's items are not threads (a work item runs once and is gone), so the
bound PCT proves for threads, a bug of depth d found with probability at
least 1/(n k^(d-1)) per run for n threads and k steps, holds here with n the
number of distinct items and k the number of decisions.

With fault injection on, every allocation point NDIS reaches is a choice
too: it succeeds (index 0, as FIFO has it) or fails with
NDIS_STATUS_RESOURCES; a random schedule fails one in ten.

Choices made here: a decision point exists only where two or more items are
ready (with one there is nothing to choose); FIFO is index 0 everywhere, so
a schedule's *deviations* are its non-zero decisions. Time is a choice too:
while work is ready, the next driver timer is offered after it (the
scheduler's module docstring), so a timer can beat a queued work item, as
it can on Windows.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from condis.scheduler import Item, ItemKind

__all__ = ["ChoicePolicy", "Decision", "Divergence", "label_of"]


def label_of(item: Item) -> str:
    """An item's stable name in a schedule: its label, after its owner's name when a
    driver owns it (a work item), e.g. ``samplemcm: work item NdisIoWorkItemHandle#3``,
    and its due time for a timer (``timer NdisTimerObject#2 @10000``)."""
    name = item.label if item.owner is None else f"{item.owner}: {item.label}"
    return f"{name} @{item.due}" if item.kind is ItemKind.TIMER else name


@dataclass(frozen=True, slots=True)
class Decision:
    """One choice point: what was ready (in FIFO order) and which ran."""

    options: tuple[str, ...]
    chose: int

    @property
    def label(self) -> str:
        """What ran."""
        return self.options[self.chose]

    def to_json(self) -> dict[str, object]:
        return {"label": self.label, "options": list(self.options), "chose": self.chose}

    @classmethod
    def from_json(cls, data: object) -> Decision:
        if not isinstance(data, dict):
            raise ValueError(f"a decision must be an object, not {type(data).__name__}")
        options, chose = data.get("options"), data.get("chose")
        if not (isinstance(options, list) and all(isinstance(o, str) for o in options)):
            raise ValueError("a decision's options must be a list of labels")
        if isinstance(chose, bool) or not isinstance(chose, int) or not 0 <= chose < len(options):
            raise ValueError(f"a decision's chose must index its options, not {chose!r}")
        return cls(tuple(options), chose)


class Divergence(BaseException):
    """A replayed schedule met a choice point that does not match the recorded one.

    A BaseException, like KeyboardInterrupt: it is the explorer stopping a run,
    not an error of the run, so it passes the places where condis reports what a
    driver's code raised, and ends the run where it happens.
    """

    def __init__(self, index: int, expected: tuple[str, ...], found: tuple[str, ...]) -> None:
        super().__init__(
            f"the schedule diverged at decision {index}: it recorded a choice among "
            f"{list(expected)}, and this run offers {list(found)}"
        )
        self.index = index
        self.expected = expected
        self.found = found


class ChoicePolicy:
    """Follow `prefix`, then FIFO (or a seeded random pick when `rng` is given),
    recording every decision; with `expect`, check each choice point's options
    against a recorded schedule and raise `Divergence` where they differ (or, with
    `fifo_after_divergence`, go on in FIFO order from there).

    A driver timer still to come competes with ready work (`timers_compete`, the
    scheduler's module docstring): it is offered last, labelled with the time the
    clock would jump to.
    """

    #: the scheduler offers the next driver timer alongside ready work
    timers_compete = True

    def __init__(
        self,
        prefix: Sequence[int] = (),
        *,
        rng: random.Random | None = None,
        expect: Sequence[tuple[str, ...]] | None = None,
        fifo_after_divergence: bool = False,
        pct: tuple[int, int] | None = None,
    ) -> None:
        self.prefix = tuple(prefix)
        self.rng = rng
        self.expect = None if expect is None else tuple(expect)
        self.fifo_after_divergence = fifo_after_divergence
        self.decisions: list[Decision] = []
        #: PCT (depth d, decisions k): a random priority per item, and d - 1 random
        #: decisions at which the top item drops to the bottom (`rng` draws them all)
        self.priorities: dict[str, float] | None = None
        self.change_points: set[int] = set()
        if pct is not None:
            if rng is None:
                raise ValueError("ChoicePolicy: pct needs an rng")
            depth, steps = pct
            self.priorities = {}
            self.change_points = {rng.randrange(max(1, steps)) for _ in range(depth - 1)}
        #: where a replay diverged, if it went on in FIFO order
        self.diverged: Divergence | None = None

    def choose(self, ready: Sequence[Item]) -> int:
        """The scheduler's pick among ready items."""
        return self._decide(tuple(label_of(item) for item in ready))

    def choose_fault(self, point: str) -> bool:
        """Whether NDIS's allocation at `point` fails (FaultInjector.chooser): a choice
        between success (FIFO's, index 0) and failure."""
        options = (f"allocation {point} succeeds", f"allocation {point} fails")
        return self._decide(options, fault=True) == 1

    def _decide(self, options: tuple[str, ...], *, fault: bool = False) -> int:
        n = len(self.decisions)
        following = self.diverged is None and n < len(self.prefix)
        expect = self.expect
        if following and expect is not None and n < len(expect) and expect[n] != options:
            divergence = Divergence(n, expect[n], options)
            if not self.fifo_after_divergence:
                raise divergence
            self.diverged, following = divergence, False
        if following:
            index = self.prefix[n]
            if not 0 <= index < len(options):
                raise Divergence(n, (), options)
        elif self.rng is not None and self.priorities is not None and not fault:
            index = self._pct(n, options)
        elif self.rng is not None:
            # a random run fails an allocation one time in ten, as low resources would
            index = int(self.rng.random() < 0.1) if fault else self.rng.randrange(len(options))
        else:
            index = 0
        self.decisions.append(Decision(options, index))
        return index

    def _pct(self, n: int, options: tuple[str, ...]) -> int:
        """PCT's pick: the ready item of the highest priority, the top one first dropping
        to the bottom at a change point (Burckhardt et al., ASPLOS 2010)."""
        assert self.priorities is not None and self.rng is not None
        priorities = self.priorities
        for label in options:
            if label not in priorities:
                priorities[label] = self.rng.random()
        best = max(range(len(options)), key=lambda i: priorities[options[i]])
        if n in self.change_points:
            priorities[options[best]] = -1.0 - n  # below every priority given so far
            best = max(range(len(options)), key=lambda i: priorities[options[i]])
        return best

    @property
    def deviations(self) -> int:
        """How many decisions left FIFO order."""
        return sum(1 for d in self.decisions if d.chose)
