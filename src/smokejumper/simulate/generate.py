"""The simulation, block by block of customers: each block's contacts, churn, feedback,
comments and transcripts become Arrow tables; what the ground truth needs is summed up
as it goes, so that even the large company never has to sit in memory at once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa

from smokejumper.errors import SmokejumperError
from smokejumper.simulate import model as m
from smokejumper.simulate.churn import decide_churn, outcome_events
from smokejumper.simulate.comments import CommentPool, comment_truth_table, write_comments
from smokejumper.simulate.company import FIRST_NAMES, Staff, generate_staff
from smokejumper.simulate.customers import (
    Customers,
    customer_ids,
    customers_table,
    format_ids,
    generate_customers,
    labels,
    timestamps,
)
from smokejumper.simulate.interactions import (
    FAILURE_KINDS,
    REPEAT,
    Batch,
    Calendar,
    Router,
    Scenario,
    concat,
    generate_contacts,
    take,
)
from smokejumper.simulate.responses import (
    KIND_SOURCE,
    KINDS,
    SURVEY,
    linked_responses,
    nps_from,
    score,
    unlinked_responses,
)
from smokejumper.simulate.transcripts import (
    TranscriptPool,
    transcript_truth_table,
    write_transcripts,
)

TABLE_NAMES = ("customers", "employees", "interactions", "responses", "outcomes")
SIDECAR_NAMES = ("comment_truth", "transcript_truth", "interaction_truth")


def nps_points(latent: np.ndarray) -> np.ndarray:
    """+1 promoter, -1 detractor, 0 passive, for the score a latent gives."""
    score_ = nps_from(latent)
    return (score_ >= 9).astype(np.int64) - (score_ <= 6).astype(np.int64)


@dataclass
class Tally:
    """Sums over blocks; ``add`` merges a dict of numbers or arrays."""

    sums: dict[str, Any] = field(default_factory=dict)

    def add(self, key: str, value: Any) -> None:
        if key in self.sums:
            self.sums[key] = self.sums[key] + value
        else:
            self.sums[key] = value

    def get(self, key: str, default: Any = 0) -> Any:
        return self.sums.get(key, default)


class Simulation:
    """The demo company for one size and seed; iterate :meth:`blocks` for its data."""

    def __init__(self, size: str = "small", seed: int = 7, incidents: bool = True,
                 customers: int | None = None) -> None:
        if size not in m.SIZES:
            raise SmokejumperError(f"unknown demo size '{size}': choose one of "
                                   f"{', '.join(m.SIZES)}")
        self.size = m.SIZES[size]
        if customers is not None:  # a scaled-down company with the same staff (tests)
            self.size = replace(self.size, customers=customers,
                                chunk_customers=min(customers, self.size.chunk_customers))
        self.seed = int(seed)
        self.incidents = m.INCIDENTS if incidents else ()
        self.staff: Staff = generate_staff(self.size, np.random.default_rng([self.seed, 1]))
        self.router = Router(self.staff)
        self.calendar = Calendar()
        self.scenario = Scenario(self.incidents, self.staff)
        self.comment_pool = CommentPool.build(np.random.default_rng([self.seed, 2]))
        self.transcript_pool = TranscriptPool()
        self.agent_name = np.array([FIRST_NAMES.index(n) for n in self.staff.agent_names])
        self.tally = Tally()
        self.n_blocks = -(-self.size.customers // self.size.chunk_customers)
        self._interactions = 0
        self._responses = 0

    # -- blocks ----------------------------------------------------------------------------------
    def blocks(self) -> Iterator[dict[str, pa.Table]]:
        """Each block of customers as tables: the five canonical ones (employees in the
        first block only) and the truth sidecars."""
        for index in range(self.n_blocks):
            first = index * self.size.chunk_customers + 1
            n = min(self.size.chunk_customers, self.size.customers - first + 1)
            yield self._block(index, first, n)

    def _block(self, index: int, first: int, n: int) -> dict[str, pa.Table]:
        rng = np.random.default_rng([self.seed, 100, index])
        c = generate_customers(rng, first, n)
        contacts = generate_contacts(rng, c, self.staff, self.router, self.scenario,
                                     self.calendar)
        contacts = decide_churn(rng, c, contacts)
        responses = concat([linked_responses(rng, contacts, c),
                            unlinked_responses(rng, c, contacts, self.scenario)])
        responses = take(responses, np.argsort(responses["t"], kind="stable"))
        score(rng, responses)
        kind = responses["kind"]
        p_comment = np.array([m.COMMENT_PROB[k] for k in KINDS])[kind]
        p_comment = p_comment + np.where((kind == SURVEY) & (responses["nps"] >= 0)
                                         & (responses["nps"] <= 6), m.COMMENT_DETRACTOR_LIFT, 0.0)
        responses["has_comment"] = rng.random(len(kind)) < p_comment
        comments, comment_truth = write_comments(rng, responses, self.comment_pool,
                                                 self.incidents)
        transcripts, transcript_truth = write_transcripts(rng, contacts, self.agent_name,
                                                          self.transcript_pool)

        interaction_ids = format_ids("I", np.arange(len(contacts["cust"]))
                                     + self._interactions + 1, 9)
        response_ids = format_ids("R", np.arange(len(kind)) + self._responses + 1, 9)
        self._interactions += len(contacts["cust"])
        self._responses += len(kind)
        tables = {
            "customers": customers_table(c),
            "interactions": self._interactions_table(c, contacts, interaction_ids, transcripts),
            "responses": self._responses_table(c, responses, interaction_ids, response_ids,
                                               comments),
            "outcomes": outcome_events(c, contacts, rng),
            "comment_truth": comment_truth_table(comment_truth, response_ids),
            "transcript_truth": transcript_truth_table(transcript_truth, interaction_ids),
            "interaction_truth": pa.table({
                "interaction_id": interaction_ids,
                "failure_kind": labels(contacts["failure"], FAILURE_KINDS),
                "experience": pa.array(np.round(contacts["experience"], 3)),
                "treated": pa.array(c.treated[contacts["cust"]]),
            }),
        }
        if index == 0:
            assert self.staff.employees is not None
            tables["employees"] = self.staff.employees
        self._count(c, contacts, responses, comment_truth)
        self.tally.add("transcripts", len(transcript_truth["rows"]))
        return tables

    # -- tables ----------------------------------------------------------------------------------
    def _interactions_table(self, c: Customers, x: Batch, ids: pa.Array,
                            transcripts: pa.Array) -> pa.Table:
        order_value = x["order_value"]
        return pa.table({
            "interaction_id": ids,
            "ts": timestamps(x["t"]),
            "customer_id": customer_ids(c.number[x["cust"]]),
            "touchpoint": labels(x["tp"], m.TOUCHPOINTS),
            "channel": labels(x["channel"], m.CHANNELS),
            "agent_id": labels(x["agent"], self.staff.agent_ids),
            "team_id": labels(x["team"], self.staff.team_ids),
            "handle_time_s": pa.array(x["handle_s"], pa.float64()),
            "resolved": pa.array(x["resolved"], pa.bool_()),
            "contact_reason": labels(x["reason"], m.REASONS),
            "order_value": pa.array(order_value, pa.float64(), mask=np.isnan(order_value)),
            "upsell": pa.array(x["upsell"] == 1, pa.bool_(), mask=x["upsell"] < 0),
            "transcript": transcripts,
            "region": labels(x["region"], m.REGIONS),
            "segment": labels(x["segment"], m.SEGMENTS),
        })

    def _responses_table(self, c: Customers, r: Batch, interaction_ids: pa.Array,
                         ids: pa.Array, comments: pa.Array) -> pa.Table:
        inter = r["inter"]

        def score_column(values: np.ndarray) -> pa.Array:
            return pa.array(values.astype(np.int64), pa.int64(), mask=values < 0)

        return pa.table({
            "response_id": ids,
            "ts": timestamps(r["t"]),
            "customer_id": customer_ids(c.number[r["cust"]]),
            "interaction_id": interaction_ids.take(pa.array(np.maximum(inter, 0),
                                                            mask=inter < 0)),
            "source": labels(KIND_SOURCE[r["kind"]], m.SOURCES),
            "touchpoint": labels(r["tp"], m.TOUCHPOINTS),
            "channel": labels(r["channel"], m.CHANNELS),
            "agent_id": labels(r["agent"], self.staff.agent_ids),
            "team_id": labels(r["team"], self.staff.team_ids),
            "nps": score_column(r["nps"]),
            "csat": score_column(r["csat"]),
            "ces": score_column(r["ces"]),
            "rating": pa.array(r["rating"], pa.float64(), mask=np.isnan(r["rating"])),
            "comment": comments,
            "region": labels(r["region"], m.REGIONS),
            "segment": labels(r["segment"], m.SEGMENTS),
            "contact_reason": labels(r["reason"], m.REASONS),
        })

    # -- what the ground truth needs -------------------------------------------------------------
    def _count(self, c: Customers, x: Batch, r: Batch, comment_truth: Batch) -> None:
        t = self.tally
        assert c.churn_s is not None
        t.add("customers", len(c))
        t.add("churned", int(np.isfinite(c.churn_s).sum()))
        t.add("treated_customers", int(c.treated.sum()))
        t.add("interactions", len(x["cust"]))
        t.add("responses", len(r["cust"]))
        t.add("comments", len(comment_truth["rows"]))
        t.add("failure_by_kind", np.bincount(x["failure"], minlength=len(FAILURE_KINDS)))
        t.add("failure_by_rule", int(failure_by_rule(x).sum()))
        with_nps = r["nps"] >= 0
        linked = with_nps & (r["inter"] >= 0)
        latent = r["latent"]

        # incidents: realised effect on the scores of the responses they hit
        for k in range(len(self.incidents)):
            hit = r["incident"] == k
            hit_nps = hit & with_nps
            t.add(f"incident{k}_responses", int(hit.sum()))
            t.add(f"incident{k}_nps_n", int(hit_nps.sum()))
            t.add(f"incident{k}_nps_obs", int(nps_points(latent[hit_nps]).sum()))
            t.add(f"incident{k}_nps_cf",
                  int(nps_points(r["latent_no_incident"][hit_nps]).sum()))
            hit_x = x["incident"] == k
            t.add(f"incident{k}_interactions", int(hit_x.sum()))
            customers = np.unique(np.concatenate([x["cust"][hit_x], r["cust"][hit]]))
            t.add(f"incident{k}_customers", len(customers))
            t.add(f"incident{k}_revenue", float(c.revenue[customers].sum()))
        # the fix, coaching, and the value of resolution, the same way
        for name, mask, cf in (("fix", r["fixed"], "latent_no_fix"),
                               ("coaching", r["coached"], "latent_no_coaching")):
            rows = mask & with_nps
            t.add(f"{name}_nps_n", int(rows.sum()))
            t.add(f"{name}_nps_obs", int(nps_points(latent[rows]).sum()))
            t.add(f"{name}_nps_cf", int(nps_points(r[cf][rows]).sum()))
        coached = x["coached"]
        t.add("coaching_contacts", int(coached.sum()))
        t.add("coaching_resolved_obs", int(x["resolved"][coached].sum()))
        t.add("coaching_resolved_cf", int(x["resolved_no_coaching"][coached].sum()))
        t.add("fix_interactions", int(x["fixed"].sum()))
        sampled = linked & ~np.isnan(r["latent_all_resolved"])
        t.add("linked_nps_n", int(sampled.sum()))
        t.add("nps_all_resolved", int(nps_points(r["latent_all_resolved"][sampled]).sum()))
        t.add("nps_none_resolved", int(nps_points(r["latent_none_resolved"][sampled]).sum()))
        handled = x["agent"] >= 0
        p = x["p_resolved"][handled]
        t.add("handled", int(handled.sum()))
        t.add("handled_slope", float((p * (1 - p)).sum()))

        # drivers over linked responses with an NPS: n, sum, sum of squares
        x_rows = r["inter"][linked]
        drivers = {
            "resolved": x["resolved"][x_rows].astype(float),
            "ces": x["ces"][x_rows].astype(float),
            "repeat_contact": (x["failure"][x_rows] == REPEAT).astype(float),
            "handle_time_min": x["handle_s"][x_rows] / 60.0,
            "tenure_years": x["tenure_years"][x_rows],
        }
        for name, values in drivers.items():
            t.add(f"driver_{name}", np.array([len(values), values.sum(), (values**2).sum()]))
        t.add("nps_all", np.array([int(with_nps.sum()), int(nps_points(latent[with_nps]).sum())]))

        # teams: contacts, resolved, responses with NPS, NPS points
        n_teams = self.staff.n_teams
        team_x = x["team"][handled]
        team_r = r["team"][linked & (r["team"] >= 0)]
        team_points = nps_points(latent[linked & (r["team"] >= 0)])
        t.add("team_contacts", np.bincount(team_x, minlength=n_teams))
        t.add("team_resolved", np.bincount(team_x, weights=x["resolved"][handled],
                                           minlength=n_teams))
        t.add("team_nps_n", np.bincount(team_r, minlength=n_teams))
        t.add("team_nps_points", np.bincount(team_r, weights=team_points, minlength=n_teams))

        # churn by whether the customer ever gave a detractor score
        detractor = np.zeros(len(c), bool)
        detractor[r["cust"][with_nps & (r["nps"] <= 6)]] = True
        answered = np.zeros(len(c), bool)
        answered[r["cust"][with_nps]] = True
        churned = np.isfinite(c.churn_s)
        t.add("churn_cells", np.array([
            (answered & detractor).sum(), (answered & detractor & churned).sum(),
            (answered & ~detractor).sum(), (answered & ~detractor & churned).sum()]))


def failure_by_rule(x: Batch) -> np.ndarray:
    """Failure demand as the product can see it (``model.FAILURE_RULE``): chasers and
    complaints by reason, and repeats of the same reason by the same customer within 7 days."""
    order = np.lexsort((x["t"], x["reason"], x["cust"]))
    cust, reason, t = x["cust"][order], x["reason"][order], x["t"][order]
    repeat = np.zeros(len(order), bool)
    repeat[1:] = ((cust[1:] == cust[:-1]) & (reason[1:] == reason[:-1])
                  & (t[1:] - t[:-1] < 7 * m.DAY_S))
    by_rule = np.empty(len(order), bool)
    by_rule[order] = repeat
    return by_rule | np.isin(x["reason"], [m.RS["order_status"], m.RS["complaint"]])
