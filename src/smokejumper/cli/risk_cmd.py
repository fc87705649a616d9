"""``smokejumper risk`` (churn and revenue at risk) and ``smokejumper theme-impact``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import typer

from smokejumper.cli.app import app
from smokejumper.cli.common import FormatOption, OutputFormat, console, open_workspace, print_json

THEME_COLUMNS = ["theme", "mentions", "share", "nps_with", "nps_without", "impact",
                 "impact_low", "impact_high", "adjusted", "adjusted_low", "adjusted_high"]


def _as_of(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        from smokejumper.errors import DriverError

        raise DriverError(f"--as-of must be a date like 2025-10-01, not {text!r}") from None


@app.command("risk")
def risk(
    segment: Annotated[str | None, typer.Option(
        "--segment", "-s", help="Customers to look at, as KEY=VALUE pairs joined by commas: "
        "customer attributes (segment, region) or contact attributes (touchpoint, channel, "
        "team_id, contact_reason: customers who had such a contact in the window), e.g. "
        "region=North,touchpoint=call_centre. Default: every customer.",
        show_default=False)] = None,
    horizon: Annotated[int, typer.Option(
        "--horizon", help="Days ahead: churn within this many days.")] = 90,
    window: Annotated[int, typer.Option(
        "--window", help="Days of contacts and feedback before the date that the model "
        "reads.")] = 90,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Forecast from this date (YYYY-MM-DD); default: the day after the "
        "last event. An earlier date also shows the churn that really followed.",
        show_default=False)] = None,
    calibration: Annotated[bool, typer.Option(
        "--calibration", help="Show how good the churn model is instead: AUC, Brier score "
        "and the reliability table on a held-out later period.")] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Churn and revenue at risk: expected lost customers and revenue over the next
    --horizon days for a segment, with 95% intervals, from a calibrated churn model."""
    from smokejumper.cli.common import print_frame, reporter_for
    from smokejumper.drivers.risk import parse_segment

    chosen = parse_segment(segment) if segment else {}
    ws = open_workspace(reporter_for(fmt))
    try:
        if calibration:
            result = ws.drivers.churn_calibration(horizon, window_days=window)
            if fmt is OutputFormat.json:
                print_json(result.to_dict())
                return
            if fmt is OutputFormat.table:
                console.print(
                    f"Churn model, {horizon}-day horizon, held out: customers active on "
                    f"{result.test_cutoff} ({result.customers:,}, {result.churned:,} churned)\n"
                    f"AUC {result.auc:.3f}   Brier {result.brier:.4f} (base rate alone "
                    f"{result.brier_base_rate:.4f})   bins agreeing "
                    f"{result.bins_agreeing}/{len(result.reliability)}")
            print_frame(result.reliability, fmt, title="Reliability: predicted vs observed")
            return
        figures = ws.drivers.risk(chosen, horizon, as_of=_as_of(as_of), window_days=window)
    finally:
        ws.close()
    data = figures.to_dict()
    if fmt is OutputFormat.json:
        print_json(data)
    elif fmt is OutputFormat.csv:
        import pandas as pd

        flat = {k: (v if not isinstance(v, dict) else _segment_text(v)) for k, v in data.items()}
        print_frame(pd.DataFrame([flat]), fmt)
    else:
        _print_risk(data)


def _segment_text(segment: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in segment.items()) or "all customers"


def _print_risk(data: dict[str, Any]) -> None:
    def money(v: float | None) -> str:
        return "n/a (no revenue)" if v is None else f"{v:,.0f}"

    lines = [
        f"[bold]{_segment_text(data['segment'])}[/bold]: {data['customers']:,} customers "
        f"on {data['as_of']}, next {data['horizon_days']} days",
        f"Expected lost customers  {data['expected_lost_customers']:,.1f}  "
        f"[{data['lost_customers_low']:,.1f}, {data['lost_customers_high']:,.1f}]",
        f"Revenue at risk          {money(data['revenue_at_risk'])}  "
        f"[{money(data['revenue_at_risk_low'])}, {money(data['revenue_at_risk_high'])}]",
        f"Segment rate {100 * (data['segment_rate'] or 0):.1f}%  vs base rate "
        f"{100 * data['base_rate']:.1f}%",
    ]
    if data["auc"] is not None:
        lines.append(f"Model AUC {data['auc']:.3f}, Brier {data['brier']:.4f} "
                     f"(held out from {data['model_test_cutoff']})")
    if data["realised_lost_customers"] is not None:
        lines.append(f"Realised: {data['realised_lost_customers']:,} customers left, "
                     f"revenue {money(data['realised_revenue_lost'])}")
    console.print("\n".join(lines), highlight=False)


@app.command("theme-impact")
def theme_impact(
    by_sentiment: Annotated[bool, typer.Option(
        "--by-sentiment", help="Split each theme by the mention's sentiment (negative, "
        "neutral, positive).")] = False,
    commented_only: Annotated[bool, typer.Option(
        "--commented-only", help="Only responses with a comment (default: every scored "
        "response).")] = False,
    bootstrap: Annotated[int, typer.Option(
        "--bootstrap", "-b", help="Bootstrap replicates for the impact interval (0: delta "
        "method).")] = 0,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """What each theme is worth in NPS points: NPS of all responses minus NPS without the
    theme (impact), and the regression-adjusted difference that does not double-count
    themes mentioned together (adjusted), with 95% intervals. Needs `smokejumper enrich`."""
    from smokejumper.cli.common import print_frame, reporter_for

    ws = open_workspace(reporter_for(fmt))
    try:
        frame = ws.drivers.theme_impact(by_sentiment=by_sentiment,
                                        commented_only=commented_only, bootstrap=bootstrap)
    finally:
        ws.close()
    title = (f"Theme impact on NPS ({frame.attrs['responses']:,} responses, NPS "
             f"{frame.attrs['nps']:.1f})")
    if fmt is not OutputFormat.table:
        print_frame(frame[THEME_COLUMNS], fmt, title=title)
        return
    # on screen: each estimate with its interval in one column, so the table fits
    shown = frame[["theme", "mentions"]].copy()
    shown["share %"] = (100 * frame["share"]).round(1)
    shown["NPS with / without"] = [f"{a:.1f} / {b:.1f}" for a, b in
                                   zip(frame["nps_with"], frame["nps_without"], strict=True)]
    for name, label in (("impact", "impact on NPS"), ("adjusted", "adjusted, per mention")):
        shown[label] = [f"{v:+.1f} [{lo:+.1f}, {hi:+.1f}]" for v, lo, hi in
                        zip(frame[name], frame[f"{name}_low"], frame[f"{name}_high"],
                            strict=True)]
    print_frame(shown, fmt, title=title)
