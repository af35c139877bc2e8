"""The sequences that cross entities, each written once, in its documented order.

An engine knows its own object; what must happen to others when that object
changes is a sequence of the host, and lives here. Each class below is one
such sequence, built from the engines it drives; the engines call it
through the small event interfaces they declare (vc.VcEvents,
call.CallEvents), so no engine knows who listens.

* A call ends (its close completed, its VC is deleted, or a new call is
  filed on its VC): a QoS change the call manager pended on it must have
  been completed first (qos.py).
* A VC is deleted: the call filed on it ends (above).
"""

from __future__ import annotations

from condis.qos import QosEngine
from condis.records import Call, DriverBlock, Vc

__all__ = ["CallEnd"]


class CallEnd:
    """What NDIS checks when a call is over: `call.CallEvents` and `vc.VcEvents`."""

    __slots__ = ("_qos",)

    def __init__(self, qos: QosEngine) -> None:
        self._qos = qos

    def call_ended(self, call: Call, where: str, driver: DriverBlock) -> None:
        self._qos.call_ended(call, where, driver)

    def vc_deleting(self, vc: Vc, ddi: str, driver: DriverBlock) -> None:
        if vc.call is not None:
            self.call_ended(vc.call, ddi, driver)
