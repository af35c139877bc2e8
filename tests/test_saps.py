"""SAPs: NdisClRegisterSap, Ndis(M)CmRegisterSapComplete, and what a SAP allows while it exists.

The contract is sap.py's docstring and the pages it names (nf-ndis-ndisclregistersap,
nc-ndis-protocol_cm_reg_sap, nf-ndis-ndiscmregistersapcomplete, guide/registering-a-sap.md).
Each test runs on the MCM path ("mcm": SampleMcm, NdisMCm* spellings) and the stand-alone call
manager path ("cm": SampleCallManager over SampleCoMiniport, NdisCm* spellings).
Deregistration (NdisClDeregisterSap) is in test_sap_deregistration.py.

The host builder, trace helpers and purpose-built drivers at the top are shared with
test_sap_deregistration.py, test_vcs.py, test_vc_activation.py, test_calls.py and test_data.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from condis import (
    CO_ADDRESS_FAMILY_Q2931,
    CO_SAP,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_INVALID_DATA,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
    BugCheck,
    Mode,
    Ndis,
)
from condis.driver import MiniportDriver, ProtocolDriver
from condis.samples import SampleCallManager, SampleClient, SampleCoMiniport, SampleMcm
from condis.samples.mcm import called_party
from condis.trace import TraceRecord
from util import find, in_order

PATHS = ["mcm", "cm"]
COMPLETIONS = ["sync", "pended"]
Q2931 = CO_ADDRESS_FAMILY_Q2931
SAP_BOB = CO_SAP(SapType=1, Sap=b"bob")
SAP_CAROL = CO_SAP(SapType=1, Sap=b"carol")
CM_NAME = {"mcm": "samplemcm", "cm": "samplecallmanager"}
ADAPTER = {"mcm": "mcm0", "cm": "atm0"}


# --- hosts ---------------------------------------------------------------------------------------


@dataclass
class Host:
    """One host: a call manager (MCM, or stand-alone over a CoNDIS miniport) and its clients."""

    ndis: Ndis
    path: str
    cm: Any
    miniport: Any
    clients: dict[str, Any]

    @property
    def cm_name(self) -> str:
        return CM_NAME[self.path]

    @property
    def adapter(self) -> str:
        return ADAPTER[self.path]

    def ddi(self, stem: str) -> Any:
        """The call manager's spelling of a DDI: NdisMCm<stem> for an MCM, else NdisCm<stem>."""
        return getattr(self.ndis, self.name(stem))

    def name(self, stem: str) -> str:
        return ("NdisMCm" if self.path == "mcm" else "NdisCm") + stem

    def af(self, client: str = "alice") -> Any:
        """The client's open Q.2931 AF (the sample's ClientAf)."""
        return self.clients[client].afs("open")[0]

    def cm_binding_handle(self) -> Any:
        """The handle a call manager passes to NdisCoCreateVc (the CM path only)."""
        return self.ndis.binding(self.cm_name, self.adapter).handle

    def create_incoming_vc(self, client: str, context: object) -> Any:
        """Create a VC as the call manager for an incoming call to `client` (asserts SUCCESS)."""
        af = self.af(client)
        if self.path == "mcm":
            status, handle = self.ndis.NdisMCmCreateVc(
                self.ndis.adapter(self.adapter).handle, af.handle, context
            )
        else:
            status, handle = self.ndis.NdisCoCreateVc(self.cm_binding_handle(), af.handle, context)
        assert status == NDIS_STATUS_SUCCESS
        return handle

    def activate(self, vc_handle: Any, params: Any) -> Any:
        return self.ddi("ActivateVc")(vc_handle, params)


