"""The DDI catalogue: every page of spec/INDEX.md as a typed, read-only record.

The rows come from `condis.catalogue_data`, which tools/make_catalogue.py generates from the
two tables of spec/INDEX.md ("CoNDIS DDIs" and the supporting NDIS lifecycle pages);
tests/test_catalogue.py reruns the generator and fails if the data has drifted from the
spec. INDEX.md itself copies `req.irql` and `req.ddi-compliance` from each page's front
matter, so `DdiEntry.irql` and `DdiEntry.rules` are what the WDK page promises.

Two choices go beyond what INDEX.md says literally:

* **Callback names.** INDEX.md names a callback by its function type followed by the
  driver-side function name, e.g. ``PROTOCOL_CL_CLOSE_AF_COMPLETE (ProtocolClCloseAfComplete)``.
  The catalogue is keyed by the function name (``ProtocolClCloseAfComplete``), the name the
  guide and the handler tables use; the type goes to `DdiEntry.type_name`. The single page
  ``SET_OPTIONS (XxxSetOptions)`` documents one handler per driver type, so it yields two
  entries, ``MiniportSetOptions`` (``NDIS -> miniport``) and ``ProtocolSetOptions``
  (``NDIS -> protocol``), sharing type_name ``SET_OPTIONS`` and the page. FilterSetOptions,
  also on that page, is left out: filter drivers are not part of CoNDIS.
* **IRQL text.** `IrqlRequirement.parse` reads the `req.irql` strings that occur in
  INDEX.md. A trailing "(see Remarks section)" keeps the requirement in front of it (the
  two pages that carry it, ProtocolCoOidRequestComplete and ProtocolCoStatusEx, repeat
  "<= DISPATCH_LEVEL" in their remarks). "Any level" means no requirement. The bare
  "See Remarks section" of NdisCancelTimerObject becomes "<= DISPATCH_LEVEL": its remarks
  demand PASSIVE_LEVEL for cancelling a periodic timer and IRQL <= DISPATCH_LEVEL for a
  one-shot timer, a distinction that depends on the timer and so cannot live in this
  table; code that knows the timer is periodic must check PASSIVE_LEVEL itself. The
  original text is kept in `IrqlRequirement.text`.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar, Final, Literal

from condis.catalogue_data import ROWS
from condis.constants import KIRQL

__all__ = [
    "CATALOGUE",
    "DdiEntry",
    "DdiKind",
    "IrqlRelation",
    "IrqlRequirement",
    "UnknownDdiError",
    "entries",
    "entry",
]

IrqlRelation = Literal["==", "<=", "any"]

# "<= DISPATCH_LEVEL", "PASSIVE_LEVEL", optionally followed by "(see Remarks section)".
_LEVEL_TEXT: Final = re.compile(
    r"^(?P<relation><=\s*)?(?P<level>[A-Z]+_LEVEL)(?:\s+\(see Remarks section\))?$"
)
_ANY_TEXT: Final = re.compile(r"^Any level(?:\s+\(see Remarks section\))?$")
# NdisCancelTimerObject: PASSIVE_LEVEL for periodic timers, <= DISPATCH_LEVEL for one-shot.
_SEE_REMARKS_TEXT: Final = "See Remarks section"


class DdiKind(enum.Enum):
    """What a catalogue entry documents, from the page heading."""

    FUNCTION = "function"
    MACRO = "macro"
    CALLBACK = "callback"
    STRUCTURE = "structure"


@dataclass(frozen=True, slots=True, kw_only=True)
class IrqlRequirement:
    """The IRQL at which a DDI may be called, or at which NDIS calls a handler.

    Attributes:
        relation: "==" (exactly `level`), "<=" (at or below `level`) or "any" (no limit).
        level: the bound for "==" and "<="; None for "any".
        text: the `req.irql` text as INDEX.md gives it.
    """

    relation: IrqlRelation
    level: KIRQL | None
    text: str
    #: the IRQLs allowed, as bits (``(mask >> irql) & 1``): the kernel's hot path tests
    #: a bit instead of comparing relations
    mask: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.relation not in ("==", "<=", "any"):
            raise ValueError(f"unknown IRQL relation {self.relation!r}")
        if (self.level is None) != (self.relation == "any"):
            raise ValueError(
                f"IRQL relation {self.relation!r} "
                + ("takes no level" if self.relation == "any" else "needs a level")
            )
        mask = (
            self.ANY_MASK
            if self.relation == "any"
            else sum(1 << level for level in KIRQL if self.allows(level))
        )
        object.__setattr__(self, "mask", mask)

    #: `mask` of a requirement that allows every IRQL
    ANY_MASK: ClassVar[int] = (1 << 32) - 1

    def allows(self, irql: KIRQL) -> bool:
        """Return True if a call at `irql` meets this requirement."""
        if self.relation == "any":
            return True
        assert self.level is not None  # __post_init__ guarantees it
        if self.relation == "==":
            return irql == self.level
        return irql <= self.level

    @classmethod
    def parse(cls, text: str) -> IrqlRequirement | None:
        """Read a `req.irql` text from INDEX.md.

        Args:
            text: the text, e.g. "PASSIVE_LEVEL", "<= DISPATCH_LEVEL",
                "Any level (see Remarks section)" or "See Remarks section".

        Returns:
            The requirement, or None for an empty text (structures have none).
            "See Remarks section" (NdisCancelTimerObject) gives "<=" DISPATCH_LEVEL: the
            page asks for PASSIVE_LEVEL when cancelling a periodic timer and
            IRQL <= DISPATCH_LEVEL for a one-shot timer; this keeps the looser bound, and
            code that knows the timer is periodic must check PASSIVE_LEVEL itself.

        Raises:
            ValueError: the text is none of the known forms.
        """
        stripped = text.strip()
        if not stripped:
            return None
        if stripped == _SEE_REMARKS_TEXT:
            return cls(relation="<=", level=KIRQL.DISPATCH_LEVEL, text=text)
        if _ANY_TEXT.match(stripped):
            return cls(relation="any", level=None, text=text)
        match = _LEVEL_TEXT.match(stripped)
        if match is not None and match.group("level") in KIRQL.__members__:
            level = KIRQL[match.group("level")]
            relation: IrqlRelation = "<=" if match.group("relation") else "=="
            return cls(relation=relation, level=level, text=text)
        raise ValueError(f"unknown IRQL requirement {text!r}")

    def __str__(self) -> str:
        if self.relation == "any":
            return "any IRQL"
        assert self.level is not None
        return f"IRQL {self.relation} {self.level.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class DdiEntry:
    """One DDI page of spec/INDEX.md.

    Attributes:
        name: the WDK name; for callbacks the driver-side function name
            (ProtocolCmOpenAf), not the function type.
        type_name: the callback's function type (PROTOCOL_CM_OPEN_AF); None otherwise.
        kind: function, macro, callback or structure.
        area: the INDEX.md area ("registration/address family", "SAP", "VC", ...).
        role: who calls it, or for callbacks "NDIS -> <role that implements it>", or for
            structures the role that fills it in.
        irql: the documented IRQL requirement; None for structures.
        rules: the `req.ddi-compliance` rule names, in page order.
        min_ndis: the lowest NDIS version the page names ("5.1" or "6.0").
        page: the page's path relative to spec/, e.g. "ddi/nf-ndis-ndisclmakecall.md".
        condis: True for a CoNDIS DDI, False for a supporting NDIS lifecycle page.
    """

    name: str
    type_name: str | None
    kind: DdiKind
    area: str
    role: str
    irql: IrqlRequirement | None
    rules: tuple[str, ...]
    min_ndis: str
    page: str
    condis: bool

    @property
    def is_handler(self) -> bool:
        """True for a callback: a function the driver supplies and NDIS calls."""
        return self.kind is DdiKind.CALLBACK

    @property
    def primary_rule(self) -> str | None:
        """The rule to cite for an IRQL violation: the first Irql_* rule, else the first rule."""
        for rule in self.rules:
            if rule.startswith("Irql_"):
                return rule
        return self.rules[0] if self.rules else None


class UnknownDdiError(KeyError):
    """`entry` was asked for a name that spec/INDEX.md does not list."""

    def __str__(self) -> str:
        # KeyError's own __str__ shows repr(message); show the message as written.
        return str(self.args[0]) if self.args else ""


def _build() -> Mapping[str, DdiEntry]:
    table: dict[str, DdiEntry] = {}
    for name, type_name, kind, area, role, irql_text, rules, min_ndis, page, condis in ROWS:
        if name in table:
            raise ValueError(f"catalogue_data lists {name!r} twice")
        table[name] = DdiEntry(
            name=name,
            type_name=type_name,
            kind=DdiKind(kind),
            area=area,
            role=role,
            irql=IrqlRequirement.parse(irql_text),
            rules=rules,
            min_ndis=min_ndis,
            page=page,
            condis=condis,
        )
    return MappingProxyType(table)


CATALOGUE: Final[Mapping[str, DdiEntry]] = _build()
"""Every INDEX.md entry by name, in INDEX.md order (CoNDIS table first); read-only."""

_AREAS: Final[frozenset[str]] = frozenset(e.area for e in CATALOGUE.values())


def entry(name: str) -> DdiEntry:
    """Return the catalogue entry for `name`.

    Raises:
        UnknownDdiError: (a KeyError) `name` is not in spec/INDEX.md.
    """
    try:
        return CATALOGUE[name]
    except KeyError:
        raise UnknownDdiError(f"unknown DDI {name!r}: not in spec/INDEX.md") from None


def entries(
    *,
    kind: DdiKind | None = None,
    area: str | None = None,
    condis: bool | None = None,
) -> tuple[DdiEntry, ...]:
    """Return the entries matching every given filter, in INDEX.md order.

    Args:
        kind: keep only this kind.
        area: keep only this INDEX.md area.
        condis: True for the CoNDIS DDIs only, False for the supporting pages only.

    Raises:
        ValueError: `area` is not an area of INDEX.md (a typo would otherwise match nothing).
    """
    if area is not None and area not in _AREAS:
        raise ValueError(f"unknown area {area!r}; INDEX.md areas: {', '.join(sorted(_AREAS))}")
    return tuple(
        e
        for e in CATALOGUE.values()
        if (kind is None or e.kind is kind)
        and (area is None or e.area == area)
        and (condis is None or e.condis is condis)
    )


#: every IRQL, as an `IrqlRequirement.mask` (no requirement)
_ANY = IrqlRequirement.ANY_MASK


@functools.cache
def ddi_check(name: str) -> tuple[int, str | None]:
    """(mask of the IRQLs DDI `name` may be called at, its rule), worked out once: what
    the kernel checks on every call."""
    entry = CATALOGUE.get(name)
    if entry is None or entry.irql is None:
        return _ANY, None if entry is None else entry.primary_rule
    return entry.irql.mask, entry.primary_rule


@functools.cache
def handler_mask(name: str) -> int:
    """The IRQLs NDIS may call handler `name` at, from the catalogue, once."""
    entry = CATALOGUE.get(name)
    return _ANY if entry is None or entry.irql is None else entry.irql.mask
