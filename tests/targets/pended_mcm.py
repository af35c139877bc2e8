"""The sample MCM completing what it may pend from work items: many schedules."""

from __future__ import annotations

from condis import Ndis
from condis.samples import SampleMcm


def factory(ndis: Ndis) -> SampleMcm:
    return SampleMcm(ndis, completion="pended")
