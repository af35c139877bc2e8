"""Routes: how the `Ndis` facade hands each DDI to the engine that implements it.

A facade attribute ``NdisClMakeCall = route("calls", CallEngine.NdisClMakeCall)``
is a `Route`: reading it from a host gives the engine's bound method, so
``ndis.NdisClMakeCall(NdisVcHandle, CallParameters)`` calls
``ndis.calls.NdisClMakeCall(...)`` with the WDK signature intact; mypy and
an IDE see the engine method's parameters (a ParamSpec carries them). The
first read on a host stores the bound method on the host, so later calls go
straight to the engine. There is no code generation: the route is the
declaration, and `routes(cls)` lists them, which is what `condis ddi` reads
to say where each DDI lives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

__all__ = ["Route", "route", "routes"]

P = ParamSpec("P")
R = TypeVar("R")
E = TypeVar("E")


class Route(Generic[E, P, R]):
    """One DDI of the facade, routed to the method of the engine that implements it."""

    def __init__(self, engine: str, method: Callable[Concatenate[E, P], R]) -> None:
        self.engine = engine
        self.method = method
        self.name = method.__name__
        self.__doc__ = method.__doc__
        self.__wrapped__ = method

    def __set_name__(self, owner: type, name: str) -> None:
        if name != self.method.__name__:
            raise TypeError(f"{owner.__name__}.{name} routes to {self.method.__qualname__}")
        self.name = name

    @property
    def implementation(self) -> str:
        """Where the DDI lives: the engine method's module and qualified name."""
        return f"{self.method.__module__}.{self.method.__qualname__}"

    @overload
    def __get__(self, instance: None, owner: type) -> Route[E, P, R]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> Callable[P, R]: ...
    def __get__(self, instance: object | None, owner: type) -> Route[E, P, R] | Callable[P, R]:
        if instance is None:
            return self
        bound: Callable[P, R] = getattr(getattr(instance, self.engine), self.name)
        instance.__dict__[self.name] = bound
        return bound

    def __repr__(self) -> str:
        return f"<route {self.name} -> {self.engine}: {self.implementation}>"


def route(engine: str, method: Callable[Concatenate[E, P], R]) -> Route[E, P, R]:
    """Route a facade DDI to `method` of the host's attribute `engine`."""
    return Route(engine, method)


def routes(cls: type) -> Mapping[str, Route[Any, Any, Any]]:
    """Every route `cls` declares, by DDI name, in declaration order."""
    found: dict[str, Route[Any, Any, Any]] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, Route):
                found[name] = value
    return MappingProxyType(found)
