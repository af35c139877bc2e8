"""The machinery every DDI and handler crossing goes through.

`NdisCore` is the part of the `Ndis` host that no single entity owns: the
execution contexts (who is running, at which IRQL), the trace, the verifier,
fault injection, the handle table and the scheduler. The completion contract
of pendable operations is completion.py's; the vocabulary of a crossing
(`Frame`, `DdiCall`, the `ddi` and `handler` registries) is crossing.py's.
Entity modules (drivers, adapters, bindings, address families, deferred
work) are mixins on top of it and call into it in a fixed pattern:

1. check Python types (TypeError / ValueError naming DDI and parameter);
2. `_resolve` each handle (stale, foreign, wrong-kind handles are
   violations);
3. `with self._begin(name, driver) as call:` attributes the DDI to the
   calling driver (a foreign caller is a violation), records the call and
   checks the IRQL against the DDI catalogue (spec/INDEX.md);
4. check the entity's state table; only then change state;
5. `return call.status(status)` (or `.void()`, `.result(value)`) records
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
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from condis.catalogue import CATALOGUE, IrqlRequirement
from condis.constants import DISPATCH_LEVEL, KIRQL, PASSIVE_LEVEL
from condis.crossing import DdiCall, Frame, Origin, Returns, summary
from condis.errors import BugCheck, CondisInternalError, SystemCrashed
from condis.handles import NDIS_HANDLE, HandleTable, Resolution, new_host_id
from condis.scheduler import Item, ItemKind, Policy, Scheduler
from condis.status import NDIS_STATUS, NDIS_STATUS_NOT_SUPPORTED
from condis.trace import Phase, RecordKind, Trace, TraceRecord
from condis.verifier import FaultInjector, Mode, Verifier
from condis.verifier.leaks import Leak

if TYPE_CHECKING:
    from condis.drivers import DriverBlock

__all__ = ["NdisCore"]


def _a(kind: str) -> str:
    """The kind with its article: 'an NdisAfHandle', 'a MiniportAdapterHandle'."""
    return ("an " if kind[0] in "AEIOUN" else "a ") + kind


class NdisCore:
    """Shared state and machinery of one simulated host (see module docstring)."""

    def __init__(self, *, policy: Policy | None = None, mode: Mode = Mode.STRICT) -> None:
        self._host = new_host_id()
        self.handles = HandleTable(self._host)
        self.trace = Trace()
        self.verifier = Verifier(mode=mode)
        self.faults = FaultInjector()
        self.scheduler = Scheduler() if policy is None else Scheduler(policy=policy)
        self._frames: list[Frame] = []
        self._crashed: BaseException | None = None
        self._depth = 0

    # --- host state ------------------------------------------------------------

    @property
    def crashed(self) -> BaseException | None:
        """The exception that stopped the host, or None while it runs."""
        return self._crashed

    @property
    def now(self) -> int:
        """Simulated system time, in 100-ns units."""
        return self.scheduler.now

    def _check_alive(self) -> None:
        if self._crashed is not None:
            raise SystemCrashed(f"the host stopped earlier: {self._crashed}") from self._crashed

    @property
    def current_irql(self) -> KIRQL:
        """The IRQL of the code running now (PASSIVE_LEVEL when nothing runs)."""
        return self._frames[-1].irql if self._frames else PASSIVE_LEVEL

    @property
    def current_driver(self) -> DriverBlock | None:
        """The driver whose code is running now, if any."""
        return self._frames[-1].driver if self._frames else None

    @contextmanager
    def driver_context(self, driver: DriverBlock, irql: KIRQL = PASSIVE_LEVEL) -> Iterator[None]:
        """Run the body as `driver`'s code at `irql`, as if on one of its threads.

        Tests and upper layers use this to call DDIs the way the driver would,
        for example at DISPATCH_LEVEL.
        """
        self._check_alive()
        if not isinstance(irql, KIRQL):
            raise TypeError(f"driver_context: irql must be a KIRQL, not {type(irql).__name__}")
        frame = Frame(driver, irql, "driver_context", Origin.EXTERNAL)
        self._frames.append(frame)
        try:
            yield
        finally:
            if self._frames and self._frames[-1] is frame:
                self._frames.pop()

    # --- invariants ------------------------------------------------------------

    def check_invariants(self) -> list[str]:
        """Every way the host's own tables disagree with each other; [] when sound.

        Each entity module adds the checks for its tables (`_invariants`).
        They hold between DDIs, in strict and collect mode alike, whatever the
        drivers did: a broken invariant is a bug in condis, not in a driver.
        Call it from outside driver code (no frame on the stack).
        """
        return list(self._invariants())

    def leaks(self) -> list[Leak]:
        """Everything drivers allocated through NDIS and still hold, oldest first.

        AFs, SAPs, VCs, calls, parties, pended operations, NBLs out of their
        owner's hands, work items, timers and spin locks held, each with
        the trace record where it first appeared (verifier/leaks.py). After
        every adapter has halted, anything here is a driver's leak.
        """
        found = list(self._leaks())
        firsts: dict[str, tuple[int, str]] = {}
        ops: dict[int, tuple[int, str]] = {}
        names: dict[int, str] = {}
        labels = {leak.label for leak in found}
        wanted_ops = {leak.op for leak in found if leak.op is not None}
        wanted_seqs = {leak.allocated_seq for leak in found if leak.allocated_seq is not None}
        for record in self.trace:
            for label in (record.handle, record.result):
                if label in labels and label not in firsts:
                    firsts[label] = (record.seq, record.name)
            if record.op in wanted_ops and record.op not in ops:
                ops[record.op] = (record.seq, record.name)
            if record.seq in wanted_seqs:
                names[record.seq] = record.name
        placed = []
        for leak in found:
            if leak.op is not None and leak.op in ops:
                leak = leak.placed(*ops[leak.op])
            elif leak.allocated_seq is not None:
                leak = leak.placed(leak.allocated_seq, names.get(leak.allocated_seq, "?"))
            elif leak.label in firsts:
                leak = leak.placed(*firsts[leak.label])
            placed.append(leak)
        return sorted(placed, key=lambda k: (k.allocated_seq is None, k.allocated_seq or 0))

    def _leaks(self) -> Iterator[Leak]:
        """Hook: yield what each entity module still holds for a driver."""
        return iter(())

    def _invariants(self) -> Iterator[str]:
        """Hook: yield one sentence per broken invariant."""
        if self._frames:
            yield f"{len(self._frames)} execution frame(s) left on the stack between DDIs"
        owners: dict[int, NDIS_HANDLE] = {}
        for handle, obj in self.handles.live():
            own = getattr(obj, "handle", None)
            if isinstance(own, type(handle)) and own is not handle:
                yield f"{handle.label} stands for an object whose handle is {own.label}"
            if own is handle:
                seen = owners.setdefault(id(obj), handle)
                if seen is not handle:
                    yield f"{handle.label} and {seen.label} stand for the same object"

    # --- trace -----------------------------------------------------------------

    def _record(
        self,
        phase: Phase,
        kind: RecordKind,
        name: str,
        driver: DriverBlock | None,
        *,
        handle: NDIS_HANDLE | None = None,
        status: NDIS_STATUS | None = None,
        result: str | None = None,
        op: int | None = None,
        args: Mapping[str, object] | None = None,
        irql: KIRQL | None = None,
    ) -> TraceRecord:
        # Depth is the nesting of calls: everything a DDI or handler does before
        # it returns is one deeper than its call record.
        if phase is Phase.CALL:
            depth = self._depth
            self._depth += 1
        else:
            self._depth = max(0, self._depth - 1)
            depth = self._depth
        record = TraceRecord(
            seq=self.trace.next_seq,
            phase=phase,
            kind=kind,
            name=name,
            driver=None if driver is None else driver.name,
            irql=self.current_irql if irql is None else irql,
            time=self.scheduler.now,
            depth=depth,
            handle=None if handle is None else handle.label,
            status=status,
            result=result,
            op=op,
            args=tuple((k, summary(v)) for k, v in (args or {}).items()),
        )
        self.trace.append(record)
        return record

    # --- verifier --------------------------------------------------------------

    def _violation(
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
            )
        except BugCheck as exc:
            if not refused:
                self._crashed = exc
            raise
        if fatal:
            crash = self.verifier.violations[-1].to_bugcheck()
            self._crashed = crash
            raise crash

    def _resolve(
        self, ddi_name: str, param: str, handle: object, kind: type[NDIS_HANDLE]
    ) -> object | None:
        """The object `handle` stands for, or None after reporting a violation.

        Raises TypeError if `handle` is not an NDIS handle at all.
        """
        self._check_alive()
        if handle is None:
            raise ValueError(f"{ddi_name}: {param} is required (got None)")
        if not isinstance(handle, NDIS_HANDLE):
            raise TypeError(
                f"{ddi_name}: {param} must be {_a(kind.KIND)} issued by NDIS, "
                f"not {type(handle).__name__}"
            )
        found = self.handles.resolve(handle, kind)
        if found is Resolution.OK:
            return self.handles.lookup(handle)
        rule_id, what = {
            Resolution.FOREIGN: ("NdisHandleForeign", "was not issued by this host"),
            Resolution.WRONG_KIND: ("NdisHandleWrongKind", f"is not {_a(kind.KIND)}"),
            Resolution.STALE: ("NdisHandleStale", "is no longer valid (closed)"),
        }[found]
        self._violation(
            rule_id,
            refused=True,
            ddi=ddi_name,
            driver=self.current_driver,
            handle=handle,
            detail=f"{param} {handle.label} {what}",
        )
        return None

    def _allocation_fails(self, point: str) -> bool:
        """Ask fault injection whether NDIS's allocation at `point` fails now."""
        return self.faults.should_fail(point, self.trace.next_seq)

    # --- DDI calls ---------------------------------------------------------------

    def _begin(
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
        """Start a DDI called by `driver` (see module docstring, step 3).

        `irql` and `rule` override the catalogue for DDIs spec/INDEX.md does not
        list (NdisWaitEvent and friends).
        """
        self._check_alive()
        pushed = False
        if not self._frames:
            frame = Frame(driver, PASSIVE_LEVEL, name, Origin.EXTERNAL)
            self._frames.append(frame)
            pushed = True
        else:
            frame = self._frames[-1]
        call = DdiCall(self, name, driver, frame, pushed, handle, op)
        self._record(Phase.CALL, RecordKind.DDI, name, driver, handle=handle, op=op, args=args)
        try:
            if (
                driver is not None
                and frame.driver is not None
                and frame.driver is not driver
                and not pushed
            ):
                self._violation(
                    "NdisHandleForeign",
                    refused=True,
                    ddi=name,
                    driver=frame.driver,
                    handle=handle,
                    detail=f"{frame.driver.name} passed a handle that belongs to {driver.name}",
                )
            entry = CATALOGUE.get(name)
            requirement = irql if irql is not None else (entry.irql if entry else None)
            rule_id = rule if rule is not None else (entry.primary_rule if entry else None)
            if requirement is not None and not requirement.allows(frame.irql):
                self._violation(
                    rule_id or "Irql_Miscellaneous_Function",
                    refused=True,
                    ddi=name,
                    driver=frame.driver or driver,
                    handle=handle,
                    detail=f"called at {frame.irql}; {name} requires IRQL {requirement}",
                )
        except BaseException:
            call.__exit__(None, None, None)
            raise
        return call

    # --- handler calls -------------------------------------------------------------

    def _invoke(
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
        self._check_alive()
        level = self.current_irql if irql is None else irql
        if fn is None:
            fn = self._missing_entry_point(driver, name, handle, returns)
        entry = CATALOGUE.get(name)
        # Above DISPATCH_LEVEL NDIS only runs because a driver called a DDI there, which
        # its IRQL rule has already reported; like Windows, NDIS calls on at that level.
        required = None if entry is None else entry.irql
        if required is not None and not required.allows(level) and level <= DISPATCH_LEVEL:
            raise CondisInternalError(
                f"NDIS would call {name} at {level}; its page says {required}"
            )
        frame = Frame(driver, level, name, Origin.HANDLER)
        self._frames.append(frame)
        depth0 = self._depth
        self._record(Phase.CALL, RecordKind.HANDLER, name, driver, handle=handle, op=op)
        status: NDIS_STATUS | None = None
        out: object = None
        try:
            result = fn(*args)
            if frame.locks:
                held = ", ".join(lock.label for lock in frame.locks)
                self._violation(
                    "SpinLock",
                    ddi=name,
                    driver=driver,
                    handle=handle,
                    detail=f"{name} returned to NDIS holding spin lock {held}",
                )
            if returns is Returns.STATUS_OUT and isinstance(result, tuple):
                if len(result) != 2:
                    raise TypeError(
                        f"{name} of {driver.name} returned {result!r}; "
                        f"it returns (NDIS_STATUS, value) or NDIS_STATUS"
                    )
                result, out = result
            if returns is Returns.VOID:
                if result is not None:
                    raise TypeError(f"{name} of {driver.name} returned {result!r}; it is VOID")
            elif isinstance(result, bool) or not isinstance(result, int):
                raise TypeError(
                    f"{name} of {driver.name} returned {result!r}; "
                    f"{name} must return an NDIS_STATUS"
                )
            else:
                status = NDIS_STATUS(result)
        except BaseException as exc:
            self._crashed = exc
            raise
        finally:
            if self._frames and self._frames[-1] is frame:
                self._frames.pop()
            self._depth = depth0 + 1
        self._record(
            Phase.RETURN,
            RecordKind.HANDLER,
            name,
            driver,
            handle=handle,
            status=status,
            op=op,
            irql=level,
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
        self._violation(
            "CoNdisMissingEntryPoint",
            ddi=name,
            driver=driver,
            handle=handle,
            detail=f"NDIS must call {name}, which {driver.name} did not register",
        )
        status = None if returns is Returns.VOID else NDIS_STATUS_NOT_SUPPORTED
        return lambda *args: status

    def _call_void(
        self,
        driver: DriverBlock,
        name: str,
        fn: Callable[..., Any] | None,
        *args: Any,
        handle: NDIS_HANDLE | None = None,
        op: int | None = None,
        irql: KIRQL | None = None,
    ) -> None:
        """`_invoke` for a VOID handler."""
        self._invoke(driver, name, fn, *args, handle=handle, op=op, irql=irql)

    def _call_status(
        self,
        driver: DriverBlock,
        name: str,
        fn: Callable[..., Any] | None,
        *args: Any,
        handle: NDIS_HANDLE | None = None,
        op: int | None = None,
        irql: KIRQL | None = None,
    ) -> NDIS_STATUS:
        """`_invoke` for a handler that returns an NDIS_STATUS."""
        status, _ = self._invoke(
            driver, name, fn, *args, handle=handle, op=op, irql=irql, returns=Returns.STATUS
        )
        assert status is not None
        return status

    # --- deferred work ---------------------------------------------------------------

    def _defer(
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
        origin = {
            ItemKind.NDIS: Origin.NDIS,
            ItemKind.WORK_ITEM: Origin.WORK_ITEM,
            ItemKind.TIMER: Origin.TIMER,
        }[kind]

        def run() -> None:
            self._check_alive()
            frame = Frame(owner, irql, label, origin)
            self._frames.append(frame)
            try:
                action()
                if frame.locks:
                    held = ", ".join(lock.label for lock in frame.locks)
                    self._violation(
                        "SpinLock",
                        ddi=label,
                        driver=owner,
                        detail=f"{label} returned holding spin lock {held}",
                    )
            except BaseException as exc:
                self._crashed = exc
                raise
            finally:
                if self._frames and self._frames[-1] is frame:
                    self._frames.pop()

        item.action = run
        if due is None:
            return self.scheduler.queue(item)
        return self.scheduler.at(due, item)

    def _call_passive(self, label: str, action: Callable[[], None]) -> Item | None:
        """Run `action` now if the current IRQL is PASSIVE_LEVEL, else defer it.

        Used where NDIS must call a PASSIVE_LEVEL handler as the consequence of
        a DDI that may be called at DISPATCH_LEVEL. Returns the queued item when
        the action was deferred (a caller may withdraw it and run the action
        itself), None when it has run.
        """
        if self.current_irql <= PASSIVE_LEVEL:
            action()
            return None
        return self._defer(label, action, irql=PASSIVE_LEVEL)

    # --- running the scheduler ---------------------------------------------------------

    def run(self, *, until: int | None = None) -> int:
        """Run deferred work (work items, timers, NDIS completions) until idle.

        Returns the number of items that ran. `until` stops the clock there.
        """
        self._check_alive()
        if self._frames:
            raise CondisInternalError("run() called from driver code; use NdisWaitEvent")
        return self.scheduler.run(until=until)

    def step(self) -> Item | None:
        """Run one deferred item; None if there was nothing to run."""
        self._check_alive()
        return self.scheduler.step()
