"""Driver registration and NdisSetOptionalHandlers (drivers.py).

Pages: nf-ndis-ndismregisterminiportdriver, nf-ndis-ndisregisterprotocoldriver,
nc-ndis-set_options, nf-ndis-ndissetoptionalhandlers. Adapters are in
test_adapters.py, bindings in test_bindings.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from condis import (
    DRIVER_OBJECT,
    NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS,
    NDIS_CO_CLIENT_OPTIONAL_HANDLERS,
    NDIS_MINIPORT_CO_CHARACTERISTICS,
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
    NDIS_PROTOCOL_CO_CHARACTERISTICS,
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS,
    NDIS_STATUS,
    NDIS_STATUS_BAD_CHARACTERISTICS,
    NDIS_STATUS_BAD_VERSION,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_NOT_ACCEPTED,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
    PASSIVE_LEVEL,
    BugCheck,
    Mode,
    Ndis,
    SystemCrashed,
)
from condis.constants import NDIS_OBJECT_TYPE_CO_CLIENT_OPTIONAL_HANDLERS
from condis.constants import NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS as MINIPORT_TYPE
from condis.constants import NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS as PROTOCOL_TYPE
from condis.driver import build_characteristics
from condis.handles import DriverHandle
from condis.samples import SampleClient, SampleCoMiniport, SampleMcm
from util import mcm_host, names, records

SUCCESS = NDIS_STATUS_SUCCESS


def _noop(*args: Any) -> None:
    return None


CO = dict.fromkeys(("CoAfRegisterNotifyHandler",), _noop)
CLIENT = dict.fromkeys(
    ("ClOpenAfCompleteHandlerEx", "ClCloseAfCompleteHandler", "ClNotifyCloseAfHandler"), _noop
)
CM = dict.fromkeys(("CmOpenAfHandler", "CmCloseAfHandler", "CmNotifyCloseAfCompleteHandler"), _noop)


def co_chars(**kw: Any) -> NDIS_PROTOCOL_CO_CHARACTERISTICS:
    return NDIS_PROTOCOL_CO_CHARACTERISTICS(**{**CO, **kw})


def client_handlers(**kw: Any) -> NDIS_CO_CLIENT_OPTIONAL_HANDLERS:
    return NDIS_CO_CLIENT_OPTIONAL_HANDLERS(**{**CLIENT, **kw})


def cm_handlers(**kw: Any) -> NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS:
    return NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS(**{**CM, **kw})


SetOptions = Callable[[Any, DriverHandle], int]


def register(*structs: Callable[[], object]) -> SetOptions:
    """An XxxSetOptions that registers each structure, records each status, and succeeds."""

    def set_options(driver: Any, handle: DriverHandle) -> int:
        for make in structs:
            driver.option_statuses.append(driver.ndis.NdisSetOptionalHandlers(handle, make()))
        return SUCCESS

    return set_options


class _Hooks:
    """What both test drivers share: one registration mistake per test, chosen by arguments."""

    def __init__(
        self,
        ndis: Ndis,
        *,
        edit: Callable[[Any], None] | None = None,
        twice: bool = False,
        options: SetOptions | None = None,
        entry_status: int | None = None,
        deregister: bool = True,
    ) -> None:
        super().__init__(ndis)
        self.edit, self.twice, self.options = edit, twice, options
        self.entry_status, self.deregister = entry_status, deregister
        self.results: list[tuple[NDIS_STATUS, DriverHandle | None]] = []
        self.option_statuses: list[NDIS_STATUS] = []
        self.option_handles: list[DriverHandle] = []
        self.chars: Any = None

    def _entry(
        self,
        register_once: Callable[[], tuple[NDIS_STATUS, DriverHandle | None]],
        deregister: Callable[[DriverHandle], None],
    ) -> int:
        if self.edit is not None:
            self.edit(self.chars)
        for _ in range(2 if self.twice else 1):
            self.results.append(register_once())
        status, self.driver_handle = self.results[0]
        if self.entry_status is None:
            return status
        if self.deregister and self.driver_handle is not None:  # as the pages require
            deregister(self.driver_handle)
        return self.entry_status

    def _options(self, handle: DriverHandle, default: Callable[[], NDIS_STATUS]) -> int:
        self.option_handles.append(handle)
        return default() if self.options is None else self.options(self, handle)


class Miniport(_Hooks, SampleCoMiniport):
    """The sample CoNDIS miniport, building its characteristics by hand in DriverEntry."""

    def DriverEntry(self, DriverObject: DRIVER_OBJECT, RegistryPath: str) -> int:
        self.driver_object = DriverObject
        self.chars = build_characteristics(NDIS_MINIPORT_DRIVER_CHARACTERISTICS, self)
        return self._entry(
            lambda: self.ndis.NdisMRegisterMiniportDriver(
                DriverObject, RegistryPath, self, self.chars
            ),
            self.ndis.NdisMDeregisterMiniportDriver,
        )

    def MiniportSetOptions(self, NdisDriverHandle: DriverHandle, DriverContext: object) -> int:
        return self._options(
            NdisDriverHandle,
            lambda: super(Miniport, self).MiniportSetOptions(NdisDriverHandle, DriverContext),
        )


class Protocol(_Hooks, SampleClient):
    """The sample client, building its characteristics by hand in DriverEntry."""

    def DriverEntry(self, DriverObject: DRIVER_OBJECT, RegistryPath: str) -> int:
        self.driver_object = DriverObject
        self.chars = build_characteristics(NDIS_PROTOCOL_DRIVER_CHARACTERISTICS, self)
        self.chars.Name = DriverObject.DriverName
        return self._entry(
            lambda: self.ndis.NdisRegisterProtocolDriver(self, self.chars),
            self.ndis.NdisDeregisterProtocolDriver,
        )

    def ProtocolSetOptions(self, NdisDriverHandle: DriverHandle, DriverContext: object) -> int:
        return self._options(
            NdisDriverHandle,
            lambda: super(Protocol, self).ProtocolSetOptions(NdisDriverHandle, DriverContext),
        )


def rows(ndis: Ndis) -> list[tuple[str, str, int, NDIS_STATUS | None]]:
    return [(r.phase.value, r.name, r.depth, r.status) for r in ndis.trace]


def assert_not_loaded(ndis: Ndis, name: str) -> None:
    assert ndis.drivers == ()
    with pytest.raises(KeyError):
        ndis.driver(name)
    assert [h for h in ndis.snapshot()["handles"] if h.startswith("NdisDriverHandle")] == []


def set_field(name: str, value: object) -> Callable[[Any], None]:
    return lambda chars: setattr(chars, name, value)


def set_type(value: int) -> Callable[[Any], None]:
    return lambda chars: setattr(chars.Header, "Type", value)


REFUSED = [
    (Miniport, set_field("MajorNdisVersion", 5), None, NDIS_STATUS_BAD_VERSION),
    (Miniport, set_field("MajorNdisVersion", 7), None, NDIS_STATUS_BAD_VERSION),
    (Miniport, set_field("HaltHandlerEx", None), None, NDIS_STATUS_BAD_CHARACTERISTICS),
    (Miniport, set_field("InitializeHandlerEx", None), None, NDIS_STATUS_BAD_CHARACTERISTICS),
    (Miniport, set_type(PROTOCOL_TYPE), None, NDIS_STATUS_BAD_CHARACTERISTICS),
    (Miniport, None, "NdisMRegisterMiniportDriver", NDIS_STATUS_RESOURCES),
    (Protocol, set_field("MajorNdisVersion", 5), None, NDIS_STATUS_BAD_VERSION),
    (Protocol, set_field("BindAdapterHandlerEx", None), None, NDIS_STATUS_BAD_CHARACTERISTICS),
    (Protocol, set_field("UnbindAdapterHandlerEx", None), None, NDIS_STATUS_BAD_CHARACTERISTICS),
    (
        Protocol,
        set_field("OpenAdapterCompleteHandlerEx", None),
        None,
        NDIS_STATUS_BAD_CHARACTERISTICS,
    ),
    (
        Protocol,
        set_field("CloseAdapterCompleteHandlerEx", None),
        None,
        NDIS_STATUS_BAD_CHARACTERISTICS,
    ),
    (Protocol, set_type(MINIPORT_TYPE), None, NDIS_STATUS_BAD_CHARACTERISTICS),
    (Protocol, None, "NdisRegisterProtocolDriver", NDIS_STATUS_RESOURCES),
]
REFUSED_IDS = [
    *("miniport-" + i for i in ("v5", "v7", "no-halt", "no-init", "wrong-type", "resources")),
    *("protocol-" + i for i in ("v5", "no-bind", "no-unbind", "no-open-complete")),
    *("protocol-" + i for i in ("no-close-complete", "wrong-type", "resources")),
]


class TestRegistration:
    """NdisMRegisterMiniportDriver and NdisRegisterProtocolDriver, and their return codes."""

    def test_miniport_success_runs_set_options_inside_the_registration(self) -> None:
        ndis = Ndis()
        mp = Miniport(ndis)
        assert ndis.load_driver(mp, "mp") == SUCCESS
        assert rows(ndis) == [
            ("call", "DriverEntry", 0, None),
            ("call", "NdisMRegisterMiniportDriver", 1, None),
            ("call", "MiniportSetOptions", 2, None),
            ("call", "NdisSetOptionalHandlers", 3, None),
            ("return", "NdisSetOptionalHandlers", 3, SUCCESS),
            ("return", "MiniportSetOptions", 2, SUCCESS),
            ("return", "NdisMRegisterMiniportDriver", 1, SUCCESS),
            ("return", "DriverEntry", 0, SUCCESS),
        ]
        assert {(r.driver, r.irql) for r in ndis.trace} == {("mp", PASSIVE_LEVEL)}
        block = ndis.driver("mp")
        assert mp.results == [(SUCCESS, block.handle)] and mp.option_handles == [block.handle]
        assert ndis.trace[6].handle == block.handle.label == "NdisDriverHandle#1"
        assert (block.context, block.roles) == (mp, ("CoNDIS miniport",))

    def test_protocol_success_runs_set_options_inside_the_registration(self) -> None:
        ndis = Ndis()
        p = Protocol(ndis)
        assert ndis.load_driver(p, "p") == SUCCESS
        # NDIS_PROTOCOL_CO_CHARACTERISTICS, then NDIS_CO_CLIENT_OPTIONAL_HANDLERS
        assert rows(ndis)[:4] + rows(ndis)[-5:] == [
            ("call", "DriverEntry", 0, None),
            ("call", "NdisRegisterProtocolDriver", 1, None),
            ("call", "ProtocolSetOptions", 2, None),
            ("call", "NdisSetOptionalHandlers", 3, None),
            ("call", "NdisSetOptionalHandlers", 3, None),
            ("return", "NdisSetOptionalHandlers", 3, SUCCESS),
            ("return", "ProtocolSetOptions", 2, SUCCESS),
            ("return", "NdisRegisterProtocolDriver", 1, SUCCESS),
            ("return", "DriverEntry", 0, SUCCESS),
        ]
        block = ndis.driver("p")
        assert p.results == [(SUCCESS, block.handle)]
        assert (block.context, block.roles) == (p, ("client",))

    @pytest.mark.parametrize(("cls", "edit", "fault", "status"), REFUSED, ids=REFUSED_IDS)
    def test_refused(
        self, cls: type[_Hooks], edit: Callable[[Any], None] | None, fault: str | None, status: int
    ) -> None:
        ndis = Ndis()
        if fault is not None:
            ndis.faults.fail(fault)
        drv = cls(ndis, edit=edit)
        assert ndis.load_driver(drv, "d") == status
        assert drv.results == [(status, None)]
        # XxxSetOptions never runs: so a pre-6.0 miniport never reaches
        # NdisSetOptionalHandlers, whose NDIS_STATUS_NOT_SUPPORTED is unreachable.
        assert drv.option_handles == []
        assert_not_loaded(ndis, "d")
        assert ndis.load_driver(cls(ndis), "d") == SUCCESS

    @pytest.mark.parametrize("cls", [Miniport, Protocol])
    def test_second_registration_fails(self, cls: type[_Hooks]) -> None:
        ndis = Ndis()
        drv = cls(ndis, twice=True)
        assert ndis.load_driver(drv, "d") == SUCCESS
        block = ndis.driver("d")
        assert drv.results == [(SUCCESS, block.handle), (NDIS_STATUS_FAILURE, None)]
        assert len(drv.option_handles) == 1
        assert block.roles in (("CoNDIS miniport",), ("client",))

    @pytest.mark.parametrize(
        ("cls", "struct"),
        [(Miniport, NDIS_MINIPORT_CO_CHARACTERISTICS), (Protocol, co_chars)],
        ids=["miniport", "protocol"],
    )
    def test_failing_set_options_status_propagates(
        self, cls: type[_Hooks], struct: Callable[[], object]
    ) -> None:
        def options(driver: Any, handle: DriverHandle) -> int:
            register(struct)(driver, handle)
            return NDIS_STATUS_NOT_ACCEPTED

        ndis = Ndis()
        drv = cls(ndis, options=options)
        assert ndis.load_driver(drv, "d") == NDIS_STATUS_NOT_ACCEPTED
        assert drv.option_statuses == [SUCCESS]
        assert drv.results == [(NDIS_STATUS_NOT_ACCEPTED, None)]
        # XxxSetOptions, NdisXxxRegisterXxxDriver and DriverEntry all return its status
        assert [(r.depth, r.status) for r in ndis.trace[-3:]] == [
            (2, NDIS_STATUS_NOT_ACCEPTED),
            (1, NDIS_STATUS_NOT_ACCEPTED),
            (0, NDIS_STATUS_NOT_ACCEPTED),
        ]
        assert_not_loaded(ndis, "d")
        # NDIS forgot the driver: the handle XxxSetOptions had is stale.
        with pytest.raises(BugCheck) as e:
            ndis.NdisSetOptionalHandlers(drv.option_handles[0], struct())
        assert (e.value.rule, e.value.ddi) == ("NdisHandleStale", "NdisSetOptionalHandlers")

    def test_driver_that_ignores_a_failed_registration_is_no_miniport(self) -> None:
        ndis = Ndis()
        mp = Miniport(ndis, options=lambda d, h: NDIS_STATUS_FAILURE, entry_status=SUCCESS)
        assert ndis.load_driver(mp, "mp") == SUCCESS
        block = ndis.driver("mp")
        assert (block.roles, block.handle, block.is_co_miniport) == ((), None, False)
        with pytest.raises(ValueError, match=r"^add_adapter: mp did not register as a miniport"):
            ndis.add_adapter("mp", "a0")

    def test_ndis_keeps_its_own_copy_of_the_characteristics(self) -> None:
        """The page: NDIS copies the structure, so later edits by the driver change nothing."""
        ndis = Ndis()
        mp = Miniport(ndis)
        ndis.load_driver(mp, "mp")
        mp.chars.InitializeHandlerEx = lambda *args: NDIS_STATUS_FAILURE
        mp.chars.HaltHandlerEx = None
        assert ndis.add_adapter("mp", "a0").is_up
        ndis.halt_adapter("a0")
        assert [r.status for r in records(ndis, "MiniportInitializeEx", "return")] == [SUCCESS]
        assert len(records(ndis, "MiniportHaltEx", "return")) == 1

    def test_non_callable_handler_is_a_driver_bug_that_stops_the_host(self) -> None:
        ndis = Ndis()
        mp = Miniport(ndis, edit=set_field("HaltHandlerEx", 42))
        with pytest.raises(
            TypeError,
            match=r"^NdisMRegisterMiniportDriver: NDIS_MINIPORT_DRIVER_CHARACTERISTICS"
            r"\.HaltHandlerEx must be callable or None, not int$",
        ):
            ndis.load_driver(mp, "mp")
        assert isinstance(ndis.crashed, TypeError)
        with pytest.raises(SystemCrashed):
            ndis.load_driver(Miniport(ndis), "mp2")

    def test_argument_errors(self) -> None:
        ndis, _, client = mcm_host()
        mp = ndis.driver("samplemcm")
        chars = build_characteristics(NDIS_PROTOCOL_DRIVER_CHARACTERISTICS, client)
        before, length = ndis.snapshot(), len(ndis.trace)
        reg = "^NdisMRegisterMiniportDriver: "
        with pytest.raises(TypeError, match=reg + "MiniportDriverCharacteristics must be an "):
            ndis.NdisMRegisterMiniportDriver(mp.driver_object, "", None, chars)
        with pytest.raises(TypeError, match=reg + "DriverObject must be the DRIVER_OBJECT given"):
            ndis.NdisMRegisterMiniportDriver("mp", "", None, mp.miniport_chars)
        with pytest.raises(ValueError, match=reg + "DriverObject 'ghost' is not loaded$"):
            ndis.NdisMRegisterMiniportDriver(DRIVER_OBJECT("ghost"), "", None, mp.miniport_chars)
        with pytest.raises(
            TypeError,
            match=r"^NdisRegisterProtocolDriver: ProtocolCharacteristics must be an "
            r"NDIS_PROTOCOL_DRIVER_CHARACTERISTICS, not NDIS_MINIPORT_DRIVER_CHARACTERISTICS$",
        ):
            ndis.NdisRegisterProtocolDriver(None, mp.miniport_chars)
        # "A protocol driver calls NdisRegisterProtocolDriver from its DriverEntry routine."
        outside = r"^NdisRegisterProtocolDriver: must be called from the driver's DriverEntry$"
        with pytest.raises(ValueError, match=outside):
            ndis.NdisRegisterProtocolDriver(None, chars)
        with ndis.driver_context(ndis.driver("sampleclient")), pytest.raises(ValueError):
            ndis.NdisRegisterProtocolDriver(None, chars)
        assert (ndis.snapshot(), len(ndis.trace), ndis.crashed) == (before, length, None)


class TestDriverEntryFailure:
    """A DriverEntry that fails leaves no driver loaded, whatever it registered."""

    def test_miniport_registered_then_failed(self) -> None:
        ndis = Ndis()
        mp = Miniport(ndis, entry_status=NDIS_STATUS_FAILURE)
        assert ndis.load_driver(mp, "mp") == NDIS_STATUS_FAILURE
        assert mp.results[0][0] == SUCCESS
        assert_not_loaded(ndis, "mp")
        with pytest.raises(BugCheck) as e:
            ndis.NdisSetOptionalHandlers(mp.results[0][1], NDIS_MINIPORT_CO_CHARACTERISTICS())
        assert e.value.rule == "NdisHandleStale"
        with pytest.raises(KeyError):
            ndis.add_adapter("mp", "a0")
        assert ndis.load_driver(Miniport(ndis), "mp") == SUCCESS  # the name is free again

    def test_protocol_registered_then_failed_is_never_bound(self) -> None:
        ndis, _, _ = mcm_host(client=False)
        p = Protocol(ndis, entry_status=NDIS_STATUS_RESOURCES)
        assert ndis.load_driver(p, "p") == NDIS_STATUS_RESOURCES
        assert [d.name for d in ndis.drivers] == ["samplemcm"]
        assert ("ProtocolBindAdapterEx" not in names(ndis), ndis.bindings) == (True, ())

    @pytest.mark.parametrize(
        ("kind", "deregister"),
        [
            (Miniport, "NdisMDeregisterMiniportDriver"),
            (Protocol, "NdisDeregisterProtocolDriver"),
        ],
    )
    def test_failing_without_deregistering(self, kind: type[_Hooks], deregister: str) -> None:
        """NdisDriverUnloadLeak; NDIS forgets the driver all the same."""
        ndis = Ndis(mode=Mode.COLLECT)
        driver = kind(ndis, entry_status=NDIS_STATUS_FAILURE, deregister=False)
        assert ndis.load_driver(driver, "d") == NDIS_STATUS_FAILURE
        (v,) = ndis.verifier.violations
        assert (v.rule, v.ddi, v.driver) == ("NdisDriverUnloadLeak", "DriverEntry", "d")
        assert v.detail == f"DriverEntry failed (NDIS_STATUS_FAILURE) without calling {deregister}"
        assert_not_loaded(ndis, "d")
        assert ndis.check_invariants() == []

    def test_load_driver_argument_errors(self) -> None:
        ndis = Ndis()
        ndis.load_driver(Miniport(ndis), "mp")
        before = ndis.snapshot()
        with pytest.raises(ValueError, match=r"^load_driver: a driver named 'mp' is already "):
            ndis.load_driver(Miniport(ndis), "mp")
        with pytest.raises(TypeError, match=r"^load_driver: driver must have a DriverEntry "):
            ndis.load_driver(42, "x")
        assert ndis.snapshot() == before


def loaded(kind: str, *structs: Callable[[], object]) -> tuple[Ndis, _Hooks]:
    """A host with a Miniport 'mp' or Protocol 'p' that registers `structs` in XxxSetOptions."""
    ndis = Ndis()
    drv = (Miniport if kind == "miniport" else Protocol)(ndis, options=register(*structs))
    assert ndis.load_driver(drv, "p" if kind == "protocol" else "mp") == SUCCESS
    return ndis, drv


def mislabelled() -> object:
    cm = cm_handlers()
    cm.Header.Type = NDIS_OBJECT_TYPE_CO_CLIENT_OPTIONAL_HANDLERS
    return cm


MP_CO = NDIS_MINIPORT_CO_CHARACTERISTICS


class TestOptionalHandlers:
    """NdisSetOptionalHandlers: which structures each driver type may register."""

    @pytest.mark.parametrize(
        ("kind", "structs", "roles"),
        [
            ("protocol", (co_chars,), ("protocol",)),
            ("protocol", (co_chars, client_handlers), ("client",)),
            ("protocol", (co_chars, cm_handlers), ("call manager",)),
            ("protocol", (co_chars, client_handlers, cm_handlers), ("client", "call manager")),
            ("miniport", (), ("miniport",)),
            ("miniport", (MP_CO,), ("CoNDIS miniport",)),
            ("miniport", (MP_CO, cm_handlers), ("MCM",)),
        ],
        ids=["co", "client", "call-manager", "client+cm", "miniport", "co-miniport", "mcm"],
    )
    def test_allowed_structures(
        self, kind: str, structs: tuple[Callable[[], object], ...], roles: tuple[str, ...]
    ) -> None:
        ndis, drv = loaded(kind, *structs)
        assert drv.option_statuses == [SUCCESS] * len(structs)
        block = ndis.drivers[0]
        assert (block.roles, block.is_mcm) == (roles, roles == ("MCM",))
        assert (block.is_client, block.is_call_manager) == (
            "client" in roles,
            "call manager" in roles,
        )
        assert block.is_co_protocol == (kind == "protocol")
        calls = records(ndis, "NdisSetOptionalHandlers", "call")
        assert {(r.depth, r.handle) for r in calls} <= {(3, block.handle.label)}

    @pytest.mark.parametrize(
        ("kind", "bad"),
        [
            ("protocol", MP_CO),
            ("miniport", client_handlers),
            ("miniport", co_chars),
            ("protocol", lambda: cm_handlers(CmOpenAfHandler=None)),
            ("miniport", lambda: cm_handlers(CmOpenAfHandler=None)),
            ("protocol", lambda: cm_handlers(CmNotifyCloseAfCompleteHandler=None)),
            ("protocol", lambda: client_handlers(ClNotifyCloseAfHandler=None)),
            ("protocol", lambda: co_chars(CoAfRegisterNotifyHandler=None)),
            ("protocol", mislabelled),
        ],
        ids=[
            *("protocol-miniport-co", "miniport-client", "miniport-protocol-co"),
            *("cm-no-open-af", "mcm-no-open-af", "cm-no-notify-close-complete"),
            *("client-no-notify-close", "co-no-af-register-notify", "wrong-header-type"),
        ],
    )
    def test_failure_leaves_roles_alone(self, kind: str, bad: Callable[[], object]) -> None:
        first_struct = co_chars if kind == "protocol" else MP_CO
        ndis, drv = loaded(kind, first_struct, bad)
        assert drv.option_statuses == [SUCCESS, NDIS_STATUS_FAILURE]
        expected = ("protocol",) if kind == "protocol" else ("CoNDIS miniport",)
        assert ndis.drivers[0].roles == expected

    def test_miniport_outside_set_options_fails(self) -> None:
        ndis, _ = loaded("miniport", MP_CO)
        block = ndis.driver("mp")
        before = ndis.snapshot()
        with ndis.driver_context(block):
            status = ndis.NdisSetOptionalHandlers(block.handle, cm_handlers())
        assert status == NDIS_STATUS_FAILURE
        assert records(ndis, "NdisSetOptionalHandlers", "return")[-1].status == NDIS_STATUS_FAILURE
        assert (block.roles, ndis.snapshot()) == (("CoNDIS miniport",), before)

    def test_ndis_version_is_read_from_ndis_copy(self) -> None:
        """NOT_SUPPORTED needs a registered pre-6.0 miniport, which registration refuses.

        Editing the caller's structure inside MiniportSetOptions does not make one:
        NDIS checks the version of the copy it took (see TestRegistration).
        """

        def options(driver: Any, handle: DriverHandle) -> int:
            driver.chars.MajorNdisVersion = 5
            return register(NDIS_MINIPORT_CO_CHARACTERISTICS)(driver, handle)

        ndis = Ndis()
        mp = Miniport(ndis, options=options)
        assert ndis.load_driver(mp, "mp") == SUCCESS
        assert mp.option_statuses == [SUCCESS]
        assert ndis.driver("mp").roles == ("CoNDIS miniport",)

    def test_resources_fails_the_registration(self) -> None:
        ndis = Ndis()
        ndis.faults.fail("NdisSetOptionalHandlers")
        assert ndis.load_driver(SampleMcm(ndis), "mcm") == NDIS_STATUS_RESOURCES
        assert [(r.name, r.status) for r in ndis.trace if r.phase.value == "return"] == [
            ("NdisSetOptionalHandlers", NDIS_STATUS_RESOURCES),
            ("MiniportSetOptions", NDIS_STATUS_RESOURCES),
            ("NdisMRegisterMiniportDriver", NDIS_STATUS_RESOURCES),
            ("DriverEntry", NDIS_STATUS_RESOURCES),
        ]
        assert_not_loaded(ndis, "mcm")

    def test_resources_for_one_structure(self) -> None:
        ndis = Ndis()
        ndis.faults.fail("NdisSetOptionalHandlers")
        p = Protocol(ndis, options=register(co_chars, client_handlers, cm_handlers))
        assert ndis.load_driver(p, "p") == SUCCESS
        assert p.option_statuses == [NDIS_STATUS_RESOURCES, SUCCESS, SUCCESS]
        block = ndis.driver("p")
        assert (block.is_co_protocol, block.roles) == (False, ("client", "call manager"))

    def test_argument_errors(self) -> None:
        ndis, _ = loaded("protocol", co_chars)
        handle = ndis.driver("p").handle
        before, length = ndis.snapshot(), len(ndis.trace)
        with pytest.raises(
            TypeError,
            match=r"^NdisSetOptionalHandlers: OptionalHandlers must be one of "
            r"NDIS_MINIPORT_CO_CHARACTERISTICS, NDIS_PROTOCOL_CO_CHARACTERISTICS, "
            r"NDIS_CO_CLIENT_OPTIONAL_HANDLERS, NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS, not int$",
        ):
            ndis.NdisSetOptionalHandlers(handle, 42)
        with pytest.raises(TypeError, match=r"not NDIS_PROTOCOL_DRIVER_CHARACTERISTICS$"):
            ndis.NdisSetOptionalHandlers(handle, NDIS_PROTOCOL_DRIVER_CHARACTERISTICS())
        with pytest.raises(
            TypeError,
            match=r"^NdisSetOptionalHandlers: NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS"
            r"\.CmOpenAfHandler must be callable or None, not str$",
        ):
            ndis.NdisSetOptionalHandlers(handle, cm_handlers(CmOpenAfHandler="open"))
        with pytest.raises(
            ValueError, match=r"^NdisSetOptionalHandlers: NdisHandle is required \(got None\)$"
        ):
            ndis.NdisSetOptionalHandlers(None, co_chars())
        with pytest.raises(TypeError, match=r"^NdisSetOptionalHandlers: NdisHandle must be an "):
            ndis.NdisSetOptionalHandlers("p", co_chars())
        assert (ndis.snapshot(), len(ndis.trace), ndis.crashed) == (before, length, None)
