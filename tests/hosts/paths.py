"""Hosts for the tests that run on both call-manager paths.

"mcm": SampleMcm on adapter mcm0, NdisMCm* spellings; "cm": SampleCallManager
over SampleCoMiniport on atm0, NdisCm* spellings. `build` brings either up with
its clients bound; the trace helpers and purpose-built drivers read and script
what crosses. Shared by the SAP, VC, activation, call and data tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from condis import (
    CO_ADDRESS_FAMILY_Q2931,
    CO_SAP,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    BugCheck,
    Mode,
    Ndis,
)
from condis.driver import MiniportDriver, ProtocolDriver
from condis.samples import SampleCallManager, SampleClient, SampleCoMiniport, SampleMcm
from condis.trace import TraceRecord
from util import find

PATHS = ["mcm", "cm"]
COMPLETIONS = ["sync", "pended"]
Q2931 = CO_ADDRESS_FAMILY_Q2931
SAP_BOB = CO_SAP(SapType=1, Sap=b"bob")
SAP_CAROL = CO_SAP(SapType=1, Sap=b"carol")
CM_NAME = {"mcm": "samplemcm", "cm": "samplecallmanager"}
ADAPTER = {"mcm": "mcm0", "cm": "atm0"}


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


def returned(ndis: Ndis, name: str, *, after: int = -1) -> list[Any]:
    """The statuses `name` returned, in order."""
    return [
        r.status
        for r in ndis.trace
        if r.seq > after and r.name == name and r.phase.value == "return"
    ]


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
