"""Finding the driver under test: `path/to/file.py:factory` or `package.module:factory`.

The factory is called with the `Ndis` host and returns the driver object
(a `MiniportDriver` or `ProtocolDriver`, or anything that registers through
DriverEntry the same way) or a sequence of them. A driver class whose
constructor takes the host is itself a factory: `condis.samples:SampleMcm`.

A target file is imported with its directory first on `sys.path`, so it may
import the modules beside it. Whatever is wrong with the target itself (it
does not import, the factory raises or returns no driver, the driver does
not register as the role says) is a `TargetError`, raised once before any
run (`check_target`), with the user's own traceback: it is not a rule the
driver broke, and `condis verify` exits 2 for it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback as tb
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "ROLE_REGISTERS_AS",
    "Factory",
    "TargetError",
    "check_target",
    "load_target",
    "make_drivers",
]

Factory = Callable[[Any], Any]

#: what the driver under test must register as, by role (DriverBlock.roles)
ROLE_REGISTERS_AS = {
    "mcm": "MCM",
    "callmanager": "call manager",
    "client": "client",
    "miniport": "CoNDIS miniport",
}


class TargetError(ValueError):
    """The target cannot be verified as given; `traceback` is the user's, if any."""

    def __init__(self, message: str, traceback: str | None = None) -> None:
        super().__init__(message)
        self.traceback = traceback


def _user_traceback(exc: BaseException) -> str:
    """The exception's traceback without condis's own frames."""
    frames = [
        f for f in tb.extract_tb(exc.__traceback__) if f"{os.sep}condis{os.sep}" not in f.filename
    ]
    lines = tb.format_list(frames) + tb.format_exception_only(exc)
    return "Traceback (most recent call last):\n" + "".join(lines)


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
        if path.is_dir():
            raise TargetError(f"verify: TARGET {where!r} is a directory; name a .py file in it")
        if not path.is_file():
            raise TargetError(f"verify: TARGET file {where!r} does not exist")
        module_name = f"condis_target_{abs(hash(path.resolve()))}"
        loader = importlib.util.spec_from_file_location(module_name, path)
        if loader is None or loader.loader is None:
            raise TargetError(f"verify: cannot load {where!r} as Python")
        module = importlib.util.module_from_spec(loader)
        folder = str(path.resolve().parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)  # the target may import the modules beside it
        sys.modules[module_name] = module
        try:
            loader.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[module_name]
            raise TargetError(
                f"verify: TARGET file {where!r} failed to import: {type(exc).__name__}: {exc}",
                _user_traceback(exc),
            ) from exc
    else:
        try:
            module = importlib.import_module(where)
        except Exception as exc:
            raise TargetError(
                f"verify: cannot import {where!r}: {type(exc).__name__}: {exc}",
                _user_traceback(exc),
            ) from exc
    factory = getattr(module, name, None)
    if factory is None or not callable(factory):
        raise TargetError(f"verify: {where!r} has no callable {name!r}")
    return factory  # type: ignore[no-any-return]


def make_drivers(factory: Factory, ndis: Any) -> list[Any]:
    """Call the factory with the host; always a list of driver objects."""
    made = factory(ndis)
    drivers = list(made) if isinstance(made, Sequence) else [made]
    if not drivers:
        raise TargetError("verify: the factory returned no driver")
    for driver in drivers:
        if not callable(getattr(driver, "DriverEntry", driver)):
            raise TargetError(
                f"verify: the factory returned {type(driver).__name__}, which is not a driver "
                "(it has no DriverEntry)"
            )
    return drivers


def check_target(factory: Factory, role: str) -> None:
    """Build and load the target once on a host of its own; TargetError if it cannot be
    verified as `role` (module docstring)."""
    from condis.ndis import Ndis  # the host is built only to try the target
    from condis.status import NDIS_STATUS_SUCCESS
    from condis.verifier import Mode

    ndis = Ndis(mode=Mode.COLLECT, trace=False)
    try:
        drivers = make_drivers(factory, ndis)
    except TargetError:
        raise
    except Exception as exc:
        raise TargetError(
            f"verify: the factory raised {type(exc).__name__}: {exc}", _user_traceback(exc)
        ) from exc
    wanted = ROLE_REGISTERS_AS[role]
    roles: list[str] = []
    for n, driver in enumerate(drivers):
        try:
            status = ndis.load_driver(driver, f"target{n}")
        except Exception as exc:
            raise TargetError(
                f"verify: DriverEntry of the target raised {type(exc).__name__}: {exc}",
                _user_traceback(exc),
            ) from exc
        if status != NDIS_STATUS_SUCCESS:
            raise TargetError(f"verify: DriverEntry of the target returned {status}")
        roles.extend(ndis.driver(f"target{n}").roles)
    if wanted not in roles:
        what = ", ".join(roles) or "nothing CoNDIS"
        raise TargetError(
            f"verify: --role {role} needs a driver that registers as {_a(wanted)}; "
            f"the target registers as {what}"
        )


def _a(what: str) -> str:
    return ("an " if what[0] in "AEIMO" else "a ") + what
