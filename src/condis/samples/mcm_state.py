"""The sample MCM's per-object state: its contexts, as a WDK sample's .h would hold them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from condis.constants import NDIS_MEDIUM
from condis.handles import AdapterHandle, AfHandle, PartyHandle, SapHandle, VcHandle
from condis.spinlocks import NDIS_EVENT
from condis.structs import (
    CO_ADDRESS_FAMILY,
    CO_CALL_MANAGER_PARAMETERS,
    CO_CALL_PARAMETERS,
    CO_MEDIA_PARAMETERS,
    CO_SAP,
    CO_SPECIFIC_PARAMETERS,
)

__all__ = ["McmAdapter", "McmAf", "McmParty", "McmSap", "McmVc", "called_party"]


def called_party(sap: CO_SAP, **media: int) -> CO_CALL_PARAMETERS:
    """Call parameters addressed to `sap` on the sample MCM's loopback network.

    The called address travels in the media-specific parameters:
    ParamType is the SAP's SapType, Parameters its bytes.
    """
    return CO_CALL_PARAMETERS(
        CallMgrParameters=CO_CALL_MANAGER_PARAMETERS(),
        MediaParameters=CO_MEDIA_PARAMETERS(
            MediaSpecific=CO_SPECIFIC_PARAMETERS(ParamType=sap.SapType, Parameters=sap.Sap),
            **media,
        ),
    )


@dataclass(eq=False)
class McmAf:
    """CallMgrAfContext: the MCM's state for one client's open of one AF."""

    adapter: McmAdapter
    family: CO_ADDRESS_FAMILY
    handle: AfHandle
    open: bool = False
    notified: bool = False


@dataclass(eq=False)
class McmSap:
    """CallMgrSapContext: a SAP a client registered with the MCM."""

    af: McmAf
    sap: CO_SAP
    handle: SapHandle
    registered: bool = False

    @property
    def key(self) -> tuple[int, int, bytes]:
        return (self.af.family.AddressFamily, self.sap.SapType, self.sap.Sap)


@dataclass(eq=False)
class McmParty:
    """CallMgrPartyContext: one leaf of a multipoint call the MCM carries."""

    root: McmVc
    handle: PartyHandle | None
    #: the leaf's VC, created by the MCM for the incoming call at the leaf
    leaf: McmVc | None = None
    connected: bool = False
    #: "make" for the call's first party, "add" for NdisClAddParty's
    origin: str = "make"


@dataclass(eq=False)
class McmVc:
    """The MCM's per-VC state: CallMgrVcContext (a client's VC) or MiniportVcContext (its own)."""

    af: McmAf
    handle: VcHandle | None = None
    active: bool = False
    #: its client called NdisClCloseCall and the close has not completed: the VC is
    #: still active, but the MCM must not tell that client of a hang-up or a drop
    closing: bool = False
    #: the MCM told its client of an incoming close: a call is closed only once, however
    #: many ends (the leaves of a multipoint root) leave at once
    told_closed: bool = False
    #: how many calls the client has made on the VC: a VC it created outlives a
    #: call, and signalling queued for one call must not reach the next
    calls: int = 0
    parameters: CO_CALL_PARAMETERS | None = None
    #: True for a VC the MCM created for an incoming call (it deletes it)
    incoming: bool = False
    #: sends on the VC the MCM has yet to complete (it completes them from work items
    #: when pended), and whether it must delete the VC once they are done
    sends_pending: int = 0
    delete_when_sent: bool = False
    #: the VC at the other end of a point-to-point call, while the call is up
    peer: McmVc | None = None
    #: on a multipoint root: its parties; on a leaf: the party it is
    parties: list[McmParty] = field(default_factory=list)
    party: McmParty | None = None
    #: the parameters of a QoS change pended in ProtocolCmModifyCallQoS, until completed
    qos_pending: CO_CALL_PARAMETERS | None = None


@dataclass(eq=False)
class McmAdapter:
    """MiniportAdapterContext: the MCM's state for one NIC."""

    handle: AdapterHandle
    name: str
    medium: NDIS_MEDIUM
    afs: dict[AfHandle, McmAf] = field(default_factory=dict)
    #: registered SAPs by (AF type, SapType, Sap): how incoming calls find a client
    saps: dict[tuple[int, int, bytes], McmSap] = field(default_factory=dict)
    vcs: dict[VcHandle, McmVc] = field(default_factory=dict)
    work_outstanding: int = 0
    #: signalling NDIS had no work item for; run by the next work item or the halt
    backlog: list[Callable[[], None]] = field(default_factory=list)
    #: receive NBLs indicated and not yet returned
    receives_outstanding: int = 0
    notifies_outstanding: int = 0
    halt_event: NDIS_EVENT | None = None
    halted: bool = False
    #: the last status the NIC indicated, and OID values it answers
    link_speed: int = 155_520_000
