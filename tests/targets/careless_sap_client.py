"""A client that takes a failed SAP registration for a success.

NdisClRegisterSap fails with NDIS_STATUS_RESOURCES when NDIS cannot
allocate; this client does not look at the status, records the SAP as
registered, and deregisters it at teardown with the handle it never got.
Without allocation failures nothing is wrong; `condis explore --faults`
finds it.
"""

from __future__ import annotations

from typing import Any

from condis import CO_ADDRESS_FAMILY_Q2931, CO_SAP, Ndis
from condis.samples import SampleClient

SAP = CO_SAP(SapType=1, Sap=b"careless")


class CarelessSapClient(SampleClient):
    def __init__(self, ndis: Ndis) -> None:
        super().__init__(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [SAP]})

    def _sap_registered(self, entry: Any, handle: Any, status: Any) -> None:
        entry.handle, entry.state = handle, "registered"  # the bug: status not looked at
        self._continue_close(entry.af)


def factory(ndis: Ndis) -> CarelessSapClient:
    return CarelessSapClient(ndis)
