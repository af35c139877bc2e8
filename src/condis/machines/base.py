"""The shape of a machine: rows, the table, and the one transition function."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any, Generic, TypeVar, cast

from condis.errors import CondisInternalError
from condis.ops import OpTransition
from condis.status import NDIS_STATUS, NDIS_STATUS_FAILURE

__all__ = ["DDI", "Machine", "Row", "Transition", "refuse", "step", "table"]

S = TypeVar("S", bound=Enum)
I = TypeVar("I", bound=Enum)  # noqa: E741


@dataclass(frozen=True, slots=True)
class Transition(Generic[S]):
    """One row: what an input does in a state.

    `target` is the next state, or None when the row refuses the input (the
    state stays); `status` is what a refused DDI returns, `rule` the rule the
    driver broke by asking, and `page` the spec page that documents the row.
    """

    target: S | None
    page: str
    status: NDIS_STATUS | None = None
    rule: str | None = None
    #: the row refuses its input (it has no target)
    refused: bool = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "refused", self.target is None)

    @property
    def refusal(self) -> NDIS_STATUS:
        """What a DDI refused by this row returns (NDIS_STATUS_FAILURE unless it says)."""
        return NDIS_STATUS_FAILURE if self.status is None else self.status


#: A row of any machine: an entity's Transition, or the pend/complete contract's OpTransition.
Row = Transition[Any] | OpTransition


@dataclass(frozen=True, slots=True)
class Machine(Generic[S, I]):
    """One entity's machine: its states, its inputs and its read-only table."""

    name: str
    #: what the machine is the life of, for people
    title: str
    states: type[S]
    inputs: type[I]
    initial: S
    rows: Mapping[tuple[S, I], Row]
    #: the rows again as a plain dict, and the targets of those that have one: what
    #: `guard` and `step` read on every crossing
    _rows: dict[tuple[S, I], Row] = field(init=False, compare=False, repr=False)
    _next: dict[tuple[S, I], S] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rows", dict(self.rows))
        targets = {p: cast(S, r.target) for p, r in self.rows.items() if r.target is not None}
        object.__setattr__(self, "_next", targets)

    def row(self, state: S, event: I) -> Row | None:
        return self._rows.get((state, event))

    def guard(self, state: S, event: I) -> Transition[S]:
        """The row a DDI's precondition reads; a missing one is condis's own bug."""
        row = self._rows.get((state, event))
        if not isinstance(row, Transition):
            raise CondisInternalError(f"{self.name} machine: no row for {event.value} in {state}")
        return row

    def targets(self) -> Mapping[tuple[S, I], S]:
        """The legal rows, as (state, input) -> next state."""
        return MappingProxyType(dict(self._next))

    def legal(self) -> Mapping[tuple[S, I], Row]:
        """The legal rows themselves (those with a target and no rule)."""
        return MappingProxyType(
            {p: r for p, r in self.rows.items() if r.target is not None and r.rule is None}
        )


def step(machine: Machine[S, I], state: S, event: I, error: Callable[[I], Exception]) -> S:
    """The one transition function: the next state, or `error(event)` raised, state
    unchanged."""
    target = machine._next.get((state, event))
    if target is None:
        raise error(event)
    return target


def table(
    rows: Mapping[tuple[S, I], Transition[S]],
    *refusals: tuple[Iterable[S], I, Transition[S]],
) -> Mapping[tuple[S, I], Row]:
    """`rows`, plus for each (states, input, refusal) the refusal in each of those states
    that has no row of its own for the input."""
    table: dict[tuple[S, I], Row] = dict(rows)
    for states, event, refusal in refusals:
        for state in states:
            table.setdefault((state, event), refusal)
    return MappingProxyType(table)


def refuse(page: str, status: NDIS_STATUS | None = None, rule: str | None = None) -> Any:
    return Transition(None, page, status=status, rule=rule)


DDI = "ddi/"
