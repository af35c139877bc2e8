"""Protocol bindings (bindings.py): bind, open, close and unbind.

Pages: nc-ndis-protocol_bind_adapter_ex, nf-ndis-ndisopenadapterex,
nc-ndis-protocol_open_adapter_complete_ex, nf-ndis-ndiscompletebindadapterex,
nc-ndis-protocol_unbind_adapter_ex, nf-ndis-ndiscloseadapterex,
nc-ndis-protocol_close_adapter_complete_ex, nf-ndis-ndiscompleteunbindadapterex,
nf-ndis-ndissetoptionalhandlers (per-binding handlers) and
guide/binding-states-of-a-protocol-driver. That hosts built alike run alike and share
nothing is in test_determinism.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from condis import (
    DISPATCH_LEVEL,
    NDIS_CO_CLIENT_OPTIONAL_HANDLERS,
    NDIS_MEDIUM,
    NDIS_MINIPORT_CO_CHARACTERISTICS,
    NDIS_PROTOCOL_CO_CHARACTERISTICS,
    NDIS_STATUS_ADAPTER_NOT_FOUND,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_NOT_SUPPORTED,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_UNSUPPORTED_MEDIA,
    NDIS_TIMER_CHARACTERISTICS,
    PASSIVE_LEVEL,
    BugCheck,
    Mode,
    Ndis,
)
from condis.bindings import BindingState, OpenState
from condis.driver import build_characteristics
from condis.handles import BindingHandle, DriverHandle
from condis.samples import SampleClient, SampleCoMiniport, SampleMcm
from hosts.bindings import SUCCESS, Proto
from util import cm_host, find, in_order, mcm_host, names, records

BS, OS = BindingState, OpenState


def bound(
    mode: Mode = Mode.STRICT, *, open_pends: bool = False, close_pends: bool = False, **kw: Any
) -> tuple[Ndis, Proto]:
    """A host with the sample CoNDIS miniport (adapter 'a0' up) and a `Proto` 'p' bound to it."""
    ndis = Ndis(mode=mode)
    ndis.config.open_adapter_pends = open_pends
    ndis.config.close_adapter_pends = close_pends
    ndis.load_driver(SampleCoMiniport(ndis), "mp")
    p = Proto(ndis, **kw)
    ndis.load_driver(p, "p")
    ndis.add_adapter("mp", "a0")
    return ndis, p


def live_handles(ndis: Ndis, kind: str) -> list[str]:
    return [h for h in ndis.snapshot()["handles"] if h.startswith(kind)]


def rules(ndis: Ndis) -> list[tuple[str, str]]:
    return [(v.rule, v.ddi) for v in ndis.verifier.violations]


class TestOpenAdapter:
    """NdisOpenAdapterEx and its return codes."""

    def test_success(self) -> None:
        ndis, p = bound()
        assert isinstance(p.handle, BindingHandle)
        assert p.opened == [(SUCCESS, p.handle)]
        assert p.seen == [("bind", BS.OPENING, OS.OPEN)]
        b = ndis.binding("p", "a0")
        assert (b.state, b.open_state, b.handle, b.context) == (BS.RUNNING, OS.OPEN, p.handle, p)
        assert p.params.SelectedMediumIndex == 0
        bind, call, ret = (
            find(ndis, "ProtocolBindAdapterEx"),
            find(ndis, "NdisOpenAdapterEx"),
            find(ndis, "NdisOpenAdapterEx", "return"),
        )
        assert (bind.depth, bind.irql, call.depth, call.handle) == (
            0,
            PASSIVE_LEVEL,
            1,
            "BindContext#1",
        )
        assert (ret.status, ret.handle) == (SUCCESS, p.handle.label)
        assert ndis.operations == ()
        assert live_handles(ndis, "BindContext") == []

    def test_selected_medium_index(self) -> None:
        _, p = bound(media=[NDIS_MEDIUM.NdisMedium802_3, NDIS_MEDIUM.NdisMediumAtm])
        assert p.params.SelectedMediumIndex == 1

    def test_pending_completes_through_open_adapter_complete(self) -> None:
        ndis, p = bound(open_pends=True)
        assert p.opened == [(NDIS_STATUS_PENDING, p.handle)] and p.handle is not None
        assert p.seen == [("bind", BS.OPENING, OS.OPEN_PENDING)]
        assert [op.kind for op in ndis.operations] == ["bind"]
        assert "ProtocolOpenAdapterCompleteEx" not in names(ndis)
        ndis.run()
        assert p.seen[-1] == ("open complete", BS.OPENING, OS.OPEN)
        assert p.params.SelectedMediumIndex == 0
        b = ndis.binding("p", "a0")
        assert (b.state, b.open_state, b.handle) == (BS.RUNNING, OS.OPEN, p.handle)
        steps = in_order(
            ndis,
            ("return", "ProtocolBindAdapterEx"),
            ("call", "ProtocolOpenAdapterCompleteEx"),
            ("call", "NdisCompleteBindAdapterEx"),
            ("return", "NdisCompleteBindAdapterEx"),
        )
        assert steps[0].status == NDIS_STATUS_PENDING
        assert (steps[1].irql, steps[1].handle) == (PASSIVE_LEVEL, p.handle.label)
        assert ndis.operations == ()

    def test_pended_open_handle_is_not_yet_valid(self) -> None:
        ndis, p = bound(open_pends=True)
        before = ndis.snapshot()
        with ndis.driver_context(ndis.driver("p")), pytest.raises(BugCheck) as e:
            ndis.NdisCloseAdapterEx(p.handle)
        assert (e.value.rule, e.value.ddi) == ("NdisHandleNotYetValid", "NdisCloseAdapterEx")
        assert (ndis.snapshot(), ndis.crashed) == (before, None)

    @pytest.mark.parametrize(
        ("kw", "fault", "status"),
        [
            ({}, "NdisOpenAdapterEx", NDIS_STATUS_RESOURCES),
            ({"adapter_name": "a9"}, None, NDIS_STATUS_ADAPTER_NOT_FOUND),
            ({"media": [NDIS_MEDIUM.NdisMedium802_3]}, None, NDIS_STATUS_UNSUPPORTED_MEDIA),
            ({"media": []}, None, NDIS_STATUS_UNSUPPORTED_MEDIA),
        ],
        ids=["resources", "adapter-not-found", "unsupported-media", "no-media"],
    )
    def test_failures_leave_no_binding(
        self, kw: dict[str, Any], fault: str | None, status: int
    ) -> None:
        ndis = Ndis()
        ndis.load_driver(SampleCoMiniport(ndis), "mp")
        p = Proto(ndis, **kw)
        ndis.load_driver(p, "p")
        if fault:
            ndis.faults.fail(fault)
        ndis.add_adapter("mp", "a0")
        assert p.opened == [(status, None)]
        assert p.seen == [("bind", BS.OPENING, OS.NOT_OPENED)]
        assert records(ndis, "ProtocolBindAdapterEx", "return")[0].status == status
        assert (ndis.bindings, ndis.adapter("a0").bindings) == ((), [])
        assert live_handles(ndis, "NdisBindingHandle") == []
        assert (ndis.operations, ndis.verifier.violations) == ((), [])

    def test_second_open_in_the_same_bind_fails(self) -> None:
        ndis, p = bound(opens=2)
        assert p.opened == [(SUCCESS, p.handle), (NDIS_STATUS_FAILURE, None)]
        assert ndis.binding("p", "a0").handle is p.handle
        assert live_handles(ndis, "NdisBindingHandle") == [p.handle.label]

    def test_stale_bind_context_after_the_bind(self) -> None:
        """Outside ProtocolBindAdapterEx the BindContext is closed: rule NdisHandleStale."""
        ndis, p = bound()
        before = ndis.snapshot()
        block = ndis.driver("p")
        with ndis.driver_context(block), pytest.raises(BugCheck) as e:
            ndis.NdisOpenAdapterEx(block.handle, p, p.params, p.bind_context)
        assert (e.value.rule, e.value.ddi, e.value.driver, e.value.handle) == (
            "NdisHandleStale",
            "NdisOpenAdapterEx",
            "p",
            "BindContext#1",
        )
        assert (ndis.snapshot(), ndis.crashed) == (before, None)

    def test_stale_bind_context_collected_is_failure(self) -> None:
        ndis, p = bound(Mode.COLLECT)
        block = ndis.driver("p")
        with ndis.driver_context(block):
            result = ndis.NdisOpenAdapterEx(block.handle, p, p.params, p.bind_context)
        assert result == (NDIS_STATUS_FAILURE, None)
        assert rules(ndis) == [("NdisHandleStale", "NdisOpenAdapterEx")]
        assert ndis.binding("p", "a0").handle is p.handle

    def test_bind_context_of_another_protocol_is_foreign(self) -> None:
        ndis = Ndis()
        ndis.load_driver(SampleCoMiniport(ndis), "mp")
        p, q = Proto(ndis, opens=0), Proto(ndis, "q", opens=0)
        ndis.load_driver(p, "p")
        ndis.load_driver(q, "q")
        ndis.add_adapter("mp", "a0")
        before = ndis.snapshot()
        block = ndis.driver("q")
        with ndis.driver_context(block), pytest.raises(BugCheck) as e:
            ndis.NdisOpenAdapterEx(block.handle, q, q.params, p.bind_context)
        assert (e.value.rule, e.value.driver) == ("NdisHandleForeign", "q")
        assert ndis.snapshot() == before


class TestBindCompletion:
    """ProtocolBindAdapterEx's status, or NDIS_STATUS_PENDING and NdisCompleteBindAdapterEx."""

    def test_pended_bind_opens_later_and_completes_with_success(self) -> None:
        ndis, p = bound(opens=0)
        assert p.seen == [("bind", BS.OPENING, OS.NOT_OPENED)]
        assert records(ndis, "ProtocolBindAdapterEx", "return")[0].status == NDIS_STATUS_PENDING
        with ndis.driver_context(ndis.driver("p")):
            assert p.open() == SUCCESS  # the bind is still in progress
            assert ndis.binding("p", "a0").state is BS.OPENING
            ndis.NdisCompleteBindAdapterEx(p.bind_context, SUCCESS)
        b = ndis.binding("p", "a0")
        assert (b.state, b.open_state, b.handle) == (BS.RUNNING, OS.OPEN, p.handle)
        assert (ndis.operations, live_handles(ndis, "BindContext")) == ((), [])

    def test_pended_bind_completes_with_failure(self) -> None:
        ndis, p = bound(opens=0)
        with ndis.driver_context(ndis.driver("p")):
            ndis.NdisCompleteBindAdapterEx(p.bind_context, NDIS_STATUS_RESOURCES)
        assert (ndis.bindings, ndis.operations, ndis.verifier.violations) == ((), (), [])
        with pytest.raises(BugCheck) as e:
            ndis.NdisCompleteBindAdapterEx(p.bind_context, SUCCESS)
        assert e.value.rule == "NdisHandleStale"

    def test_protocol_declines_the_adapter(self) -> None:
        ndis, _ = bound(opens=0, bind_status=NDIS_STATUS_NOT_SUPPORTED)
        assert (
            records(ndis, "ProtocolBindAdapterEx", "return")[0].status == NDIS_STATUS_NOT_SUPPORTED
        )
        assert (ndis.bindings, ndis.operations) == ((), ())
        ndis.halt_adapter("a0")
        assert "ProtocolUnbindAdapterEx" not in names(ndis)

    def test_open_then_close_in_bind_then_fail(self) -> None:
        """The page's pattern for a bind that fails after the open succeeded."""
        ndis, p = bound(close_in_bind=True, bind_status=NDIS_STATUS_FAILURE)
        assert p.closed == [SUCCESS]
        assert p.seen == [("bind", BS.OPENING, OS.CLOSED)]
        assert (ndis.bindings, ndis.verifier.violations) == ((), [])
        assert live_handles(ndis, "NdisBindingHandle") == []

    def test_failed_bind_that_left_the_adapter_open(self) -> None:
        ndis, _ = bound(Mode.COLLECT, bind_status=NDIS_STATUS_FAILURE)
        assert rules(ndis) == [("NdisBindIncomplete", "ProtocolBindAdapterEx")]
        assert ndis.bindings == ()
        assert live_handles(ndis, "NdisBindingHandle") == []

    def test_success_without_an_open(self) -> None:
        ndis, p = bound(Mode.COLLECT, opens=0)
        with ndis.driver_context(ndis.driver("p")):
            ndis.NdisCompleteBindAdapterEx(p.bind_context, SUCCESS)
        assert rules(ndis) == [("NdisBindIncomplete", "NdisCompleteBindAdapterEx")]
        assert (ndis.bindings, ndis.operations) == ((), ())

    def test_sample_client_declines_a_connectionless_miniport(self) -> None:
        class Connectionless(SampleCoMiniport):
            def MiniportSetOptions(self, NdisDriverHandle: DriverHandle, Context: object) -> int:
                return SUCCESS  # no NDIS_MINIPORT_CO_CHARACTERISTICS

        ndis = Ndis()
        ndis.load_driver(Connectionless(ndis), "mp")
        ndis.load_driver(SampleClient(ndis), "cl")
        ndis.add_adapter("mp", "a0")
        assert [r.status for r in records(ndis, "ProtocolBindAdapterEx", "return")] == [
            NDIS_STATUS_UNSUPPORTED_MEDIA
        ]
        assert ndis.bindings == ()


