"""The demo company: a fictional telecom with known, planted truths.

``build_demo`` builds a workspace from it; ``generate_company`` returns its tables in
memory for tests. What was planted is written to ``ground_truth.json``.
"""

from smokejumper.simulate.build import Company, DemoSummary, build_demo, generate_company
from smokejumper.simulate.generate import Simulation
from smokejumper.simulate.model import SIZES

__all__ = ["SIZES", "Company", "DemoSummary", "Simulation", "build_demo", "generate_company"]
