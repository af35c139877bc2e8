"""What a violation carries besides its rule, and the trace a host is built with.

`driver_stack` is the driver's own Python frames at the moment of the
violation (the `!analyze -v` stack of a bug check, with condis's frames left
out); `live_handles` lists every live handle as `!ndiskd.af` and
`!ndiskd.vc` would, with where each was born. Both are computed only when a
rule is broken.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from types import FrameType

from condis.handles import HandleTable

__all__ = ["driver_stack", "live_handles"]


_CONDIS = os.path.dirname(os.path.abspath(__file__)) + os.sep
_SAMPLES = _CONDIS + "samples" + os.sep
#: Python's own and installed packages' code (click, pytest...): not the driver's
_LIBRARIES = tuple(
    {os.path.abspath(p) + os.sep for k, p in sysconfig.get_paths().items() if "lib" in k}
)


def driver_stack(limit: int = 8) -> list[str]:
    """The Python frames of driver code on the stack now, innermost last.

    A driver's code runs inside condis (NDIS calls its handler, or runs its
    work item), so its frames are those inner to the outermost condis frame
    that are not condis's own (its sample drivers' are kept: they are
    drivers too) nor Python's or an installed library's. When a test or
    script called the DDI itself, with no driver code between, the stack is
    that caller's line.
    """
    frames: list[tuple[bool, str | None]] = []  # (condis's own, where if driver code)
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        ours = name.startswith(_CONDIS) and not name.startswith(_SAMPLES)
        library = name.startswith(_LIBRARIES) or not name.endswith(".py")
        where = None if ours or library else f"{name}:{frame.f_lineno} in {frame.f_code.co_name}"
        frames.append((ours, where))
        frame = frame.f_back
    outermost = max((i for i, (ours, _) in enumerate(frames) if ours), default=-1)
    found = [w for _, w in frames[:outermost] if w is not None]
    if not found:
        found = [w for _, w in frames[outermost + 1 :] if w is not None][:1]
    return found[:limit][::-1]


def live_handles(handles: HandleTable) -> list[str]:
    """Every live handle: label, the record it stands for and its state, where it was born."""
    out = []
    for handle, obj in handles.live():
        state = getattr(obj, "state", None)
        what = type(obj).__name__ + ("" if state is None else f" {state.value}")
        born = "" if handle.born is None else f" (from #{handle.born[0]} {handle.born[1]})"
        out.append(f"{handle.label}: {what}{born}")
    return out
