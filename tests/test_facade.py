"""The Ndis facade: no mixins, every DDI a typed route to the engine that implements it."""

from __future__ import annotations

import inspect

import pytest

from condis import Ndis
from condis.catalogue import CATALOGUE, DdiKind
from condis.crossing import HANDLERS, IMPLEMENTED
from condis.routes import Route

ROUTES = Ndis.routes()


def test_ndis_is_built_by_composition() -> None:
    condis_classes = [c for c in Ndis.__mro__ if c.__module__.startswith("condis")]
    assert condis_classes == [Ndis]


def test_every_ddi_condis_implements_is_routed() -> None:
    """IMPLEMENTED holds the DDIs and the handlers; every name that is not a handler
    NDIS calls is a DDI of the facade, and the other way round."""
    ddis = IMPLEMENTED - set(HANDLERS)
    assert ddis == set(ROUTES)
    callbacks = {e.name for e in CATALOGUE.values() if e.kind is DdiKind.CALLBACK}
    assert callbacks <= set(HANDLERS)


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_a_route_reaches_its_engine_with_the_wdk_signature(name: str) -> None:
    ndis = Ndis()
    route = ROUTES[name]
    assert isinstance(route, Route) and route.name == name
    engine = getattr(ndis, route.engine)
    owner = route.method.__qualname__.split(".")[0]
    assert type(engine).__name__ == owner
    bound = getattr(ndis, name)
    assert bound.__func__ is route.method
    assert bound.__self__ is engine
    expected = inspect.signature(route.method)
    params = list(expected.parameters.values())[1:]  # without self
    assert list(inspect.signature(bound).parameters.values()) == params
    assert Ndis.__dict__[name].__doc__ == route.method.__doc__


def test_two_hosts_route_to_their_own_engines() -> None:
    a, b = Ndis(), Ndis()
    assert a.NdisClMakeCall.__self__ is not b.NdisClMakeCall.__self__
