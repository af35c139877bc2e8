"""What every entity engine is built with: the kernel, its operations and its resolver.

A host's engines (drivers.py, af.py, vc.py, ...) each receive the same
`Core` and whatever other engines they need, passed explicitly. `Engine`
is their common base: it gives `self.k` (kernel.py: frames, trace,
verifier, scheduler), `self.ops` (operations.py: the pend/complete
contract) and `self.resolve` (resolve.py: handles to records).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from condis.kernel import Kernel
from condis.operations import Operations
from condis.resolve import Resolver
from condis.scheduler import Policy
from condis.trace import Trace
from condis.verifier import Mode

__all__ = ["Core", "Engine"]


@dataclass(frozen=True, slots=True)
class Core:
    kernel: Kernel
    ops: Operations
    resolve: Resolver

    @classmethod
    def build(
        cls,
        *,
        policy: Policy | None = None,
        mode: Mode = Mode.STRICT,
        watchdog_ms: int | None = None,
        trace: bool | Trace = True,
        trace_limit: int | None = None,
        trace_sink: TextIO | None = None,
    ) -> Core:
        kernel = Kernel(
            policy=policy,
            mode=mode,
            watchdog_ms=watchdog_ms,
            trace=trace,
            trace_limit=trace_limit,
            trace_sink=trace_sink,
        )
        return cls(kernel, Operations(kernel), Resolver(kernel))


class Engine:
    """Base of the entity engines: the kernel, the operation table, handle resolution."""

    __slots__ = ("k", "ops", "resolve")

    def __init__(self, core: Core) -> None:
        self.k = core.kernel
        self.ops = core.ops
        self.resolve = core.resolve
