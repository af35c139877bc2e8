"""Rules, the verifier that enforces them, and fault injection."""

from condis.verifier.faults import FaultInjector
from condis.verifier.rules import RULES, Rule, rule
from condis.verifier.verifier import Mode, Verifier, Violation

__all__ = ["RULES", "FaultInjector", "Mode", "Rule", "Verifier", "Violation", "rule"]