def build(
    path: str,
    completion: str = "sync",
    *,
    clients: Mapping[str, Callable[[Ndis], ProtocolDriver]] | None = None,
    mode: Mode = Mode.STRICT,
    mcm: Callable[..., MiniportDriver] = SampleMcm,
    cm: Callable[..., ProtocolDriver] = SampleCallManager,
    miniport: Callable[..., MiniportDriver] = SampleCoMiniport,
    miniport_completion: str | None = None,
    run: bool = True,
) -> Host:
    """A host with adapter mcm0 (path "mcm") or atm0 (path "cm") up and every client bound.

    `clients` maps driver names to factories (default: one SampleClient named "alice").
    """
    ndis = Ndis(mode=mode)
    if path == "mcm":
        call_manager = mcm(ndis, address_families=(Q2931,), completion=completion)
        ndis.load_driver(call_manager, "samplemcm")
        nic = call_manager
    else:
        nic = miniport(ndis, completion=miniport_completion or completion)
        ndis.load_driver(nic, "samplecominiport")
        call_manager = cm(ndis, completion=completion)
        ndis.load_driver(call_manager, "samplecallmanager")
    loaded = {}
    for name, factory in (clients or {"alice": SampleClient}).items():
        loaded[name] = factory(ndis)
        ndis.load_driver(loaded[name], name)
    ndis.add_adapter("samplemcm" if path == "mcm" else "samplecominiport", ADAPTER[path])
    if run:
        ndis.run()
    return Host(ndis=ndis, path=path, cm=call_manager, miniport=nic, clients=loaded)


def with_saps(*saps: CO_SAP, **kwargs: Any) -> Callable[[Ndis], SampleClient]:
    """A SampleClient factory registering `saps` on Q.2931 once the AF is open."""
    return lambda ndis: SampleClient(ndis, saps={Q2931: list(saps)}, **kwargs)


# --- trace helpers -------------------------------------------------------------------------------


def calls(
    ndis: Ndis, name: str, *, driver: str | None = None, after: int = -1
) -> list[TraceRecord]:
    return [
        r
        for r in ndis.trace
        if r.seq > after
        and r.name == name
        and r.phase.value == "call"
        and driver in (None, r.driver)
    ]


def returned(ndis: Ndis, name: str, *, after: int = -1) -> list[Any]:
    """The statuses `name` returned, in order."""
    return [
        r.status
        for r in ndis.trace
        if r.seq > after and r.name == name and r.phase.value == "return"
    ]


def mark(ndis: Ndis) -> int:
    """The seq of the last record so far (for `after=`)."""
    return ndis.trace[-1].seq if len(ndis.trace) else -1


def within(ndis: Ndis, outer: TraceRecord, inner: TraceRecord) -> bool:
    """True when `inner` happened while the call `outer` had not yet returned."""
    end = find(ndis, outer.name, "return", after=outer.seq)
    return outer.seq < inner.seq < end.seq


def refused(host: Host, rule: str, call: Callable[[], Any]) -> BugCheck:
    """Run a DDI that must be refused with `rule`: BugCheck, host up, state unchanged."""
    before = host.ndis.snapshot()
    with pytest.raises(BugCheck) as info:
        call()
    assert info.value.rule == rule
    assert host.ndis.crashed is None
    assert host.ndis.snapshot() == before
    return info.value


def rules(ndis: Ndis) -> list[str]:
    return [v.rule for v in ndis.verifier.violations]


# --- purpose-built drivers -----------------------------------------------------------------------


class _HoldSaps:
    """A call manager that pends SAP registrations / deregistrations for the test to complete.

    hold_register / hold_deregister: when True, ProtocolCmRegisterSap / ProtocolCmDeregisterSap
    return NDIS_STATUS_PENDING and remember the SAP; otherwise the sample answers.
    deregister_reply: a status ProtocolCmDeregisterSap returns (once) instead.
    """

    hold_register = True
    hold_deregister = False
    deregister_reply: Any = None

    def __init__(self, ndis: Ndis, **kwargs: Any) -> None:
        super().__init__(ndis, **kwargs)  # type: ignore[call-arg]
        self.held: list[Any] = []

    def ProtocolCmRegisterSap(self, CallMgrAfContext: Any, Sap: Any, NdisSapHandle: Any) -> Any:
        if not self.hold_register:
            return super().ProtocolCmRegisterSap(  # type: ignore[misc]
                CallMgrAfContext, Sap, NdisSapHandle
            )
        self.held.append(NdisSapHandle)
        return NDIS_STATUS_PENDING

    def ProtocolCmDeregisterSap(self, CallMgrSapContext: Any) -> Any:
        if self.deregister_reply is not None:
            reply, self.deregister_reply = self.deregister_reply, None
            return reply
        if self.hold_deregister:
            self.held.append(CallMgrSapContext)
            return NDIS_STATUS_PENDING
        return super().ProtocolCmDeregisterSap(CallMgrSapContext)  # type: ignore[misc]


