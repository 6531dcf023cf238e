"""`catalog report --out DIR`: PNG charts of the catalogue (matplotlib, Agg: no display needed)."""

from __future__ import annotations

from pathlib import Path

OUTCOME_COLOURS = {"success": "#2e7d32", "failure": "#c62828", "aborted": "#ef6c00", "discarded": "#757575"}


def write_charts(catalog, out: str | Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, draw in (("episodes_per_day", _per_day), ("success_rate_per_skill", _per_skill),
                       ("episodes_by_operator", _by_operator), ("hours_and_gb_per_day", _hours_gb)):
        fig = plt.figure(figsize=(11, 6), dpi=100)
        draw(catalog, fig)
        fig.tight_layout()
        path = out / f"{name}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written


def _per_day(catalog, fig) -> None:
    rows = catalog.records("SELECT date, outcome, count(*) AS n FROM episodes GROUP BY ALL ORDER BY date")
    days = sorted({r["date"] for r in rows})
    ax = fig.add_subplot()
    bottom = [0] * len(days)
    for outcome, colour in OUTCOME_COLOURS.items():
        counts = {r["date"]: r["n"] for r in rows if r["outcome"] == outcome}
        values = [counts.get(d, 0) for d in days]
        ax.bar([str(d) for d in days], values, bottom=bottom, color=colour, label=outcome)
        bottom = [b + v for b, v in zip(bottom, values)]
    ax.set_title("Episodes per day, by outcome")
    ax.set_ylabel("episodes")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: never over a bar
    ax.tick_params(axis="x", labelrotation=60)


def _per_skill(catalog, fig) -> None:
    rows = catalog.records("SELECT skill, count(*) FILTER (outcome <> 'discarded') AS takes, "
                           "count(*) FILTER (outcome = 'success') AS success FROM episodes GROUP BY skill ORDER BY skill")
    ax = fig.add_subplot()
    rates = [100.0 * r["success"] / r["takes"] if r["takes"] else 0.0 for r in rows]
    bars = ax.barh([r["skill"] or "(none)" for r in rows], rates, color="#1565c0")
    for bar, r in zip(bars, rows):
        ax.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, f"{r['success']}/{r['takes']}",
                va="center")
    ax.set_xlim(0, 110)
    ax.set_xlabel("success rate [%] (successes / ended takes)")
    ax.set_title("Success rate per skill")


def _by_operator(catalog, fig) -> None:
    rows = catalog.records("SELECT operator, count(*) FILTER (outcome = 'success') AS success, "
                           "count(*) FILTER (outcome = 'failure') AS failure, count(*) FILTER (outcome = 'aborted') "
                           "AS aborted, count(*) FILTER (outcome = 'discarded') AS discarded, count(*) AS n "
                           "FROM episodes GROUP BY operator ORDER BY n DESC, operator LIMIT 30")
    ax = fig.add_subplot()
    names = [r["operator"] or "(none)" for r in rows]
    left = [0] * len(rows)
    for outcome, colour in OUTCOME_COLOURS.items():
        values = [r[outcome] for r in rows]
        ax.barh(names, values, left=left, color=colour, label=outcome)
        left = [a + b for a, b in zip(left, values)]
    ax.invert_yaxis()
    ax.set_xlabel("episodes")
    ax.set_title(f"Episodes by operator (top {len(rows)})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: never over a bar


def _hours_gb(catalog, fig) -> None:
    rows = catalog.records("SELECT date, sum(duration_s) / 3600 AS hours, sum(bytes) / 1e9 AS gb "
                           "FROM episodes GROUP BY date ORDER BY date")
    ax = fig.add_subplot()
    days = [str(r["date"]) for r in rows]
    ax.bar(days, [r["hours"] or 0 for r in rows], color="#1565c0", label="hours")
    ax.set_ylabel("hours of data")
    ax.tick_params(axis="x", labelrotation=60)
    twin = ax.twinx()
    twin.plot(days, [r["gb"] or 0 for r in rows], color="#ef6c00", marker="o", label="GB")
    twin.set_ylabel("GB")
    ax.set_title("Hours of data and GB per day")
