"""Finding the driver under test: `path/to/file.py:factory` or `package.module:factory`.

The factory is called with the `Ndis` host and returns the driver object
(a `MiniportDriver` or `ProtocolDriver`, or anything that registers through
DriverEntry the same way) or a sequence of them. A driver class whose
constructor takes the host is itself a factory: `condis.samples:SampleMcm`.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["Factory", "load_target", "make_drivers"]

Factory = Callable[[Any], Any]


def load_target(spec: str) -> Factory:
    """The factory named by `spec`; ValueError saying what is wrong otherwise."""
    if not isinstance(spec, str) or ":" not in spec:
        raise ValueError(
            f"verify: TARGET must be 'path/to/file.py:factory' or 'package.module:factory', "
            f"not {spec!r}"
        )
    where, _, name = spec.rpartition(":")
    if not where or not name.isidentifier():
        raise ValueError(f"verify: TARGET {spec!r} must end in ':factory', a Python name")
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where)
        if not path.is_file():
            raise ValueError(f"verify: TARGET file {where!r} does not exist")
        module_name = f"condis_target_{abs(hash(path.resolve()))}"
        loader = importlib.util.spec_from_file_location(module_name, path)
        if loader is None or loader.loader is None:
            raise ValueError(f"verify: cannot load {where!r} as Python")
        module = importlib.util.module_from_spec(loader)
        sys.modules[module_name] = module
        loader.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise ValueError(f"verify: cannot import {where!r}: {exc}") from exc
    factory = getattr(module, name, None)
    if factory is None or not callable(factory):
        raise ValueError(f"verify: {where!r} has no callable {name!r}")
    return factory  # type: ignore[no-any-return]


def make_drivers(factory: Factory, ndis: Any) -> list[Any]:
    """Call the factory with the host; always a list of driver objects."""
    made = factory(ndis)
    drivers = list(made) if isinstance(made, Sequence) else [made]
    if not drivers:
        raise ValueError("verify: the factory returned no driver")
    return drivers