class HoldingMcm(_HoldSaps, SampleMcm):
    pass


class HoldingCallManager(_HoldSaps, SampleCallManager):
    pass


def holding(path: str, completion: str = "sync", **kwargs: Any) -> Host:
    return build(path, completion, mcm=HoldingMcm, cm=HoldingCallManager, **kwargs)


class RecordingClient(SampleClient):
    """The sample client, recording what NDIS passes to its SAP completion handlers."""

    def __init__(self, ndis: Ndis, **kwargs: Any) -> None:
        super().__init__(ndis, **kwargs)
        self.register_completions: list[tuple[int, Any]] = []
        self.deregister_completions: list[int] = []
        self.incoming_saps: list[Any] = []

    def ProtocolClRegisterSapComplete(self, Status, ProtocolSapContext, Sap, NdisSapHandle):
        self.register_completions.append((Status, NdisSapHandle))
        super().ProtocolClRegisterSapComplete(Status, ProtocolSapContext, Sap, NdisSapHandle)

    def ProtocolClDeregisterSapComplete(self, Status, ProtocolSapContext):
        self.deregister_completions.append(Status)
        super().ProtocolClDeregisterSapComplete(Status, ProtocolSapContext)

    def ProtocolClIncomingCall(self, ProtocolSapContext, ProtocolVcContext, CallParameters):
        self.incoming_saps.append(ProtocolSapContext)
        return super().ProtocolClIncomingCall(ProtocolSapContext, ProtocolVcContext, CallParameters)


def sap_rows(host: Host) -> list[tuple[Any, ...]]:
    return host.ndis.snapshot()["saps"]


