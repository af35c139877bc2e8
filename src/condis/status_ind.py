"""Status indications from a CoNDIS miniport.

Theory of operation (guide/condis-miniport-driver-status-indications.md and
nf-ndis-ndismcoindicatestatusex): a miniport's NdisMCoIndicateStatusEx with
no VC goes to every protocol bound to the adapter; with a VC, to the
protocols sharing that VC (ProtocolCoStatusEx).
"""

from __future__ import annotations

from condis.core import Engine
from condis.crossing import ddi, handler
from condis.handles import AdapterHandle, VcHandle
from condis.machines import BindingState
from condis.records import Adapter, Binding, Vc
from condis.structs import NDIS_STATUS_INDICATION

__all__ = ["NDIS_STATUS_INDICATION", "StatusEngine"]

handler("ProtocolCoStatusEx")


class StatusEngine(Engine):
    """The status indication DDI."""

    __slots__ = ()

    @ddi("NdisMCoIndicateStatusEx")
    def NdisMCoIndicateStatusEx(
        self,
        MiniportAdapterHandle: AdapterHandle,
        NdisVcHandle: VcHandle | None,
        StatusIndication: NDIS_STATUS_INDICATION,
    ) -> None:
        """A CoNDIS miniport reports a status change (nf-ndis-ndismcoindicatestatusex).

        NDIS calls ProtocolCoStatusEx of every bound protocol (no VC) or of the
        protocols that share the VC.
        """
        name = "NdisMCoIndicateStatusEx"
        if not isinstance(StatusIndication, NDIS_STATUS_INDICATION):
            raise TypeError(
                f"{name}: StatusIndication must be an NDIS_STATUS_INDICATION, "
                f"not {type(StatusIndication).__name__}"
            )
        adapter = self.resolve.adapter(name, MiniportAdapterHandle)
        if adapter is None:
            return None
        ok, vc = self.resolve.optional(name, "NdisVcHandle", NdisVcHandle, VcHandle)
        if not ok or not (vc is None or isinstance(vc, Vc)):
            return None
        with self.k.begin(name, adapter.driver, handle=MiniportAdapterHandle) as c:
            for binding, vc_context in self._status_targets(adapter, vc):
                co = binding.co_handlers
                if co is None or co.CoStatusHandlerEx is None:
                    continue
                self.k.call_void(
                    binding.protocol,
                    "ProtocolCoStatusEx",
                    co.CoStatusHandlerEx,
                    binding.context,
                    vc_context,
                    StatusIndication,
                    handle=binding.handle,
                )
            return c.void()

    @staticmethod
    def _status_targets(adapter: Adapter, vc: Vc | None) -> list[tuple[Binding, object]]:
        running = [b for b in adapter.bindings if b.state is BindingState.RUNNING]
        if vc is None:
            return [(b, None) for b in running]
        out: list[tuple[Binding, object]] = []
        if vc.af is not None:
            out.append((vc.af.client, vc.client_context))
            if vc.af.registration.binding is not None:
                out.append((vc.af.registration.binding, vc.cm_context))
        else:
            out.extend((b, vc.cm_context) for b in running if b.protocol is vc.creator)
        return out
