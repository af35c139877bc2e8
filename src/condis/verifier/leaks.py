"""What a driver allocated through NDIS and has not given back.

Driver Verifier reports, when a driver unloads or an adapter halts, the
resources the driver still holds. `Ndis.leaks()` asks every entity module
for what is still allocated (each module knows its own tables) and places
each leak in the trace: the first record that names its handle, its
operation or its NBL is where it came from (the kernel stamps that record's
seq and name on the object as it records, so placing needs no trace kept).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["Leak"]


@dataclass(frozen=True, slots=True)
class Leak:
    """One thing still allocated: an AF, SAP, VC, call, party, NBL, operation..."""

    #: "AF", "SAP", "VC", "call", "party", "operation", "NBL", "work item", "timer", "spin lock"
    kind: str
    #: the handle's label (NdisVcHandle#3), or the operation or NBL it names
    label: str
    #: the driver that holds it (the one that must release it)
    driver: str | None
    detail: str
    #: the trace record where it first appeared, and that record's DDI or handler
    allocated_seq: int | None = None
    allocated_by: str | None = None
    #: for an operation: its id, as trace records carry it
    op: int | None = None

    def placed(self, seq: int, name: str) -> Leak:
        return replace(self, allocated_seq=seq, allocated_by=name)

    def at(self, born: tuple[int, str] | None) -> Leak:
        """Placed where the kernel saw it born, (seq, name), if it was seen."""
        return self if born is None else replace(self, allocated_seq=born[0], allocated_by=born[1])

    def describe(self) -> str:
        where = (
            ""
            if self.allocated_seq is None
            else f" (from #{self.allocated_seq} {self.allocated_by})"
        )
        who = f" held by {self.driver}" if self.driver else ""
        return f"{self.kind} {self.label}{who}: {self.detail}{where}"

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "label": self.label,
            "driver": self.driver,
            "detail": self.detail,
            "allocated_seq": self.allocated_seq,
            "allocated_by": self.allocated_by,
        }