# --- registration --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
class TestRegister:
    """NdisClRegisterSap's documented returns."""

    def test_success_in_line(self, path: str) -> None:
        host = build(path)
        ndis, af = host.ndis, host.af()
        entry = host.clients["alice"].register_sap(af, SAP_BOB)
        _, cm_call, _, ret = in_order(
            ndis,
            ("call", "NdisClRegisterSap", None, "alice"),
            ("call", "ProtocolCmRegisterSap", None, host.cm_name),
            ("return", "ProtocolCmRegisterSap", NDIS_STATUS_SUCCESS),
            ("return", "NdisClRegisterSap", NDIS_STATUS_SUCCESS),
        )
        assert entry.state == "registered" and entry.handle is not None
        assert ret.handle == entry.handle.label == cm_call.handle
        # Not PENDING: the client makes the internal call; NDIS calls no completion handler.
        assert calls(ndis, "ProtocolClRegisterSapComplete") == []
        assert sap_rows(host) == [(entry.handle.label, "registered", True, True)]

    def test_pending_then_completed(self, path: str) -> None:
        host = build(path, "pended")
        ndis = host.ndis
        entry = host.clients["alice"].register_sap(host.af(), SAP_BOB)
        assert returned(ndis, "NdisClRegisterSap") == [NDIS_STATUS_PENDING]
        assert entry.state == "registering"
        label = find(ndis, "ProtocolCmRegisterSap").handle
        # Valid for the call manager already, not yet for the client.
        assert sap_rows(host) == [(label, "registering", False, True)]
        ndis.run()
        complete, handler, _ = in_order(
            ndis,
            ("call", host.name("RegisterSapComplete"), None, host.cm_name),
            ("call", "ProtocolClRegisterSapComplete", None, "alice"),
            ("return", host.name("RegisterSapComplete")),
        )
        assert within(ndis, complete, handler)
        assert entry.state == "registered" and entry.handle is not None
        assert entry.handle.label == label
        assert sap_rows(host) == [(label, "registered", True, True)]
        assert ndis.operations == ()

    @pytest.mark.parametrize("completion", COMPLETIONS)
    def test_sap_of_another_client_is_invalid_data(self, path: str, completion: str) -> None:
        host = build(path, completion, clients={"alice": SampleClient, "bob": SampleClient})
        ndis = host.ndis
        first = host.clients["alice"].register_sap(host.af("alice"), SAP_BOB)
        ndis.run()
        assert first.state == "registered"
        after = mark(ndis)
        second = host.clients["bob"].register_sap(host.af("bob"), SAP_BOB)
        assert returned(ndis, "ProtocolCmRegisterSap", after=after) == [NDIS_STATUS_INVALID_DATA]
        ret = find(ndis, "NdisClRegisterSap", "return", after=after)
        assert ret.status == NDIS_STATUS_INVALID_DATA and ret.result is None
        assert second.state == "failed" and second.handle is None
        # NDIS released its SAP: the handle it gave ProtocolCmRegisterSap is gone.
        label = find(ndis, "ProtocolCmRegisterSap", after=after).handle
        assert label not in ndis.snapshot()["handles"]
        assert [s.handle.label for s in ndis.saps] == [first.handle.label]

    def test_resources(self, path: str) -> None:
        host = build(path)
        ndis, af = host.ndis, host.af()
        ndis.faults.fail("NdisClRegisterSap")
        before, after = ndis.snapshot(), mark(ndis)
        assert ndis.NdisClRegisterSap(af.handle, object(), SAP_BOB) == (
            NDIS_STATUS_RESOURCES,
            None,
        )
        assert calls(ndis, "ProtocolCmRegisterSap", after=after) == []
        assert ndis.snapshot() == before

    def test_closed_af_is_refused(self, path: str) -> None:
        host = build(path)
        af = host.af()
        handle = af.handle
        host.clients["alice"].close_af(af)
        host.ndis.run()
        refused(
            host,
            "NdisHandleStale",
            lambda: host.ndis.NdisClRegisterSap(handle, object(), SAP_BOB),
        )

    def test_closed_af_fails_in_collect_mode(self, path: str) -> None:
        host = build(path, mode=Mode.COLLECT)
        af = host.af()
        handle = af.handle
        host.clients["alice"].close_af(af)
        host.ndis.run()
        before = host.ndis.snapshot()
        assert host.ndis.NdisClRegisterSap(handle, object(), SAP_BOB) == (
            NDIS_STATUS_FAILURE,
            None,
        )
        assert rules(host.ndis) == ["NdisHandleStale"]
        assert host.ndis.snapshot() == before

    def test_af_still_opening_is_refused(self, path: str) -> None:
        host = build(path, "pended", run=False)
        (af,) = host.clients["alice"].afs("opening")
        assert af.handle is not None
        refused(
            host,
            "NdisHandleNotYetValid",
            lambda: host.ndis.NdisClRegisterSap(af.handle, object(), SAP_BOB),
        )

    def test_sap_must_be_a_co_sap(self, path: str) -> None:
        host = build(path)
        with pytest.raises(
            TypeError, match=r"^NdisClRegisterSap: Sap must be a CO_SAP, not bytes$"
        ):
            host.ndis.NdisClRegisterSap(host.af().handle, object(), b"bob")


