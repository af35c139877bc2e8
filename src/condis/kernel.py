"""The kernel: what every crossing between a driver and NDIS goes through.

`Kernel` is the part of a host that no entity owns: the execution contexts
(who is running, at which IRQL), the trace, the verifier, fault injection,
the handle table and the scheduler. Every entity engine holds the same
kernel (core.py) and crosses into drivers, and is crossed into, only
through it. The completion contract of pendable operations is
operations.py's, handle resolution resolve.py's; the vocabulary of a
crossing (`Frame`, `DdiCall`, `Returns`) is crossing.py's.

A DDI goes through the kernel in a fixed pattern:

1. check Python types (args.py: TypeError / ValueError naming the DDI and
   the parameter);
2. resolve each handle (resolve.py: stale, foreign, wrong-kind handles are
   violations);
3. ``with kernel.begin(name, driver) as call:`` attributes the DDI to the
   calling driver (a foreign caller is a violation), records the call and
   checks the IRQL against the DDI catalogue (spec/INDEX.md);
4. read the entity's row in machines.py; only then change state;
5. ``return call.status(status)`` (or `.void()`, `.result(value)`) records
   the return.

Nothing changes state before step 4 passes, which is how a rejected call
leaves the host exactly as it was.

Execution contexts. Windows runs driver code on threads and DPCs at some
IRQL; condis keeps a stack of `Frame`s instead. NDIS pushes a frame when it
calls a handler (at the IRQL the handler's page documents), when the
scheduler runs a work item (PASSIVE_LEVEL) or a timer (DISPATCH_LEVEL).
Spin locks raise and restore the IRQL of the frame that holds them. A DDI
called with no frame on the stack (a test, or an upper layer such as TAPI
calling into a driver) runs in a frame made for the call, attributed to the
driver that owns the handle, at PASSIVE_LEVEL unless `driver_context` says
otherwise.

A handler NDIS documents at PASSIVE_LEVEL is never called at DISPATCH_LEVEL:
if a driver completes an operation at DISPATCH_LEVEL whose completion
handler runs at PASSIVE_LEVEL (NdisCmOpenAddressFamilyComplete ->
ProtocolClOpenAfCompleteEx), NDIS queues the handler call as an NDIS work
item, as Windows does, and it runs when the scheduler next runs.

When an exception escapes a driver handler (a `BugCheck` or a bug in the
driver's Python), the NDIS operation that called the handler has been cut
short; the host is then down, as a machine is after a bug check, and every
later DDI raises `SystemCrashed`.

Waiting. Where NDIS itself must wait for a driver (a pended unbind at
adapter removal, a deregistration waiting for its bindings), `drive` runs
deferred work until the condition holds; it gives up when nothing left can
make it hold, when the watchdog time passes (DRIVE_LIMIT_MS of simulated
time when the watchdog is off: Windows's unbind watchdog has no documented
timeout, and ten minutes is far beyond any driver's need), or after
DRIVE_MAX_STEPS items (work that requeues itself without ever finishing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

from condis.catalogue import CATALOGUE, IrqlRequirement, ddi_check, handler_mask
from condis.constants import DISPATCH_LEVEL, KIRQL, PASSIVE_LEVEL
from condis.crossing import DdiCall, Frame, Origin, Returns
from condis.errors import BugCheck, CondisInternalError, SystemCrashed
from condis.evidence import driver_stack, live_handles
from condis.handles import NDIS_HANDLE, HandleTable, new_host_id
from condis.machines import Transition
from condis.recorder import Recorder, make_trace
from condis.records import DriverBlock
from condis.scheduler import TICKS_PER_MS, Item, ItemKind, Policy, Scheduler
from condis.status import NDIS_STATUS, NDIS_STATUS_NOT_SUPPORTED
from condis.trace import Trace
from condis.trace.records import (
    ROW_CALL,
    ROW_DDI,
    ROW_HANDLER,
    ROW_RETURN,
    handler_names,
)
from condis.verifier import FaultInjector, Mode, Verifier

__all__ = ["DRIVE_LIMIT_MS", "DRIVE_MAX_STEPS", "Kernel"]

#: How long NDIS waits, in simulated time, for a driver when the watchdog is off.
DRIVE_LIMIT_MS = 10 * 60 * 1000
#: How many deferred items NDIS runs while waiting before it gives up.
DRIVE_MAX_STEPS = 100_000

_CALL, _RETURN = ROW_CALL, ROW_RETURN
_DDI, _HANDLER_KIND = ROW_DDI, ROW_HANDLER
_EXTERNAL, _HANDLER = Origin.EXTERNAL, Origin.HANDLER
_VOID, _STATUS_OUT = Returns.VOID, Returns.STATUS_OUT
_ORIGINS = {
    ItemKind.NDIS: Origin.NDIS,
    ItemKind.WORK_ITEM: Origin.WORK_ITEM,
    ItemKind.TIMER: Origin.TIMER,
}


class Kernel:
    """Frames, trace, verifier, faults, handles and scheduler of one host."""

    # every crossing reads these: slots make each read a fixed offset
    __slots__ = (
        "_add",
        "_arg_names",
        "crashed",
        "depth",
        "faults",
        "frames",
        "handles",
        "host",
        "op_born",
        "row",
        "scheduler",
        "trace",
        "unborn",
        "verifier",
        "watchdog_ms",
    )

    def __init__(
        self,
        *,
        policy: Policy | None = None,
        mode: Mode = Mode.STRICT,
        watchdog_ms: int | None = None,
        trace: bool | Trace = True,
        trace_limit: int | None = None,
        trace_sink: TextIO | None = None,
    ) -> None:
        if watchdog_ms is not None and (
            isinstance(watchdog_ms, bool) or not isinstance(watchdog_ms, int) or watchdog_ms <= 0
        ):
            raise ValueError(
                f"Ndis: watchdog_ms must be a positive int or None, not {watchdog_ms!r}"
            )
        self.host = new_host_id()
        self.handles = HandleTable(self.host)
        self.trace = make_trace(trace, trace_limit, trace_sink)
        self.verifier = Verifier(mode=mode)
        self.faults = FaultInjector()
        self.scheduler = Scheduler() if policy is None else Scheduler(policy=policy)
        recorder = Recorder(self.trace, self.scheduler)
        #: record one crossing (recorder.py); the births it stamps, shared with the engines
        self.row = recorder.row
        self._add = recorder.add
        self.op_born = recorder.op_born
        self.unborn = recorder.unborn
        self._arg_names = recorder.arg_names
        #: simulated ms a pended operation may stay uncompleted (operations.py), or None
        self.watchdog_ms = watchdog_ms
        #: the execution contexts, innermost last
        self.frames: list[Frame] = []
        #: the exception that stopped the host, or None while it runs
        self.crashed: BaseException | None = None
        #: the nesting of calls in the trace
        self.depth = 0

    # --- host state --------------------------------------------------------------------------

    def check_alive(self) -> None:
        if self.crashed is not None:
            raise SystemCrashed(f"the host stopped earlier: {self.crashed}") from self.crashed

    @property
    def current_irql(self) -> KIRQL:
        """The IRQL of the code running now (PASSIVE_LEVEL when nothing runs)."""
        return self.frames[-1].irql if self.frames else PASSIVE_LEVEL

    @property
    def current_driver(self) -> DriverBlock | None:
        """The driver whose code is running now, if any."""
        return self.frames[-1].driver if self.frames else None

    @contextmanager
    def driver_context(self, driver: DriverBlock, irql: KIRQL = PASSIVE_LEVEL) -> Iterator[None]:
        """Run the body as `driver`'s code at `irql`, as if on one of its threads."""
        self.check_alive()
        if not isinstance(irql, KIRQL):
            raise TypeError(f"driver_context: irql must be a KIRQL, not {type(irql).__name__}")
        frame = Frame(driver, irql, "driver_context", Origin.EXTERNAL)
        self.frames.append(frame)
        try:
            yield
        finally:
            if self.frames and self.frames[-1] is frame:
                self.frames.pop()

    def invariants(self) -> Iterator[str]:
        """The kernel's own invariants: no frame left between DDIs, one handle per object."""
        if self.frames:
            yield f"{len(self.frames)} execution frame(s) left on the stack between DDIs"
        yield from self.handles.invariants()

    # --- trace ---------------------------------------------------------------------------------

    # --- verifier ------------------------------------------------------------------------------

    def violation(
        self,
        rule_id: str,
        *,
        ddi: str,
        driver: DriverBlock | None,
        handle: NDIS_HANDLE | None = None,
        detail: str,
        refused: bool = False,
        fatal: bool = False,
    ) -> None:
        """Report a broken rule (raises BugCheck in strict mode).

        `refused` marks a check made before the DDI changed anything: the
        call is refused and the host goes on. Any other violation in strict
        mode comes from the middle of an operation (after a handler ran, at
        teardown), so, like a real bug check, it stops the host. `fatal`
        marks what no host goes on from in either mode (a thread that would
        wait for ever): it is recorded and then stops the host in collect
        mode too.
        """
        try:
            self.verifier.violation(
                rule_id,
                ddi=ddi,
                driver=None if driver is None else driver.name,
                handle=None if handle is None else handle.label,
                detail=detail,
                seq=self.trace.next_seq,
                excerpt=self.trace.tail(12),
                stack=driver_stack(),
                live=live_handles(self.handles),
            )
        except BugCheck as exc:
            if not refused:
                self.crashed = exc
            raise
        if fatal:
            crash = self.verifier.violations[-1].to_bugcheck()
            self.crashed = crash
            raise crash

    def refuse(
        self,
        row: Transition[Any],
        *,
        ddi: str,
        driver: DriverBlock | None,
        handle: NDIS_HANDLE | None,
        detail: str,
    ) -> NDIS_STATUS:
        """Take a refusing row: report its rule, if any, and give the status the DDI returns."""
        if row.rule is not None:
            self.violation(
                row.rule, refused=True, ddi=ddi, driver=driver, handle=handle, detail=detail
            )
        return row.refusal

    def allocation_fails(self, point: str) -> bool:
        """Ask fault injection whether NDIS's allocation at `point` fails now."""
        return self.faults.should_fail(point, self.trace.next_seq)

    # --- DDI calls -----------------------------------------------------------------------------

    def begin(
        self,
        name: str,
        driver: DriverBlock | None,
        *,
        handle: NDIS_HANDLE | None = None,
        args: Mapping[str, object] | None = None,
        op: int | None = None,
        irql: IrqlRequirement | None = None,
        rule: str | None = None,
    ) -> DdiCall:
        """Start a DDI called by `driver` (module docstring, step 3).

        `irql` and `rule` override the catalogue for DDIs spec/INDEX.md does not
        list (NdisWaitEvent and friends).
        """
        if self.crashed is not None:
            self.check_alive()
        frames = self.frames
        if frames:
            frame = frames[-1]
            pushed = False
        else:
            frame = Frame(driver, PASSIVE_LEVEL, name, _EXTERNAL)
            frames.append(frame)
            pushed = True
        depth = self.depth
        self.depth = depth + 1
        level = frame.irql
        seq = self.row(_CALL, _DDI, name, driver, depth, handle, None, None, op, level, args)
        call = DdiCall(self, name, driver, frame, pushed, handle, op, depth, seq)
        caller = frame.driver
        allowed, rule_id = ddi_check(name)
        if irql is not None:
            allowed = irql.mask
        if rule is not None:
            rule_id = rule
        if (caller is None or caller is driver or driver is None or pushed) and (
            allowed >> level
        ) & 1:
            return call
        try:
            if driver is not None and caller is not None and caller is not driver and not pushed:
                self.violation(
                    "NdisHandleForeign",
                    refused=True,
                    ddi=name,
                    driver=caller,
                    handle=handle,
                    detail=f"{caller.name} passed a handle that belongs to {driver.name}",
                )
            if not (allowed >> level) & 1:
                requirement = irql if irql is not None else CATALOGUE[name].irql
                self.violation(
                    rule_id or "Irql_Miscellaneous_Function",
                    refused=True,
                    ddi=name,
                    driver=caller or driver,
                    handle=handle,
                    detail=f"called at {level}; {name} requires {requirement}",
                )
        except BaseException:
            call.__exit__(None, None, None)
            raise
        return call

    # --- handler calls -------------------------------------------------------------------------

    def invoke(
        self,
        driver: DriverBlock,
        name: str,
        fn: Callable[..., Any] | None,
        *args: Any,
        handle: NDIS_HANDLE | None = None,
        op: int | None = None,
        returns: Returns = Returns.VOID,
        irql: KIRQL | None = None,
    ) -> tuple[NDIS_STATUS | None, object]:
        """Call driver entry point `name` (= `fn`) with `args` at the right IRQL.

        `returns` says what the WDK handler returns: VOID, an NDIS_STATUS, or
        an NDIS_STATUS plus an out-parameter. A handler with an out-parameter
        (ProtocolCmOpenAf's CallMgrAfContext) returns ``(status, value)``, or
        just ``status`` when it has no value to give (PENDING, a failure).
        Returns (status or None, out-value or None).
        """
        if self.crashed is not None:
            self.check_alive()
        frames = self.frames
        level = irql if irql is not None else frames[-1].irql if frames else PASSIVE_LEVEL
        if fn is None:
            fn = self._missing_entry_point(driver, name, handle, returns)
        # Above DISPATCH_LEVEL NDIS only runs because a driver called a DDI there, which
        # its IRQL rule has already reported; like Windows, NDIS calls on at that level.
        if not (handler_mask(name) >> level) & 1 and level <= DISPATCH_LEVEL:
            raise CondisInternalError(
                f"NDIS would call {name} at {level}; its page says {CATALOGUE[name].irql}"
            )
        frame = Frame(driver, level, name, _HANDLER)
        frames.append(frame)
        depth0 = self.depth
        self.depth = depth0 + 1
        if self._add is None:
            seq = self.row(
                _CALL, _HANDLER_KIND, name, driver, depth0, handle, None, None, op, level
            )
        else:
            names = self._arg_names.get(fn)
            if names is None:
                names = self._arg_names[fn] = handler_names(fn)
            seq = self.row(
                _CALL, _HANDLER_KIND, name, driver, depth0, handle, None, None, op, level, names,
                None, args,
            )  # fmt: skip
        status: NDIS_STATUS | None = None
        out: object = None
        try:
            result = fn(*args)
            if frame.locks:
                held = ", ".join(lock.label for lock in frame.locks)
                self.violation(
                    "SpinLock",
                    ddi=name,
                    driver=driver,
                    handle=handle,
                    detail=f"{name} returned to NDIS holding spin lock {held}",
                )
            if returns is _VOID:
                if result is not None:
                    raise TypeError(f"{name} of {driver.name} returned {result!r}; it is VOID")
            else:
                if returns is _STATUS_OUT and type(result) is tuple:
                    if len(result) != 2:
                        raise TypeError(
                            f"{name} of {driver.name} returned {result!r}; "
                            f"it returns (NDIS_STATUS, value) or NDIS_STATUS"
                        )
                    result, out = result
                if type(result) is NDIS_STATUS:
                    status = result
                elif isinstance(result, bool) or not isinstance(result, int):
                    raise TypeError(
                        f"{name} of {driver.name} returned {result!r}; "
                        f"{name} must return an NDIS_STATUS"
                    )
                else:
                    status = NDIS_STATUS(result)
        except BaseException as exc:
            self.crashed = exc
            raise
        finally:
            if frames and frames[-1] is frame:
                frames.pop()
            self.depth = depth0
        self.row(
            _RETURN, _HANDLER_KIND, name, driver, depth0, handle, status, None, op, level, None, seq
        )
        return status, out

    def _missing_entry_point(
        self, driver: DriverBlock, name: str, handle: NDIS_HANDLE | None, returns: Returns
    ) -> Callable[..., Any]:
        """NDIS must call a handler the driver did not register.

        The optional-handler pages say a client or call manager "must set
        every entry point", with placeholders that return
        NDIS_STATUS_NOT_SUPPORTED; Windows would call through a NULL pointer.
        condis reports CoNdisMissingEntryPoint (in strict mode the host stops,
        as it would) and, in collect mode, calls the placeholder the page asks
        for in its place: NDIS_STATUS_NOT_SUPPORTED, or nothing for a VOID
        handler.
        """
        self.violation(
            "CoNdisMissingEntryPoint",
            ddi=name,
            driver=driver,
            handle=handle,
            detail=f"NDIS must call {name}, which {driver.name} did not register",
        )
        status = None if returns is Returns.VOID else NDIS_STATUS_NOT_SUPPORTED
        return lambda *args: status

    def call_void(
        self,
        driver: DriverBlock,
        name: str,
        fn: Callable[..., Any] | None,
        *args: Any,
        handle: NDIS_HANDLE | None = None,
        op: int | None = None,
        irql: KIRQL | None = None,
    ) -> None:
        """`invoke` for a VOID handler."""
        self.invoke(driver, name, fn, *args, handle=handle, op=op, irql=irql)

    def call_status(
        self,
        driver: DriverBlock,
        name: str,
        fn: Callable[..., Any] | None,
        *args: Any,
        handle: NDIS_HANDLE | None = None,
        op: int | None = None,
        irql: KIRQL | None = None,
    ) -> NDIS_STATUS:
        """`invoke` for a handler that returns an NDIS_STATUS."""
        status, _ = self.invoke(
            driver, name, fn, *args, handle=handle, op=op, irql=irql, returns=Returns.STATUS
        )
        assert status is not None
        return status

    # --- deferred work -------------------------------------------------------------------------

    def defer(
        self,
        label: str,
        action: Callable[[], None],
        *,
        irql: KIRQL = PASSIVE_LEVEL,
        owner: DriverBlock | None = None,
        kind: ItemKind = ItemKind.NDIS,
        due: int | None = None,
    ) -> Item:
        """Queue work to run later in its own frame (NDIS's own when owner is None)."""
        item = Item(label, kind, irql, lambda: None, owner=None if owner is None else owner.name)
        origin = _ORIGINS[kind]

        def run() -> None:
            self.check_alive()
            frame = Frame(owner, irql, label, origin)
            self.frames.append(frame)
            try:
                action()
                if frame.locks:
                    held = ", ".join(lock.label for lock in frame.locks)
                    self.violation(
                        "SpinLock",
                        ddi=label,
                        driver=owner,
                        detail=f"{label} returned holding spin lock {held}",
                    )
            except BaseException as exc:
                self.crashed = exc
                raise
            finally:
                if self.frames and self.frames[-1] is frame:
                    self.frames.pop()

        item.action = run
        if due is None:
            return self.scheduler.queue(item)
        return self.scheduler.at(due, item)

    def call_passive(self, label: str, action: Callable[[], None]) -> Item | None:
        """Run `action` now if the current IRQL is PASSIVE_LEVEL, else defer it.

        Used where NDIS must call a PASSIVE_LEVEL handler as the consequence of
        a DDI that may be called at DISPATCH_LEVEL. Returns the queued item when
        the action was deferred (a caller may withdraw it and run the action
        itself), None when it has run.
        """
        if self.current_irql <= PASSIVE_LEVEL:
            action()
            return None
        return self.defer(label, action, irql=PASSIVE_LEVEL)

    # --- running the scheduler -----------------------------------------------------------------

    def run(self, *, until: int | None = None) -> int:
        """Run deferred work (work items, timers, NDIS completions) until idle."""
        self.check_alive()
        if self.frames:
            raise CondisInternalError("run() called from driver code; use NdisWaitEvent")
        return self.scheduler.run(until=until)

    def step(self) -> Item | None:
        """Run one deferred item; None if there was nothing to run."""
        self.check_alive()
        return self.scheduler.step()

    def drive(self, done: Callable[[], bool]) -> bool:
        """Run deferred work until `done()` holds; False when NDIS stops waiting
        (module docstring)."""
        limit_ms = DRIVE_LIMIT_MS if self.watchdog_ms is None else self.watchdog_ms
        until = self.scheduler.now + limit_ms * TICKS_PER_MS
        for _ in range(DRIVE_MAX_STEPS):
            if done():
                return True
            if self.scheduler.step(until=until) is None:
                return False
        return done()
