"""The demo company's tables: canonical schema, keys, ranges, references, period, size,
determinism."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from smokejumper.schema import TABLES, table_spec
from smokejumper.simulate import generate_company
from smokejumper.simulate import model as m

ARROW_TYPES = {"string": pa.string(), "int": pa.int64(), "float": pa.float64(),
               "bool": pa.bool_(), "timestamp": pa.timestamp("us")}


@pytest.mark.parametrize("name", list(TABLES))
def test_every_canonical_column_with_its_type(company, name) -> None:
    table = company.tables[name]
    spec = table_spec(name, m.DIMENSIONS)
    assert table.column_names[: len(TABLES[name].columns)] == TABLES[name].column_names
    assert set(table.column_names) == set(spec.column_names)
    for column in spec.columns:
        assert table.schema.field(column.name).type == ARROW_TYPES[column.type], column.name


@pytest.mark.parametrize("name", list(TABLES))
def test_keys_unique_required_present_ranges_respected(frames, name) -> None:
    frame = frames[name]
    spec = TABLES[name]
    assert len(frame) > 0
    assert not frame.duplicated(list(spec.key)).any()
    for column in spec.columns:
        values = frame[column.name]
        if column.required:
            assert values.notna().all(), column.name
        present = values.dropna()
        if column.minimum is not None:
            assert (present >= column.minimum).all(), column.name
        if column.maximum is not None:
            assert (present <= column.maximum).all(), column.name
        if column.type == "int":
            assert (present == present.round()).all(), column.name


def test_values_come_from_the_company(frames) -> None:
    x, r = frames["interactions"], frames["responses"]
    assert set(x.touchpoint) == set(m.TOUCHPOINTS)
    assert set(x.channel) == set(m.CHANNELS)
    assert set(x.contact_reason) == set(m.REASONS)
    assert set(r.source) == set(m.SOURCES)
    assert set(r.region) == set(m.REGIONS) == set(frames["customers"].region)
    assert set(r.segment) == set(m.SEGMENTS)
    assert set(frames["outcomes"].kind) == {"churn", "renewal", "purchase"}


def test_references_hold(frames) -> None:
    x, r, c, e = (frames[k] for k in ("interactions", "responses", "customers", "employees"))
    customers = set(c.customer_id)
    assert set(x.customer_id) <= customers
    assert set(r.customer_id) <= customers
    assert set(frames["outcomes"].customer_id) <= customers
    assert set(r.interaction_id.dropna()) <= set(x.interaction_id)
    assert set(x.agent_id.dropna()) <= set(e.employee_id)
    assert set(x.team_id.dropna()) <= set(e.team_id)
    linked = r.dropna(subset=["interaction_id"]).merge(
        x, on="interaction_id", suffixes=("", "_x"))
    for column in ("customer_id", "touchpoint", "channel", "agent_id", "team_id", "region",
                   "segment", "contact_reason"):
        same = (linked[column] == linked[column + "_x"]) | (
            linked[column].isna() & linked[column + "_x"].isna())
        assert same.all(), column
    assert (linked.ts > linked.ts_x).all()  # feedback comes after the contact
    # dimension columns are the customer's
    by_customer = c.set_index("customer_id")
    assert (x.region.to_numpy() == by_customer.region.loc[x.customer_id].to_numpy()).all()
    assert (r.segment.to_numpy() == by_customer.segment.loc[r.customer_id].to_numpy()).all()


def test_agents_only_work_while_employed(frames) -> None:
    x = frames["interactions"].dropna(subset=["agent_id"])
    e = frames["employees"].set_index("employee_id")
    hired = e.hired_at.loc[x.agent_id].to_numpy()
    left = e.left_at.loc[x.agent_id].to_numpy()
    assert (x.ts.to_numpy() >= hired).all()
    assert (pd.isna(left) | (x.ts.to_numpy() < left)).all()
    assert (e.left_at.dropna() > e.hired_at[e.left_at.notna()]).all()
    assert e.role.isin(["agent", "senior_agent", "store_advisor", "technician",
                        "team_lead"]).all()
    assert 0.05 < e.left_at.notna().mean() < 0.4  # attrition


def test_twelve_months_of_2025(frames) -> None:
    for name in ("interactions", "responses", "outcomes"):
        ts = frames[name].ts
        assert ts.min() >= pd.Timestamp("2025-01-01")
        assert ts.max() < pd.Timestamp("2026-01-01")
        assert ts.dt.month.nunique() == 12
        assert ts.max() - ts.min() > pd.Timedelta(days=360)


def test_no_contact_after_churn_and_outcomes_agree(frames) -> None:
    c = frames["customers"].set_index("customer_id")
    x = frames["interactions"]
    churned = c.churned_at.loc[x.customer_id].to_numpy()
    assert (pd.isna(churned) | (x.ts.to_numpy() < churned)).all()
    joined = c.joined_at.loc[x.customer_id].to_numpy()
    assert (x.ts.to_numpy() > joined).all()
    events = frames["outcomes"]
    churn = events[events.kind == "churn"].set_index("customer_id").ts.sort_index()
    expected = c.churned_at.dropna().sort_index()
    pd.testing.assert_series_equal(churn, expected, check_names=False)
    assert 0.05 < c.churned_at.notna().mean() < 0.25


def test_sizes_and_shapes(frames) -> None:
    r, x = frames["responses"], frames["interactions"]
    assert 45_000 <= len(r) <= 62_000  # small ~ 50k responses
    assert len(r) < len(x) < 2 * len(r)
    assert 0.03 < r.interaction_id.isna().mean() < 0.2  # reviews, social, relationship
    assert 0.3 <= r.comment.notna().mean() <= 0.6
    assert 0.7 < r.nps.notna().mean() < 0.95
    assert r.csat.notna().mean() < r.nps.notna().mean()
    assert r.ces.notna().mean() < r.csat.notna().mean()
    assert 0.0 < x.transcript.notna().mean() <= 0.05
    assert (x.transcript.dropna().index.isin(x.index[x.channel == "chat"])).all()
    assert x.upsell[x.channel == "self_service"].isna().all()
    assert x.order_value.notna().mean() > 0.03


def test_sample_sizes_vary_by_agent(frames) -> None:
    counts = frames["responses"].agent_id.value_counts()
    assert counts.min() < 20 and counts.max() > 10 * counts.median() / 3


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_same_seed_same_bytes(company) -> None:
    again = generate_company("small", seed=7)
    for name, table in company.tables.items():
        assert _parquet_bytes(table) == _parquet_bytes(again.tables[name]), name
    assert again.truth == company.truth


def test_other_seed_other_data() -> None:
    one = generate_company("small", seed=1, customers=2_000)
    two = generate_company("small", seed=2, customers=2_000)
    assert not one.tables["responses"].equals(two.tables["responses"])
    assert one.truth["agents"] != two.truth["agents"]
    again = generate_company("small", seed=1, customers=2_000)
    assert one.tables["responses"].equals(again.tables["responses"])


def test_unknown_size_is_a_user_error() -> None:
    from smokejumper.errors import SmokejumperError

    with pytest.raises(SmokejumperError, match="unknown demo size"):
        generate_company("huge")


def test_fix_assignment_can_be_recomputed_from_the_id(frames, truth) -> None:
    x = frames["interactions"].merge(frames["interaction_truth"], on="interaction_id")
    numbers = x.customer_id.str[1:].astype(np.int64)
    recomputed = (numbers * 2654435761 % 2**32) % 100 < 30
    assert (recomputed == x.treated).all()
    customers = frames["customers"].customer_id.str[1:].astype(int)
    treated = sum(1 for n in customers if (n * 2654435761 % 2**32) % 100 < 30)
    assert treated == truth["fix_effect"]["treated_customers"]