class TestCloseAndUnbind:
    """ProtocolUnbindAdapterEx, NdisCloseAdapterEx and their completions."""

    def test_synchronous_close_and_unbind(self) -> None:
        ndis, p = bound()
        b = ndis.binding("p", "a0")
        handle = p.handle
        assert handle is not None
        ndis.unbind_adapter(b)
        assert p.closed == [SUCCESS]
        assert p.seen[-1] == ("unbind", BS.CLOSING, OS.CLOSED)
        assert (b.state, b.open_state, ndis.bindings, ndis.operations) == (
            BS.UNBOUND,
            OS.CLOSED,
            (),
            (),
        )
        with pytest.raises(KeyError):
            ndis.binding("p", "a0")
        steps = in_order(
            ndis,
            ("call", "ProtocolUnbindAdapterEx"),
            ("call", "NdisCloseAdapterEx"),
            ("return", "NdisCloseAdapterEx"),
            ("return", "ProtocolUnbindAdapterEx"),
        )
        assert [s.depth for s in steps] == [0, 1, 1, 0]
        assert (steps[2].status, steps[3].status) == (SUCCESS, SUCCESS)
        assert live_handles(ndis, "NdisBindingHandle") == live_handles(ndis, "UnbindContext") == []
        # "As soon as the driver calls NdisCloseAdapterEx, the handle ... becomes invalid."
        before = ndis.snapshot()
        with ndis.driver_context(ndis.driver("p")), pytest.raises(BugCheck) as e:
            ndis.NdisCloseAdapterEx(handle)
        assert (e.value.rule, e.value.handle) == ("NdisHandleStale", handle.label)
        assert ndis.snapshot() == before

    def test_pended_close_and_unbind(self) -> None:
        ndis, p = bound(close_pends=True)
        b = ndis.binding("p", "a0")
        ndis.unbind_adapter(b)
        assert p.closed == [NDIS_STATUS_PENDING]
        assert p.seen[-2:] == [
            ("unbind", BS.CLOSING, OS.CLOSE_PENDING),
            ("close complete", BS.CLOSING, OS.CLOSED),
        ]
        steps = in_order(
            ndis,
            ("return", "NdisCloseAdapterEx"),
            ("return", "ProtocolUnbindAdapterEx"),
            ("call", "ProtocolCloseAdapterCompleteEx"),
            ("call", "NdisCompleteUnbindAdapterEx"),
        )
        assert [s.status for s in steps[:2]] == [NDIS_STATUS_PENDING, NDIS_STATUS_PENDING]
        assert steps[2].irql == PASSIVE_LEVEL
        assert (b.state, b.open_state, ndis.bindings, ndis.operations) == (
            BS.UNBOUND,
            OS.CLOSED,
            (),
            (),
        )

    def test_handle_is_invalid_from_the_close_call_on(self) -> None:
        ndis, p = bound(Mode.COLLECT, close_pends=True, closes=2)
        ndis.unbind_adapter(ndis.binding("p", "a0"))
        assert p.closed == [NDIS_STATUS_PENDING, NDIS_STATUS_FAILURE]
        assert rules(ndis) == [("NdisHandleStale", "NdisCloseAdapterEx")]
        assert ndis.bindings == ()

    def test_pended_unbind_completed_from_a_timer(self) -> None:
        class TimerProto(Proto):
            def ProtocolUnbindAdapterEx(
                self, UnbindContext: Any, ProtocolBindingContext: object
            ) -> int:
                super().ProtocolUnbindAdapterEx(UnbindContext, ProtocolBindingContext)
                assert self.driver_handle is not None
                _, timer = self.ndis.NdisAllocateTimerObject(
                    self.driver_handle, NDIS_TIMER_CHARACTERISTICS(TimerFunction=self.fire)
                )
                self.ndis.NdisSetTimerObject(timer, -10_000, 0, timer)
                return NDIS_STATUS_PENDING

            def fire(self, _s1: object, timer: Any, _s2: object, _s3: object) -> None:
                self.look("timer")
                self.ndis.NdisCompleteUnbindAdapterEx(self.unbind_context)
                self.ndis.NdisFreeTimerObject(timer)

        ndis = Ndis()
        ndis.load_driver(SampleCoMiniport(ndis), "mp")
        p = TimerProto(ndis)
        ndis.load_driver(p, "p")
        ndis.add_adapter("mp", "a0")
        ndis.unbind_adapter(ndis.binding("p", "a0"))
        assert p.seen[-2:] == [("unbind", BS.CLOSING, OS.CLOSED), ("timer", BS.CLOSING, OS.CLOSED)]
        ret, done = (
            find(ndis, "ProtocolUnbindAdapterEx", "return"),
            find(ndis, "NdisCompleteUnbindAdapterEx", "return"),
        )
        assert (ret.status, done.irql, done.driver, done.time) == (
            NDIS_STATUS_PENDING,
            DISPATCH_LEVEL,
            "p",
            10_000,
        )
        assert (ndis.bindings, ndis.operations, ndis.timers) == ((), (), ())

    def test_pended_unbind_that_nothing_can_complete(self) -> None:
        """NDIS would wait forever: CoNdisPendingOnTeardown; the unbind stays pending."""
        ndis, p = bound(Mode.COLLECT, unbind_status=NDIS_STATUS_PENDING)
        b = ndis.binding("p", "a0")
        ndis.unbind_adapter(b)
        assert rules(ndis) == [("CoNdisPendingOnTeardown", "ProtocolUnbindAdapterEx")]
        assert (b.state, b.open_state) == (BS.CLOSING, OS.CLOSED)
        assert [op.kind for op in ndis.operations] == ["unbind"]
        with ndis.driver_context(ndis.driver("p")):
            ndis.NdisCompleteUnbindAdapterEx(p.unbind_context)
        assert (b.state, ndis.bindings, ndis.operations) == (BS.UNBOUND, (), ())
        assert len(ndis.verifier.violations) == 1

    def test_failed_unbind_is_reported_and_treated_as_success(self) -> None:
        ndis, _ = bound(Mode.COLLECT, unbind_status=NDIS_STATUS_FAILURE)
        b = ndis.binding("p", "a0")
        ndis.unbind_adapter(b)
        assert rules(ndis) == [("CoNdisHandlerStatus", "ProtocolUnbindAdapterEx")]
        assert b.state is BS.UNBOUND

    def test_unbind_without_close(self) -> None:
        ndis, _ = bound(Mode.COLLECT, closes=0)
        ndis.unbind_adapter(ndis.binding("p", "a0"))
        assert rules(ndis) == [("CoNdisUnbindIncomplete", "ProtocolUnbindAdapterEx")]
        assert ndis.bindings == ()

    def test_unbind_adapter_argument_errors(self) -> None:
        ndis, _ = bound(opens=0)
        b = ndis.binding("p", "a0")
        before = ndis.snapshot()
        with pytest.raises(
            TypeError, match=r"^unbind_adapter: binding must be a Binding, not str$"
        ):
            ndis.unbind_adapter("p->a0")
        with pytest.raises(ValueError, match=r"^unbind_adapter: binding p->a0 is opening$"):
            ndis.unbind_adapter(b)
        assert ndis.snapshot() == before


