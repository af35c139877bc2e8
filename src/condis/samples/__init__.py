"""Sample drivers written the way WDK samples are: an MCM, a CoNDIS client,
a stand-alone call manager and the plain CoNDIS miniport it runs over."""

from condis.samples.callmanager import SampleCallManager
from condis.samples.client import SampleClient
from condis.samples.mcm import SampleMcm
from condis.samples.miniport import SampleCoMiniport

__all__ = ["SampleCallManager", "SampleClient", "SampleCoMiniport", "SampleMcm"]
