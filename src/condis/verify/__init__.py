"""`condis verify`: run anyone's driver through the conformance workload."""

from condis.verify.runner import VerifyRun, plan, run_one, verify
from condis.verify.target import TargetError, check_target, load_target, make_drivers
from condis.verify.workloads import ROLES, STAGES, Setup

__all__ = [
    "ROLES",
    "STAGES",
    "Setup",
    "TargetError",
    "VerifyRun",
    "check_target",
    "load_target",
    "make_drivers",
    "plan",
    "run_one",
    "verify",
]
