"""`condis explore`: systematic race testing of a driver, with minimal, replayable
counterexamples (choices.py: the choice points; search.py: the strategies and
shrinking; replay.py: the replay file)."""

from condis.explore.choices import ChoicePolicy, Decision, Divergence
from condis.explore.replay import Replay, load_replay, replay, save_replay
from condis.explore.search import STRATEGIES, Counterexample, ExploreResult, explore, shrink

__all__ = [
    "STRATEGIES",
    "ChoicePolicy",
    "Counterexample",
    "Decision",
    "Divergence",
    "ExploreResult",
    "Replay",
    "explore",
    "load_replay",
    "replay",
    "save_replay",
    "shrink",
]
