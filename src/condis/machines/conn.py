"""The CoNDIS machines: address families, SAPs, VCs, calls and parties.

(guide/registering-and-opening-an-address-family.md, registering-a-sap.md,
creating-a-vc.md, making-a-call.md, parties.md and the DDI pages each row
cites; the package docstring says how the tables are read.)
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from condis.constants import Key
from condis.machines.base import DDI, Machine, Transition, refuse, table
from condis.status import (
    NDIS_STATUS_CALL_ACTIVE,
    NDIS_STATUS_CLOSING,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_NOT_ACCEPTED,
)

__all__ = [
    "AF",
    "CALL",
    "PARTY",
    "SAP",
    "VC",
    "AfInput",
    "AfState",
    "AfTransition",
    "CallInput",
    "CallState",
    "PartyInput",
    "PartyState",
    "SapInput",
    "SapState",
    "VcInput",
    "VcState",
]


# --- address families (guide/registering-and-opening-an-address-family.md) -----------------------


class AfState(Key):
    OPENING = "opening"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class AfInput(Key):
    OPEN_SUCCEEDED = "open completed with NDIS_STATUS_SUCCESS"
    OPEN_FAILED = "open completed with a failure"
    CLOSE = "NdisClCloseAddressFamily"
    CLOSE_SUCCEEDED = "close completed"
    CLOSE_REFUSED = "close refused"
    NOTIFY_CLOSE = "Ndis(M)CmNotifyCloseAddressFamily"
    REGISTER_SAP = "NdisClRegisterSap"


#: The AF's rows are Transitions citing their page (af.py's old name for them).
AfTransition = Transition

_F, _FI = AfState, AfInput
_CLOSE_AF = DDI + "nf-ndis-ndisclcloseaddressfamily.md"
_NOTIFY = DDI + "nf-ndis-ndiscmnotifycloseaddressfamily.md"
_REG_SAP = DDI + "nf-ndis-ndisclregistersap.md"
AF: Final = Machine(
    "af",
    "address family (NdisAfHandle)",
    AfState,
    AfInput,
    AfState.OPENING,
    table(
        {
            (_F.OPENING, _FI.OPEN_SUCCEEDED): Transition(
                _F.OPEN, DDI + "nf-ndis-ndiscmopenaddressfamilycomplete.md"
            ),
            (_F.OPENING, _FI.OPEN_FAILED): Transition(
                _F.CLOSED, DDI + "nc-ndis-protocol_cl_open_af_complete_ex.md"
            ),
            (_F.OPEN, _FI.CLOSE): Transition(_F.CLOSING, _CLOSE_AF),
            (_F.CLOSING, _FI.CLOSE_SUCCEEDED): Transition(
                _F.CLOSED, DDI + "nf-ndis-ndiscmcloseaddressfamilycomplete.md"
            ),
            (_F.CLOSING, _FI.CLOSE_REFUSED): Transition(
                _F.OPEN, DDI + "nc-ndis-protocol_cm_close_af.md"
            ),
            (_F.OPEN, _FI.NOTIFY_CLOSE): Transition(_F.OPEN, _NOTIFY),
            (_F.OPEN, _FI.REGISTER_SAP): Transition(_F.OPEN, _REG_SAP),
        },
        (AfState, _FI.CLOSE, refuse(_CLOSE_AF, NDIS_STATUS_FAILURE)),
        (AfState, _FI.NOTIFY_CLOSE, refuse(_NOTIFY, NDIS_STATUS_FAILURE)),
        (AfState, _FI.REGISTER_SAP, refuse(_REG_SAP, NDIS_STATUS_FAILURE)),
    ),
)

# --- SAPs (guide/registering-a-sap.md, deregistering-a-sap.md) -----------------------------------


class SapState(Key):
    REGISTERING = "registering"
    REGISTERED = "registered"
    DEREGISTERING = "deregistering"
    DEREGISTERED = "deregistered"


class SapInput(Key):
    REGISTER_SUCCEEDED = "registration completed with NDIS_STATUS_SUCCESS"
    REGISTER_FAILED = "registration completed with a failure"
    DEREGISTER = "NdisClDeregisterSap"
    DEREGISTER_SUCCEEDED = "deregistration completed with NDIS_STATUS_SUCCESS"
    DEREGISTER_FAILED = "deregistration failed by the call manager"


_P, _PI = SapState, SapInput
_DEREG = DDI + "nf-ndis-ndisclderegistersap.md"
SAP: Final = Machine(
    "sap",
    "service access point (NdisSapHandle)",
    SapState,
    SapInput,
    SapState.REGISTERING,
    table(
        {
            (_P.REGISTERING, _PI.REGISTER_SUCCEEDED): Transition(_P.REGISTERED, _REG_SAP),
            (_P.REGISTERING, _PI.REGISTER_FAILED): Transition(_P.DEREGISTERED, _REG_SAP),
            (_P.REGISTERED, _PI.DEREGISTER): Transition(_P.DEREGISTERING, _DEREG),
            (_P.DEREGISTERING, _PI.DEREGISTER_SUCCEEDED): Transition(_P.DEREGISTERED, _DEREG),
            (_P.DEREGISTERING, _PI.DEREGISTER_FAILED): Transition(
                _P.REGISTERED, DDI + "nc-ndis-protocol_cm_deregister_sap.md"
            ),
            # a redundant call while the first is in progress
            (_P.DEREGISTERING, _PI.DEREGISTER): refuse(_DEREG, NDIS_STATUS_FAILURE),
            (_P.REGISTERING, _PI.DEREGISTER): refuse(
                DDI + "nc-ndis-protocol_cl_register_sap_complete.md",
                NDIS_STATUS_FAILURE,
                "NdisHandleNotYetValid",
            ),
            (_P.DEREGISTERED, _PI.DEREGISTER): refuse(
                _DEREG, NDIS_STATUS_FAILURE, "NdisHandleStale"
            ),
        }
    ),
)

# --- VCs (guide/creating-a-vc.md, activating-a-vc.md, deactivating-a-vc.md, deleting-a-vc.md) ----


class VcState(Key):
    CREATED = "created"
    ACTIVATING = "activating"
    REACTIVATING = "reactivating"
    ACTIVE = "active"
    DEACTIVATING = "deactivating"
    DELETED = "deleted"


class VcInput(Key):
    ACTIVATE = "NdisCmActivateVc or NdisMCmActivateVc"
    ACTIVATE_SUCCEEDED = "activation completed with NDIS_STATUS_SUCCESS"
    ACTIVATE_FAILED = "activation failed"
    DEACTIVATE = "NdisCmDeactivateVc or NdisMCmDeactivateVc"
    DEACTIVATE_SUCCEEDED = "deactivation completed with NDIS_STATUS_SUCCESS"
    DEACTIVATE_FAILED = "deactivation failed"
    DELETE = "NdisCoDeleteVc or NdisMCmDeleteVc by the VC's creator"
    SEND = "NdisCoSendNetBufferLists or NdisMCoIndicateReceiveNetBufferLists on the VC"
    CONNECT = (
        "a call made (ProtocolCmMakeCall, Ndis(M)CmMakeCallComplete) or dispatched "
        "(Ndis(M)CmDispatchIncomingCall) on the VC"
    )


_V, _VI = VcState, VcInput
_ACT, _DEACT = DDI + "nf-ndis-ndiscmactivatevc.md", DDI + "nf-ndis-ndiscmdeactivatevc.md"
_DEL = DDI + "nf-ndis-ndiscodeletevc.md"
_SEND = DDI + "nf-ndis-ndiscosendnetbufferlists.md"
_CONNECT = DDI + "nf-ndis-ndiscmmakecallcomplete.md"
VC: Final = Machine(
    "vc",
    "virtual connection (NdisVcHandle)",
    VcState,
    VcInput,
    VcState.CREATED,
    table(
        {
            (_V.CREATED, _VI.ACTIVATE): Transition(_V.ACTIVATING, _ACT),
            (_V.ACTIVE, _VI.ACTIVATE): Transition(_V.REACTIVATING, _ACT),
            (_V.ACTIVATING, _VI.ACTIVATE_SUCCEEDED): Transition(_V.ACTIVE, _ACT),
            (_V.ACTIVATING, _VI.ACTIVATE_FAILED): Transition(_V.CREATED, _ACT),
            (_V.REACTIVATING, _VI.ACTIVATE_SUCCEEDED): Transition(_V.ACTIVE, _ACT),
            # "MiniportCoActivateVc must leave the VC in a usable state"
            (_V.REACTIVATING, _VI.ACTIVATE_FAILED): Transition(
                _V.ACTIVE, DDI + "nc-ndis-miniport_co_activate_vc.md"
            ),
            (_V.ACTIVE, _VI.DEACTIVATE): Transition(_V.DEACTIVATING, _DEACT),
            (_V.DEACTIVATING, _VI.DEACTIVATE_SUCCEEDED): Transition(_V.CREATED, _DEACT),
            (_V.DEACTIVATING, _VI.DEACTIVATE_FAILED): Transition(_V.ACTIVE, _DEACT),
            (_V.CREATED, _VI.DELETE): Transition(_V.DELETED, _DEL),
            (_V.DEACTIVATING, _VI.DELETE): refuse(_DEL, NDIS_STATUS_CLOSING),
            # a deleted VC's handle is stale: resolution refuses it before this row
            (_V.DELETED, _VI.DELETE): refuse(_DEL, NDIS_STATUS_FAILURE, "NdisHandleStale"),
            (_V.ACTIVE, _VI.SEND): Transition(_V.ACTIVE, _SEND),
            (_V.REACTIVATING, _VI.SEND): Transition(_V.REACTIVATING, _SEND),
            (_V.ACTIVE, _VI.CONNECT): Transition(_V.ACTIVE, _CONNECT),
        },
        (VcState, _VI.ACTIVATE, refuse(_ACT, NDIS_STATUS_FAILURE)),
        (VcState, _VI.DEACTIVATE, refuse(_DEACT, NDIS_STATUS_NOT_ACCEPTED)),
        (
            (_V.ACTIVATING, _V.REACTIVATING, _V.ACTIVE),
            _VI.DELETE,
            refuse(_DEL, NDIS_STATUS_NOT_ACCEPTED, "CoNdisDeleteActiveVc"),
        ),
        (VcState, _VI.SEND, refuse(_SEND, rule="CoNdisSendOnInactiveVc")),
        (VcState, _VI.CONNECT, refuse(_CONNECT, rule="CoNdisCallOnInactiveVc")),
    ),
)

# --- calls (guide/making-a-call.md, indicating-an-incoming-call.md, the close pages) -------------


class CallState(Key):
    MAKING = "making"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    CONNECTED = "connected"
    CLOSE_INDICATED = "close indicated"
    CLOSING = "closing"
    CLOSED = "closed"


class CallInput(Key):
    MAKE_SUCCEEDED = "outgoing call completed with NDIS_STATUS_SUCCESS"
    MAKE_FAILED = "outgoing call failed"
    ACCEPTED = "client accepted the incoming call"
    REJECTED = "client rejected the incoming call"
    CONNECTED = "Ndis(M)CmDispatchCallConnected"
    INCOMING_CLOSE = "Ndis(M)CmDispatchIncomingCloseCall"
    CLOSE = "NdisClCloseCall"
    CLOSE_SUCCEEDED = "close completed with NDIS_STATUS_SUCCESS"
    CLOSE_FAILED = "close failed"
    MODIFY_QOS = "NdisClModifyCallQoS"
    INCOMING_QOS = "Ndis(M)CmDispatchIncomingCallQoSChange"
    ADD_PARTY = "NdisClAddParty"
    SEND = "NdisCoSendNetBufferLists or NdisMCoIndicateReceiveNetBufferLists on the call's VC"
    REPLACE = "NdisClMakeCall or Ndis(M)CmDispatchIncomingCall on the call's VC"


_C, _CI = CallState, CallInput
_MAKE = DDI + "nf-ndis-ndisclmakecall.md"
_INCOMING = DDI + "nf-ndis-ndiscmdispatchincomingcall.md"
_CONNECTED = DDI + "nf-ndis-ndiscmdispatchcallconnected.md"
_REMOTE = DDI + "nf-ndis-ndiscmdispatchincomingclosecall.md"
_CLOSE_CALL = DDI + "nf-ndis-ndisclclosecall.md"
_QOS = DDI + "nf-ndis-ndisclmodifycallqos.md"
_IN_QOS = DDI + "nf-ndis-ndiscmdispatchincomingcallqoschange.md"
_ADD = DDI + "nf-ndis-ndiscladdparty.md"
_LIVE_CALL = (
    _C.MAKING,
    _C.OFFERED,
    _C.ACCEPTED,
    _C.CONNECTED,
    _C.CLOSE_INDICATED,
    _C.CLOSING,
)
CALL: Final = Machine(
    "call",
    "call on a VC",
    CallState,
    CallInput,
    CallState.MAKING,
    table(
        {
            (_C.MAKING, _CI.MAKE_SUCCEEDED): Transition(_C.CONNECTED, _MAKE),
            (_C.MAKING, _CI.MAKE_FAILED): Transition(_C.CLOSED, _MAKE),
            (_C.OFFERED, _CI.ACCEPTED): Transition(_C.ACCEPTED, _INCOMING),
            (_C.OFFERED, _CI.REJECTED): Transition(_C.CLOSED, _INCOMING),
            (_C.ACCEPTED, _CI.CONNECTED): Transition(_C.CONNECTED, _CONNECTED),
            (_C.ACCEPTED, _CI.INCOMING_CLOSE): Transition(_C.CLOSE_INDICATED, _REMOTE),
            (_C.CONNECTED, _CI.INCOMING_CLOSE): Transition(_C.CLOSE_INDICATED, _REMOTE),
            (_C.CONNECTED, _CI.CLOSE): Transition(_C.CLOSING, _CLOSE_CALL),
            (_C.CLOSE_INDICATED, _CI.CLOSE): Transition(_C.CLOSING, _CLOSE_CALL),
            (_C.CLOSING, _CI.CLOSE_SUCCEEDED): Transition(_C.CLOSED, _CLOSE_CALL),
            (_C.CLOSING, _CI.CLOSE_FAILED): Transition(_C.CONNECTED, _CLOSE_CALL),
            # a client may negotiate the QoS of an offered call before it answers
            (_C.CONNECTED, _CI.MODIFY_QOS): Transition(_C.CONNECTED, _QOS),
            (_C.OFFERED, _CI.MODIFY_QOS): Transition(_C.OFFERED, _QOS),
            (_C.CONNECTED, _CI.INCOMING_QOS): Transition(_C.CONNECTED, _IN_QOS),
            (_C.CONNECTED, _CI.ADD_PARTY): Transition(_C.CONNECTED, _ADD),
            (_C.CONNECTED, _CI.SEND): Transition(_C.CONNECTED, _SEND),
            (_C.CLOSE_INDICATED, _CI.SEND): Transition(_C.CLOSE_INDICATED, _SEND),
            (_C.CLOSED, _CI.REPLACE): Transition(_C.CLOSED, _MAKE),
        },
        (CallState, _CI.CONNECTED, refuse(_CONNECTED, rule="CoNdisCallState")),
        (CallState, _CI.INCOMING_CLOSE, refuse(_REMOTE, rule="CoNdisCallState")),
        (CallState, _CI.CLOSE, refuse(_CLOSE_CALL, NDIS_STATUS_FAILURE, "CoNdisCallState")),
        (CallState, _CI.MODIFY_QOS, refuse(_QOS, NDIS_STATUS_FAILURE)),
        (CallState, _CI.INCOMING_QOS, refuse(_IN_QOS, rule="CoNdisCallState")),
        (CallState, _CI.ADD_PARTY, refuse(_ADD, NDIS_STATUS_FAILURE)),
        (CallState, _CI.SEND, refuse(_SEND, rule="CoNdisSendOnInactiveVc")),
        (_LIVE_CALL, _CI.REPLACE, refuse(_MAKE, NDIS_STATUS_CALL_ACTIVE)),
    ),
)

# --- parties (guide/parties.md and the add and drop pages) ---------------------------------------


class PartyState(StrEnum):
    ADDING = "adding"
    CONNECTED = "connected"
    DROP_INDICATED = "drop indicated"
    DROPPING = "dropping"
    DROPPED = "dropped"


class PartyInput(Key):
    ADD_SUCCEEDED = "the add (or the party's call) completed with NDIS_STATUS_SUCCESS"
    ADD_FAILED = "the add (or the party's call) failed"
    DROP = "NdisClDropParty"
    DROP_SUCCEEDED = "drop completed with NDIS_STATUS_SUCCESS"
    DROP_FAILED = "drop failed"
    INCOMING_DROP = "Ndis(M)CmDispatchIncomingDropParty"
    CALL_CLOSED = "the party's call closed"


_Y, _YI = PartyState, PartyInput
_ADD_DONE = DDI + "nf-ndis-ndiscmaddpartycomplete.md"
_DROP = DDI + "nf-ndis-ndiscldropparty.md"
_IN_DROP = DDI + "nf-ndis-ndiscmdispatchincomingdropparty.md"
PARTY: Final = Machine(
    "party",
    "party of a multipoint call (NdisPartyHandle)",
    PartyState,
    PartyInput,
    PartyState.ADDING,
    table(
        {
            (_Y.ADDING, _YI.ADD_SUCCEEDED): Transition(_Y.CONNECTED, _ADD_DONE),
            (_Y.ADDING, _YI.ADD_FAILED): Transition(_Y.DROPPED, _ADD_DONE),
            (_Y.CONNECTED, _YI.DROP): Transition(_Y.DROPPING, _DROP),
            (_Y.DROP_INDICATED, _YI.DROP): Transition(_Y.DROPPING, _DROP),
            (_Y.DROPPING, _YI.DROP_SUCCEEDED): Transition(_Y.DROPPED, _DROP),
            (_Y.DROPPING, _YI.DROP_FAILED): Transition(_Y.CONNECTED, _DROP),
            (_Y.CONNECTED, _YI.INCOMING_DROP): Transition(_Y.DROP_INDICATED, _IN_DROP),
            (_Y.ADDING, _YI.CALL_CLOSED): Transition(_Y.DROPPED, _CLOSE_CALL),
            (_Y.CONNECTED, _YI.CALL_CLOSED): Transition(_Y.DROPPED, _CLOSE_CALL),
            (_Y.DROP_INDICATED, _YI.CALL_CLOSED): Transition(_Y.DROPPED, _CLOSE_CALL),
            (_Y.DROPPING, _YI.CALL_CLOSED): Transition(_Y.DROPPED, _CLOSE_CALL),
        },
        (PartyState, _YI.DROP, refuse(_DROP, NDIS_STATUS_FAILURE)),
        (PartyState, _YI.INCOMING_DROP, refuse(_IN_DROP, rule="CoNdisCallState")),
    ),
)

del _F, _FI, _P, _PI, _V, _VI, _C, _CI, _Y, _YI
