"""The invalid DDI calls both state machines make, and what the runtime must do
with each: reject it before changing anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import rule

from condis import (
    CO_ADDRESS_FAMILY,
    CO_ADDRESS_FAMILY_Q2931,
    DISPATCH_LEVEL,
    NDIS_STATUS_SUCCESS,
    Mode,
)
from condis.data import NET_BUFFER_LIST
from condis.handles import NDIS_HANDLE, AfHandle, VcHandle
from machines.base import HostBase
from machines.vocabulary import COMPLETIONS, FOREIGN_HANDLES, INDEX, MISUSES, nth, step, to


class Misuse(HostBase):
    """The invalid DDI calls both machines share, all made by one rule (`misuse`)."""

    # --- invalid DDI calls both machines share -------------------------------------------------

    @rule(which=st.sampled_from(MISUSES), index=INDEX)
    @step
    def misuse(self, which: str, index: int) -> None:
        """An invalid DDI call (one rule for all of them, so that they take a fair share
        of the steps): a handle that is stale, of the wrong kind or foreign; a call the
        runtime must refuse in the state at hand (`refuse_*`); a completion of nothing
        pending; a wrong Python type or a missing value. Nothing happens when nothing
        fits."""
        family, _, what = which.partition(": ")
        if family == "bad handle":
            ddi, _, how = what.partition(", ")
            self.call_with_a_bad_handle(ddi, how, index)
        elif family == "refuse":
            getattr(self, "refuse_" + what.lower().replace(" ", "_").replace("'", ""))(index)
        elif family == "complete":
            self.complete_what_is_not_pending(what, index)
        else:
            self.ddi_with_bad_arguments(what, index)

    def call_with_a_bad_handle(self, ddi: str, how: str, index: int) -> None:
        """NdisClCloseAddressFamily, NdisCoDeleteVc, NdisClMakeCall, NdisClCloseCall or
        NdisCoSendNetBufferLists with a stale, wrong-kind or foreign handle
        (NdisHandleStale, NdisHandleWrongKind, NdisHandleForeign)."""
        handle = self.bad_handle(AfHandle if ddi == "close AF" else VcHandle, how, index)
        if handle is None:
            return
        ndis = self.host
        call: Callable[[], object] = {
            "close AF": lambda: ndis.NdisClCloseAddressFamily(handle),
            "delete VC": lambda: ndis.NdisCoDeleteVc(handle),
            "make call": lambda: ndis.NdisClMakeCall(handle, to("bob")),
            "close call": lambda: ndis.NdisClCloseCall(handle, None, None, 0),
            "send": lambda: ndis.NdisCoSendNetBufferLists(handle, NET_BUFFER_LIST.of(b"x"), 0),
        }[ddi]
        self.rejected(f"{ddi} ({how} handle)", call)

    def refuse_af_handle_the_client_may_not_use(self, index: int) -> None:
        """NdisClCloseAddressFamily with an AF handle closed, closing or still opening
        (NdisHandleStale, NdisHandleNotYetValid)."""
        usable = {id(af.handle) for af in self.host.address_families if af.client_valid}
        afs = [h for h in self.seen if isinstance(h, AfHandle) and id(h) not in usable]
        if afs:
            ndis, handle = self.host, nth(afs, index)
            self.rejected(
                f"NdisClCloseAddressFamily({handle.label}, not the client's)",
                lambda: ndis.NdisClCloseAddressFamily(handle),
            )

    def refuse_close_af_with_vcs_on_it(self, index: int) -> None:
        """NdisClCloseAddressFamily on an AF that still has VCs (CoNdisAfCloseWithChildren)."""
        ndis = self.host
        afs = [
            af.handle
            for af in ndis.address_families
            if af.client_valid and af.state.value == "open" and any(vc.af is af for vc in ndis.vcs)
        ]
        if afs:
            handle = nth(afs, index)
            self.rejected(
                f"NdisClCloseAddressFamily({handle.label}, VCs on it)",
                lambda: ndis.NdisClCloseAddressFamily(handle),
            )

    def refuse_delete_a_busy_vc(self, index: int) -> None:
        """NdisCoDeleteVc on a VC that is active or carries a call or a send
        (CoNdisDeleteActiveVc)."""
        ndis = self.host
        busy = [
            vc.handle
            for vc in ndis.vcs
            if vc.state.value != "deactivating"
            and (
                vc.state.value != "created"
                or ndis.call_on(vc.handle) is not None
                or any(e.vc is vc for e in ndis.in_flight)
            )
        ]
        if busy:
            handle = nth(busy, index)
            self.rejected(
                f"NdisCoDeleteVc({handle.label}, busy)", lambda: ndis.NdisCoDeleteVc(handle)
            )

    def refuse_delete_a_vc_the_client_did_not_create(self, index: int) -> None:
        """A client deletes a VC its call manager created for it (CoNdisVcNotCreator)."""
        ndis = self.host
        theirs = [
            (vc.af.client.protocol.name, vc.handle)
            for vc in ndis.vcs
            if vc.af is not None and vc.creator is not vc.af.client.protocol
        ]
        if theirs:
            client, handle = nth(theirs, index)

            def delete() -> object:
                with self.as_driver(client):
                    return ndis.NdisCoDeleteVc(handle)

            self.rejected(f"NdisCoDeleteVc({handle.label}, not the creator)", delete)

    def refuse_close_a_call_that_is_not_up(self, index: int) -> None:
        """NdisClCloseCall on a VC with no call, or one not up (CoNdisCallState)."""
        ndis = self.host
        vcs = []
        for vc in ndis.vcs:
            call = ndis.call_on(vc.handle)
            state = None if call is None else call.state.value
            if vc.af is not None and state not in ("connected", "close indicated"):
                vcs.append(vc.handle)
        if vcs:
            handle = nth(vcs, index)
            self.rejected(
                f"NdisClCloseCall({handle.label}, no call up)",
                lambda: ndis.NdisClCloseCall(handle, None, None, 0),
            )

    def refuse_send_with_a_wrong_source_handle(self, index: int) -> None:
        """NdisCoSendNetBufferLists with an NBL whose SourceHandle is not its VC
        (CoNdisNblOwnership)."""
        ndis = self.host
        if ndis.vcs:
            vc = nth(ndis.vcs, index)
            other = None if index % 2 else ndis.handles.live()[0][0]
            nbl = NET_BUFFER_LIST.of(b"stray", SourceHandle=other)
            self.rejected(
                f"NdisCoSendNetBufferLists({vc.handle.label}, SourceHandle)",
                lambda: ndis.NdisCoSendNetBufferLists(vc.handle, nbl, 0),
            )

    def refuse_complete_a_send_never_made(self, index: int) -> None:
        """NdisMCoSendNetBufferListsComplete with an NBL nobody sent (CoNdisNblOwnership)."""
        ndis = self.host
        if ndis.vcs:
            vc = nth(ndis.vcs, index)
            nbl = NET_BUFFER_LIST.of(b"never sent", SourceHandle=vc.handle)
            self.rejected(
                f"NdisMCoSendNetBufferListsComplete({vc.handle.label}, never sent)",
                lambda: ndis.NdisMCoSendNetBufferListsComplete(vc.handle, nbl, 0),
            )

    def refuse_return_nbls_never_indicated(self, index: int) -> None:
        """NdisReturnNetBufferLists with an NBL NDIS never indicated (CoNdisNblOwnership)."""
        ndis, bindings = self.host, self.running_bindings()
        if bindings:
            binding = ndis.binding(*nth(bindings, index))
            handle, nbl = binding.handle, NET_BUFFER_LIST.of(b"not indicated")
            assert handle is not None
            self.rejected(
                f"NdisReturnNetBufferLists({binding.label}, never indicated)",
                lambda: ndis.NdisReturnNetBufferLists(handle, nbl, 0),
            )

    def refuse_open_af_at_dispatch_level(self, index: int) -> None:
        """A client calls NdisClOpenAddressFamilyEx at DISPATCH_LEVEL (its page says
        PASSIVE_LEVEL). Strict hosts only: a collect-mode host goes on after the report."""
        ndis, bindings = self.host, self.running_bindings()
        if self.mode is not Mode.STRICT or not bindings:
            return
        protocol, adapter = nth(bindings, index)
        handle = ndis.binding(protocol, adapter).handle
        family = CO_ADDRESS_FAMILY(CO_ADDRESS_FAMILY_Q2931, 3, 1)
        assert handle is not None

        def open_af() -> object:
            with self.as_driver(protocol, DISPATCH_LEVEL):
                return ndis.NdisClOpenAddressFamilyEx(handle, family, object())

        self.rejected(f"NdisClOpenAddressFamilyEx({handle.label}, DISPATCH_LEVEL)", open_af)

    def refuse_close_another_clients_af(self, index: int) -> None:
        """A client closes an AF that another client opened (NdisHandleForeign). Strict
        hosts only: a collect-mode host goes on after the report."""
        afs = self.client_afs("open")
        if self.mode is not Mode.STRICT or len(self.clients) < 2 or not afs:
            return
        owner, af = nth(afs, index)
        thief = nth([name for name in self.clients if name != self.name_of(owner)], index // 7)
        handle = af.handle
        assert handle is not None

        def close() -> object:
            with self.as_driver(thief):
                return self.host.NdisClCloseAddressFamily(handle)

        self.rejected(f"NdisClCloseAddressFamily({handle.label}, by {thief})", close)

    def refuse_a_call_event_in_the_wrong_state(self, index: int) -> None:
        """The call manager indicates a call event on a VC whose call is not in a state
        for it (CoNdisCallState): a connection, a remote close or a QoS change."""
        ndis = self.host
        event = nth(["call connected", "incoming close", "incoming QoS change"], index)
        allowed = {
            "call connected": ("accepted",),
            "incoming close": ("connected", "accepted"),
            "incoming QoS change": ("connected",),
        }[event]
        vcs = []
        for vc in ndis.vcs:
            current = ndis.call_on(vc.handle)
            if vc.af is not None and (current is None or current.state.value not in allowed):
                vcs.append(vc.handle)
        if not vcs:
            return
        handle = nth(vcs, index // 3)
        spelling = f"Ndis{self.SPELLING}Cm"
        call: Callable[[], object] = {
            "call connected": lambda: getattr(ndis, spelling + "DispatchCallConnected")(handle),
            "incoming close": lambda: getattr(ndis, spelling + "DispatchIncomingCloseCall")(
                NDIS_STATUS_SUCCESS, handle, None, 0
            ),
            "incoming QoS change": lambda: getattr(
                ndis, spelling + "DispatchIncomingCallQoSChange"
            )(handle, to("bob")),
        }[event]
        self.rejected(f"{event}({handle.label})", call)

    def refuse_the_other_spelling(self, index: int) -> None:
        """A call manager (de)activates a VC with the other kind's DDI: NdisMCm* over a
        plain miniport, NdisCm* on an MCM's VC (CoNdisMcmSpelling)."""
        ndis = self.host
        if not ndis.vcs:
            return
        handle = nth(ndis.vcs, index).handle
        wrong = "Ndis" if self.SPELLING == "M" else "NdisM"
        if index % 2:
            activate = getattr(ndis, wrong + "CmActivateVc")
            self.rejected(
                f"{wrong}CmActivateVc({handle.label})", lambda: activate(handle, to("bob"))
            )
        else:
            deactivate = getattr(ndis, wrong + "CmDeactivateVc")
            self.rejected(f"{wrong}CmDeactivateVc({handle.label})", lambda: deactivate(handle))

    def completion_call(self, name: str, handle: NDIS_HANDLE) -> Callable[[], object]:
        """A call of completion DDI `name` (a COMPLETIONS key) for `handle`, with SUCCESS."""
        ndis: Any = self.host
        ok = NDIS_STATUS_SUCCESS
        if name == "ClNotifyCloseAddressFamilyComplete":
            return lambda: ndis.NdisClNotifyCloseAddressFamilyComplete(handle, ok)
        if name == "ClIncomingCallComplete":
            return lambda: ndis.NdisClIncomingCallComplete(ok, handle, to("bob"))
        if name == "MCoActivateVcComplete":
            return lambda: ndis.NdisMCoActivateVcComplete(ok, handle, to("bob"))
        if name == "MCoDeactivateVcComplete":
            return lambda: ndis.NdisMCoDeactivateVcComplete(ok, handle)
        ddi = getattr(ndis, f"Ndis{self.SPELLING}{name}")
        args: tuple[object, ...] = {
            "CmOpenAddressFamilyComplete": (ok, handle, None),
            "CmCloseAddressFamilyComplete": (ok, handle),
            "CmRegisterSapComplete": (ok, handle, None),
            "CmDeregisterSapComplete": (ok, handle),
            "CmMakeCallComplete": (ok, handle, None, None, to("bob")),
            "CmCloseCallComplete": (ok, handle, None),
            "CmModifyCallQoSComplete": (ok, handle, to("bob")),
            "CmAddPartyComplete": (ok, handle, None, to("bob")),
            "CmDropPartyComplete": (ok, handle),
        }[name]
        return lambda: ddi(*args)

    def complete_what_is_not_pending(self, name: str, index: int) -> None:
        """A completion DDI for an operation that is not pending on that handle
        (CoNdisCompleteNotPending, CoNdisDoubleComplete, or a stale handle)."""
        kind, handle_kind = COMPLETIONS[name]
        candidates = [
            h for h in self.seen if isinstance(h, handle_kind) and not self.pending(kind, h)
        ]
        if candidates:
            handle = nth(candidates, index)
            self.rejected(f"{name}({handle.label})", self.completion_call(name, handle))

    def ddi_with_bad_arguments(self, which: str, index: int) -> None:
        """A DDI given a wrong Python type or a missing value: TypeError or ValueError."""
        ndis: Any = self.host
        vc = nth([*self.seen_of(VcHandle, live=True), FOREIGN_HANDLES[VcHandle]], index)
        af = nth([*self.seen_of(AfHandle, live=True), FOREIGN_HANDLES[AfHandle]], index)
        complete_open = getattr(ndis, f"Ndis{self.SPELLING}CmOpenAddressFamilyComplete")
        call: Callable[[], object] = {
            "AF handle of another type": lambda: ndis.NdisClCloseAddressFamily("NdisAfHandle#1"),
            "AF handle missing": lambda: ndis.NdisClCloseAddressFamily(None),
            "VC handle of another type": lambda: ndis.NdisCoDeleteVc(index),
            "call parameters of another type": lambda: ndis.NdisClMakeCall(vc, {"to": "bob"}),
            "no NBLs": lambda: ndis.NdisCoSendNetBufferLists(vc, None, 0),
            "NBLs of another type": lambda: ndis.NdisCoSendNetBufferLists(vc, b"raw", 0),
            "negative close data size": lambda: ndis.NdisClCloseCall(vc, None, None, -1),
            "no SAP": lambda: ndis.NdisClRegisterSap(af, object(), None),
            "status of another type": lambda: complete_open("SUCCESS", af, None),
        }[which]
        self.refused_arguments(which, call)