class TestPerBindingHandlers:
    """NdisSetOptionalHandlers with an NdisBindingHandle: handlers for that binding only."""

    class OneBindingClient(SampleClient):
        """Registers only NDIS_PROTOCOL_CO_CHARACTERISTICS; client handlers on mcm0's binding."""

        def ProtocolSetOptions(self, NdisDriverHandle: DriverHandle, DriverContext: object) -> int:
            co = build_characteristics(NDIS_PROTOCOL_CO_CHARACTERISTICS, self)
            return self.ndis.NdisSetOptionalHandlers(NdisDriverHandle, co)

        def ProtocolBindAdapterEx(
            self, ProtocolDriverContext: object, BindContext: Any, BindParameters: Any
        ) -> int:
            status = super().ProtocolBindAdapterEx(
                ProtocolDriverContext, BindContext, BindParameters
            )
            if BindParameters.AdapterName == "mcm0":
                handlers = build_characteristics(NDIS_CO_CLIENT_OPTIONAL_HANDLERS, self)
                self.per_binding = self.ndis.NdisSetOptionalHandlers(
                    self.bindings[-1].handle, handlers
                )
            return status

    def test_client_handlers_on_one_binding(self) -> None:
        ndis = Ndis()
        ndis.load_driver(SampleMcm(ndis), "mcm")
        cl = self.OneBindingClient(ndis)
        ndis.load_driver(cl, "cl")
        ndis.add_adapter("mcm", "mcm0")
        ndis.add_adapter("mcm", "mcm1")
        ndis.run()
        assert cl.per_binding == SUCCESS
        assert (ndis.driver("cl").roles, ndis.driver("cl").is_client) == (("protocol",), False)
        one, two = ndis.binding("cl", "mcm0"), ndis.binding("cl", "mcm1")
        assert (one.is_client, two.is_client) == (True, False)
        # Both bindings are offered both AFs; only the client binding may open them.
        opens = records(ndis, "NdisClOpenAddressFamilyEx", "return")
        assert [(r.status, r.handle.startswith("NdisAfHandle")) for r in opens] == [
            (SUCCESS, True),
            (SUCCESS, True),
            (NDIS_STATUS_FAILURE, False),
            (NDIS_STATUS_FAILURE, False),
        ]
        assert {af.client.adapter.name for af in ndis.address_families} == {"mcm0"}

    def test_miniport_structure_on_a_binding_fails(self) -> None:
        ndis, _, _ = mcm_host()
        b = ndis.binding("sampleclient", "mcm0")
        before = ndis.snapshot()
        with ndis.driver_context(b.protocol):
            status = ndis.NdisSetOptionalHandlers(b.handle, NDIS_MINIPORT_CO_CHARACTERISTICS())
        assert (status, ndis.snapshot()) == (NDIS_STATUS_FAILURE, before)

    def test_closed_binding_handle_is_stale(self) -> None:
        ndis, _, _ = cm_host()
        b = ndis.binding("sampleclient", "atm0")
        handle = b.handle
        ndis.unbind_adapter(b)
        with pytest.raises(BugCheck) as e:
            ndis.NdisSetOptionalHandlers(handle, NDIS_MINIPORT_CO_CHARACTERISTICS())
        assert (e.value.rule, e.value.ddi) == ("NdisHandleStale", "NdisSetOptionalHandlers")
