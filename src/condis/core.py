"""What every entity engine is built with: the kernel, its operations and its resolver.

A host's engines (drivers.py, af.py, vc.py, ...) each receive the same
`Core` and whatever other engines they need, passed explicitly. `Engine`
is their common base: it gives `self.k` (kernel.py: frames, trace,
verifier, scheduler), `self.ops` (operations.py: the pend/complete
contract) and `self.resolve` (resolve.py: handles to records).
"""

from __future__ import annotations

from dataclasses import dataclass

from condis.kernel import Kernel
from condis.operations import Operations
from condis.resolve import Resolver

__all__ = ["Core", "Engine"]


@dataclass(frozen=True, slots=True)
class Core:
    kernel: Kernel
    ops: Operations
    resolve: Resolver

    @classmethod
    def of(cls, kernel: Kernel) -> Core:
        """The core around `kernel`: its operation table and its resolver."""
        return cls(kernel, Operations(kernel), Resolver(kernel))

    @classmethod
    def build(cls) -> Core:
        """A core around a default kernel (strict, FIFO, whole trace)."""
        return cls.of(Kernel())


class Engine:
    """Base of the entity engines: the kernel, the operation table, handle resolution."""

    __slots__ = ("k", "ops", "resolve")

    def __init__(self, core: Core) -> None:
        self.k = core.kernel
        self.ops = core.ops
        self.resolve = core.resolve
