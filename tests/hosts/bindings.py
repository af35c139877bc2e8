"""A plain (not CoNDIS) protocol for the binding and determinism tests.

`Proto` opens its binding in ProtocolBindAdapterEx and closes it in the unbind;
each constructor argument makes one deviation from that.
"""

from __future__ import annotations

from typing import Any

from condis import (
    NDIS_MEDIUM,
    NDIS_OPEN_PARAMETERS,
    NDIS_STATUS,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    Ndis,
    ProtocolDriver,
)
from condis.bindings import BindingState, OpenState
from condis.handles import BindContextHandle, BindingHandle, UnbindContextHandle

SUCCESS = NDIS_STATUS_SUCCESS


class Proto(ProtocolDriver):
    """A plain (not CoNDIS) protocol: opens in ProtocolBindAdapterEx, closes in the unbind.

    Each argument makes one deviation. `seen` records the binding's (state, open
    state) as NDIS reports it at each step the protocol sees.
    """

    def __init__(
        self,
        ndis: Ndis,
        name: str = "p",
        *,
        adapter_name: str | None = None,
        media: list[NDIS_MEDIUM] | None = None,
        opens: int = 1,
        close_in_bind: bool = False,
        bind_status: int | None = None,
        closes: int = 1,
        unbind_status: int | None = None,
    ) -> None:
        super().__init__(ndis)
        self.name, self.adapter_name, self.media = name, adapter_name, media
        self.opens, self.close_in_bind, self.bind_status = opens, close_in_bind, bind_status
        self.closes, self.unbind_status = closes, unbind_status
        self.opened: list[tuple[NDIS_STATUS, BindingHandle | None]] = []
        self.closed: list[NDIS_STATUS] = []
        self.seen: list[tuple[str, BindingState, OpenState]] = []
        self.params = NDIS_OPEN_PARAMETERS()
        self.adapter = ""
        self.handle: BindingHandle | None = None
        self.bind_context: BindContextHandle | None = None
        self.unbind_context: UnbindContextHandle | None = None

    def look(self, where: str) -> None:
        b = self.ndis.binding(self.name, self.adapter)
        self.seen.append((where, b.state, b.open_state))

    def open(self) -> NDIS_STATUS:
        assert self.driver_handle is not None and self.bind_context is not None
        status, handle = self.ndis.NdisOpenAdapterEx(
            self.driver_handle, self, self.params, self.bind_context
        )
        self.opened.append((status, handle))
        self.handle = self.handle or handle
        return status

    def close(self) -> NDIS_STATUS:
        assert self.handle is not None
        self.closed.append(self.ndis.NdisCloseAdapterEx(self.handle))
        return self.closed[-1]

    def ProtocolBindAdapterEx(
        self, ProtocolDriverContext: object, BindContext: Any, BindParameters: Any
    ) -> int:
        self.bind_context, self.adapter = BindContext, BindParameters.AdapterName
        self.params = NDIS_OPEN_PARAMETERS(
            AdapterName=self.adapter_name or self.adapter,
            MediumArray=list(self.media if self.media is not None else [BindParameters.MediaType]),
        )
        statuses = [self.open() for _ in range(self.opens)]
        status = statuses[0] if statuses else NDIS_STATUS_PENDING
        if self.close_in_bind and status == SUCCESS:
            self.close()
        self.look("bind")
        return status if self.bind_status is None else self.bind_status

    def ProtocolOpenAdapterCompleteEx(self, ProtocolBindingContext: object, Status: int) -> None:
        self.look("open complete")
        assert self.bind_context is not None
        self.ndis.NdisCompleteBindAdapterEx(self.bind_context, Status)

    def ProtocolUnbindAdapterEx(self, UnbindContext: Any, ProtocolBindingContext: object) -> int:
        self.unbind_context = UnbindContext
        statuses = [self.close() for _ in range(self.closes)]
        self.look("unbind")
        if self.unbind_status is not None:
            return self.unbind_status
        return statuses[0] if statuses else SUCCESS

    def ProtocolCloseAdapterCompleteEx(self, ProtocolBindingContext: object) -> None:
        self.look("close complete")
        assert self.unbind_context is not None
        self.ndis.NdisCompleteUnbindAdapterEx(self.unbind_context)
