"""The small demo company, generated once per session (a few seconds), with and without
its planted incidents."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from smokejumper.simulate import Company, generate_company


@pytest.fixture(scope="session")
def company() -> Company:
    return generate_company("small", seed=7)


@pytest.fixture(scope="session")
def quiet_company() -> Company:
    return generate_company("small", seed=7, incidents=False)


@pytest.fixture(scope="session")
def frames(company: Company) -> dict[str, pd.DataFrame]:
    names = list(company.tables) + list(company.sidecars)
    return {name: company.frame(name) for name in names}


@pytest.fixture(scope="session")
def truth(company: Company) -> dict[str, Any]:
    return company.truth