@pytest.mark.parametrize("path", PATHS)
class TestPendedRegistrationOutcome:
    """Ndis(M)CmRegisterSapComplete decides what the client gets."""

    def test_failure_gives_the_client_no_handle(self, path: str) -> None:
        host = holding(path, clients={"alice": RecordingClient})
        ndis, alice = host.ndis, host.clients["alice"]
        entry = alice.register_sap(host.af(), SAP_BOB)
        (handle,) = host.cm.held
        host.ddi("RegisterSapComplete")(NDIS_STATUS_FAILURE, handle, None)
        assert alice.register_completions == [(NDIS_STATUS_FAILURE, None)]
        assert entry.state == "failed"
        assert ndis.saps == () and handle.label not in ndis.snapshot()["handles"]
        assert ndis.operations == ()
        # The handle is stale for both sides now.
        refused(
            host,
            "NdisHandleStale",
            lambda: host.ddi("RegisterSapComplete")(NDIS_STATUS_SUCCESS, handle, None),
        )
        refused(host, "NdisHandleStale", lambda: ndis.NdisClDeregisterSap(handle))

    def test_success_gives_the_client_the_handle(self, path: str) -> None:
        host = holding(path, clients={"alice": RecordingClient})
        alice = host.clients["alice"]
        entry = alice.register_sap(host.af(), SAP_BOB)
        (handle,) = host.cm.held
        host.ddi("RegisterSapComplete")(NDIS_STATUS_SUCCESS, handle, object())
        assert alice.register_completions == [(NDIS_STATUS_SUCCESS, handle)]
        assert entry.state == "registered" and entry.handle is handle
        assert sap_rows(host) == [(handle.label, "registered", True, True)]

    def test_completion_in_the_other_role_s_spelling(self, path: str) -> None:
        host = holding(path, clients={"alice": RecordingClient}, mode=Mode.COLLECT)
        host.clients["alice"].register_sap(host.af(), SAP_BOB)
        (handle,) = host.cm.held
        wrong = "NdisCmRegisterSapComplete" if path == "mcm" else "NdisMCmRegisterSapComplete"
        getattr(host.ndis, wrong)(NDIS_STATUS_SUCCESS, handle, object())
        (violation,) = host.ndis.verifier.violations
        assert (violation.rule, violation.ddi, violation.driver) == (
            "CoNdisMcmSpelling",
            wrong,
            host.cm_name,
        )
        # Collect mode carries on: the registration completes.
        assert host.clients["alice"].register_completions == [(NDIS_STATUS_SUCCESS, handle)]

    def test_client_cannot_deregister_before_completion(self, path: str) -> None:
        host = holding(path)
        host.clients["alice"].register_sap(host.af(), SAP_BOB)
        (handle,) = host.cm.held
        refused(host, "NdisHandleNotYetValid", lambda: host.ndis.NdisClDeregisterSap(handle))

    def test_second_completion_is_refused(self, path: str) -> None:
        host = holding(path)
        host.clients["alice"].register_sap(host.af(), SAP_BOB)
        (handle,) = host.cm.held
        host.ddi("RegisterSapComplete")(NDIS_STATUS_SUCCESS, handle, object())
        refused(
            host,
            "CoNdisDoubleComplete",
            lambda: host.ddi("RegisterSapComplete")(NDIS_STATUS_SUCCESS, handle, object()),
        )


# --- incoming calls, AF close ------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
class TestSapInUse:
    """What a SAP allows and forbids while it exists."""

    def test_incoming_call_while_registration_pends(self, path: str) -> None:
        host = build(
            path,
            "pended",
            miniport_completion="sync",
            clients={"bob": lambda n: RecordingClient(n, saps={Q2931: [SAP_BOB]})},
            run=False,
        )
        ndis, bob = host.ndis, host.clients["bob"]
        # Run until bob's registration is with the call manager, but not completed.
        while not ndis.saps:
            assert ndis.step() is not None
        (sap,) = ndis.saps
        (entry,) = host.af("bob").saps
        assert entry.state == "registering"
        vc = host.create_incoming_vc("bob", object())
        params = called_party(SAP_BOB)
        assert host.activate(vc, params) == NDIS_STATUS_SUCCESS
        after = mark(ndis)
        status = host.ddi("DispatchIncomingCall")(sap.handle, vc, params)
        assert status == NDIS_STATUS_SUCCESS
        assert bob.incoming_saps == [entry]
        host.ddi("DispatchCallConnected")(vc)
        find(ndis, "ProtocolClCallConnected", after=after, driver="bob")
        ndis.run()
        in_order(
            ndis,
            ("call", "ProtocolClIncomingCall", None, "bob"),
            ("call", "ProtocolClRegisterSapComplete", None, "bob"),
        )
        assert entry.state == "registered"

    @pytest.mark.parametrize("mode", [Mode.STRICT, Mode.COLLECT])
    def test_closing_the_af_with_a_sap_left_fails(self, path: str, mode: Mode) -> None:
        host = build(path, clients={"alice": with_saps(SAP_BOB)}, mode=mode)
        ndis, af = host.ndis, host.af()
        before, after = ndis.snapshot(), mark(ndis)
        if mode is Mode.STRICT:
            error = refused(
                host, "CoNdisAfCloseWithChildren", lambda: ndis.NdisClCloseAddressFamily(af.handle)
            )
            assert af.saps[0].handle.label in error.detail
        else:
            assert ndis.NdisClCloseAddressFamily(af.handle) == NDIS_STATUS_FAILURE
            assert rules(ndis) == ["CoNdisAfCloseWithChildren"]
            assert ndis.snapshot() == before
        assert calls(ndis, "ProtocolCmCloseAf", after=after) == []
        # Deregistered, the AF closes.
        host.clients["alice"].close_af(af)
        ndis.run()
        assert host.clients["alice"].afs() == [] and ndis.address_families == ()
