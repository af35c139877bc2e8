"""Hosts and drivers for the QoS tests.

`mcm_call` and `cm_call` bring up a connected call on either path with drivers
that can park or script a QoS change; the helpers read the trace after a mark.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from condis import (
    CO_ADDRESS_FAMILY_Q2931,
    CO_CALL_PARAMETERS,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    Mode,
    Ndis,
    RandomPolicy,
)
from condis.samples import SampleCallManager, SampleClient, SampleCoMiniport, SampleMcm
from condis.samples.mcm import called_party
from condis.trace import TraceRecord
from hosts.paths import SAP_BOB

PLUMBING = ("NdisAllocateIoWorkItem", "NdisQueueIoWorkItem", "NdisFreeIoWorkItem")


def qos(priority: int) -> CO_CALL_PARAMETERS:
    """Call parameters addressed to bob, with a receive priority that tells them apart."""
    return called_party(SAP_BOB, ReceivePriority=priority)


def after(ndis: Ndis, mark: int) -> list[TraceRecord]:
    """The trace since `mark` (a seq), without work-item plumbing."""
    return [r for r in ndis.trace if r.seq > mark and r.name not in PLUMBING]


def steps(ndis: Ndis, mark: int, *names: str) -> list[tuple[str, str, str | None, Any]]:
    """(phase, name, driver, status) of the records of `names` since `mark`, in order."""
    return [
        (r.phase.value, r.name, r.driver, r.status) for r in after(ndis, mark) if r.name in names
    ]


def mcm_call(
    *,
    completion: str = "sync",
    mcm: type[SampleMcm] = SampleMcm,
    incoming: str = "accept",
    policy: RandomPolicy | None = None,
    mode: Mode = Mode.STRICT,
) -> SimpleNamespace:
    """The sample MCM ('samplemcm', adapter 'mcm0') and clients alice and bob (who registers
    SAP 'bob'); alice has made a point-to-point call to bob unless bob pends incoming calls."""
    ndis = Ndis(policy=policy, mode=mode)
    driver = mcm(ndis, address_families=(CO_ADDRESS_FAMILY_Q2931,), completion=completion)  # type: ignore[arg-type]
    ndis.load_driver(driver, "samplemcm")
    alice = SampleClient(ndis)
    bob = SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [SAP_BOB]}, incoming=incoming)  # type: ignore[arg-type]
    ndis.load_driver(alice, "alice")
    ndis.load_driver(bob, "bob")
    ndis.add_adapter("samplemcm", "mcm0")
    ndis.run()
    vc = alice.make_call(alice.afs("open")[0], qos(0))
    ndis.run()
    assert vc is not None and vc.handle is not None
    bob_vc = bob.afs("open")[0].vcs[0]
    return SimpleNamespace(ndis=ndis, alice=alice, bob=bob, vc=vc, bob_vc=bob_vc, mcm=driver)


def priority(ndis: Ndis, vc_handle: Any) -> int:
    """The receive priority of the parameters NDIS records for the call on `vc_handle`."""
    call = ndis.call_on(vc_handle)
    assert call is not None and call.parameters.MediaParameters is not None
    return call.parameters.MediaParameters.ReceivePriority


class ParkingMcm(SampleMcm):
    """Pends every QoS change and leaves its completion to the test."""

    def ProtocolCmModifyCallQoS(self, CallMgrVcContext: Any, CallParameters: Any) -> Any:
        return NDIS_STATUS_PENDING


class QosCallManager(SampleCallManager):
    """The sample call manager with just enough signaling for QoS: outgoing calls connect at
    once (NdisCmActivateVc, then SUCCESS); QoS changes are pended for the test to complete."""

    def ProtocolCmMakeCall(self, CallMgrVcContext: Any, CallParameters: Any, Party: Any) -> Any:
        self.activate_vc(CallMgrVcContext, CallParameters)
        return NDIS_STATUS_SUCCESS

    def ProtocolCmCloseCall(self, CallMgrVcContext: Any, Party: Any, Data: Any, Size: int) -> Any:
        self.deactivate_vc(CallMgrVcContext)
        return NDIS_STATUS_SUCCESS

    def ProtocolCmModifyCallQoS(self, CallMgrVcContext: Any, CallParameters: Any) -> Any:
        # The network agrees: tell the miniport first (NdisCmActivateVc), complete later.
        self.activate_vc(CallMgrVcContext, CallParameters)
        return NDIS_STATUS_PENDING


def cm_call(*, cm: type[QosCallManager] | None = None, mode: Mode = Mode.STRICT) -> SimpleNamespace:
    """A plain CoNDIS miniport ('atm0'), QosCallManager ('qoscm') and client 'alice' with a
    connected call on the call manager's Q.2931 AF."""
    ndis = Ndis(mode=mode)
    ndis.load_driver(SampleCoMiniport(ndis), "samplecominiport")
    ndis.load_driver((cm or QosCallManager)(ndis), "qoscm")
    alice = SampleClient(ndis)
    ndis.load_driver(alice, "alice")
    ndis.add_adapter("samplecominiport", "atm0")
    ndis.run()
    vc = alice.make_call(alice.afs("open")[0], qos(0))
    assert vc is not None and vc.call == "connected"
    return SimpleNamespace(ndis=ndis, alice=alice, vc=vc)
