"""condis: Windows CoNDIS, played in Python.

Drivers (CoNDIS clients, stand-alone call managers, miniport call managers,
CoNDIS miniports) are Python objects; `Ndis` plays NDIS between them as the
WDK documents it, records every crossing, and checks the rules Static Driver
Verifier and Driver Verifier check. Start with `Ndis`, the samples in
`condis.samples`, and `condis demo`.
"""

from condis.constants import *  # noqa: F403
from condis.constants import __all__ as _constants_all
from condis.driver import MiniportDriver, ProtocolDriver
from condis.errors import BugCheck, CondisError, CondisInternalError, SchedulerError, SystemCrashed
from condis.ndis import Ndis
from condis.scheduler import FifoPolicy, RandomPolicy, ScriptedPolicy
from condis.status import *  # noqa: F403
from condis.status import __all__ as _status_all
from condis.structs import *  # noqa: F403
from condis.structs import __all__ as _structs_all
from condis.verifier import Mode

__version__ = "0.1.0"

__all__ = [
    "BugCheck",
    "CondisError",
    "CondisInternalError",
    "FifoPolicy",
    "MiniportDriver",
    "Mode",
    "Ndis",
    "ProtocolDriver",
    "RandomPolicy",
    "SchedulerError",
    "ScriptedPolicy",
    "SystemCrashed",
    *_constants_all,
    *_status_all,
    *_structs_all,
]
