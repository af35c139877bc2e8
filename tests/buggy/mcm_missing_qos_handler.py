"""CoNdisMissingEntryPoint: an MCM that does not register ProtocolCmModifyCallQoS.

The NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS page asks for every entry point,
with placeholders returning NDIS_STATUS_NOT_SUPPORTED; this MCM leaves
CmModifyCallQoSHandler unset, so a client's NdisClModifyCallQoS reaches a NULL
entry point.
"""

from __future__ import annotations

from condis import Ndis
from condis.samples import SampleMcm

ROLE = "mcm"
RULE = "CoNdisMissingEntryPoint"


class NoQosMcm(SampleMcm):
    # The mistake: no ProtocolCmModifyCallQoS, not even a placeholder.
    ProtocolCmModifyCallQoS = None  # type: ignore[assignment]


def factory(ndis: Ndis) -> NoQosMcm:
    return NoQosMcm(ndis)
