"""Frontline: fair rankings, skill profiles, peer-coaching pairs and their measured effect.

Heavy aggregation runs on the engine through Ibis; the statistics run on the small
aggregate (:mod:`.shrinkage`).
"""

from smokejumper.frontline.measures import BUILTIN_MEASURES, Measure, RankConfig
from smokejumper.frontline.pairs import PairConfig, propose_pairs
from smokejumper.frontline.service import Frontline
from smokejumper.frontline.viewer import Viewer

__all__ = ["BUILTIN_MEASURES", "Frontline", "Measure", "PairConfig", "RankConfig", "Viewer",
           "propose_pairs"]
