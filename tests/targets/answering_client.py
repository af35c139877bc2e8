"""The sample client with a SAP of its own, so the client workload's peer calls it."""

from condis import CO_ADDRESS_FAMILY_Q2931, CO_SAP
from condis.samples import SampleClient

SAP = CO_SAP(SapType=1, Sap=b"me")


def factory(ndis):
    return SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [SAP]})
