"""DuckDB over the catalogue: a view named `episodes`, and the ready-made reports.

Columns of `episodes`: every column of the Parquet files (store.SCHEMA: session, episode, robot_id,
robot_config, operator, task, skill, scenario, outcome, note, start_time, duration_s, bytes, file,
file_present, messages, telemetry_dropped, overruns, bus_errors, device_dropped, extra) plus the
Hive partition keys `date` (DATE, the start's UTC day) and `robot` (= robot_id). Outcomes: success,
failure, aborted, discarded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from . import store
from .build import DEFAULT_DIRNAME

#: name -> (title, SQL). Success rate counts ended takes (success, failure, aborted), not discarded ones.
REPORTS: dict[str, tuple[str, str]] = {
    "totals": ("Totals", """
        SELECT count(*) AS episodes, count(DISTINCT robot_id) AS robots, count(DISTINCT operator) AS operators,
               round(sum(duration_s) / 3600, 3) AS hours, round(sum(bytes) / 1e9, 3) AS gb
        FROM episodes"""),
    "by_operator": ("Episodes by operator", """
        SELECT operator, count(*) AS episodes,
               count(*) FILTER (outcome = 'success') AS success, count(*) FILTER (outcome = 'failure') AS failure,
               count(*) FILTER (outcome = 'aborted') AS aborted, count(*) FILTER (outcome = 'discarded') AS discarded,
               round(sum(duration_s) / 3600, 3) AS hours
        FROM episodes GROUP BY operator ORDER BY episodes DESC, operator"""),
    "by_task": ("Episodes by task", """
        SELECT task, count(*) AS episodes, count(*) FILTER (outcome = 'success') AS success,
               round(sum(duration_s) / 3600, 3) AS hours
        FROM episodes GROUP BY task ORDER BY episodes DESC, task"""),
    "by_outcome": ("Episodes by outcome", """
        SELECT outcome, count(*) AS episodes FROM episodes GROUP BY outcome ORDER BY episodes DESC, outcome"""),
    "by_day": ("Episodes by day", """
        SELECT date, count(*) AS episodes, count(*) FILTER (outcome = 'success') AS success,
               round(sum(duration_s) / 3600, 3) AS hours, round(sum(bytes) / 1e9, 3) AS gb
        FROM episodes GROUP BY date ORDER BY date"""),
    "success_rate_per_skill": ("Success rate per skill", """
        SELECT skill, count(*) FILTER (outcome <> 'discarded') AS takes,
               count(*) FILTER (outcome = 'success') AS success,
               round(count(*) FILTER (outcome = 'success') / nullif(count(*) FILTER (outcome <> 'discarded'), 0), 4)
                   AS success_rate
        FROM episodes GROUP BY skill ORDER BY skill"""),
    "hours_and_gb_per_robot": ("Hours of data and GB per robot", """
        SELECT robot_id, count(*) AS episodes, round(sum(duration_s) / 3600, 3) AS hours,
               round(sum(bytes) / 1e9, 3) AS gb
        FROM episodes GROUP BY robot_id ORDER BY robot_id"""),
}


def resolve_catalog(path: str | Path) -> Path:
    """A catalogue directory (holding state.json), or a recordings root whose .catalog holds one."""
    path = Path(path)
    for candidate in (path, path / DEFAULT_DIRNAME):
        if (candidate / store.STATE).is_file():
            return candidate
    raise store.CatalogError(f"--catalog {path}: no catalogue there (no {store.STATE} in it or in "
                             f"{path / DEFAULT_DIRNAME}); run `humanoid-rt catalog build ROOT --out DIR` first")


class Catalog:
    """A DuckDB connection with `episodes` over a catalogue directory.

    By default `episodes` is a view over the Parquet files: every query reads them (a query on one day
    reads that day's partitions only). materialize=True loads them once into an in-memory table, which
    `append()` extends with a build's new rows: the board's way, since a catalogue of months holds
    thousands of small partition files and the board queries it every few seconds.
    """

    def __init__(self, directory: str | Path, *, materialize: bool = False):
        self.directory = Path(directory)
        self.materialize = materialize
        self.connection = duckdb.connect()
        self.connection.execute("SET TimeZone = 'UTC'")  # days and hours as the date partitions count them
        self.refresh()

    def refresh(self) -> None:
        """Re-list the part files (after a build: a view otherwise keeps the files it saw; a materialized
        table is reloaded whole)."""
        if any((self.directory / store.PARTS).rglob("*.parquet")):
            # Every part has store.SCHEMA, so the first file's columns stand for all (no union_by_name,
            # which would read every file's footer to bind).
            source = (f"read_parquet('{_sql_string(store.parquet_glob(self.directory))}', hive_partitioning = true, "
                      f"hive_types = {{'date': DATE, 'robot': VARCHAR}})")
        else:  # an empty catalogue still answers, with the right columns
            columns = ", ".join(f"NULL::{_duck_type(f.type)} AS \"{f.name}\"" for f in store.SCHEMA)
            source = f"(SELECT {columns}, NULL::DATE AS date, NULL::VARCHAR AS robot WHERE false)"
        kind = "TABLE" if self.materialize else "VIEW"
        self.connection.execute(f"CREATE OR REPLACE {kind} episodes AS SELECT * FROM {source}")

    def append(self, rows: list[dict[str, Any]]) -> None:
        """Add a build's new rows to a materialized table (what its part files hold, with the partition
        columns date and robot)."""
        if not self.materialize:
            raise store.CatalogError("append: only a materialized catalogue takes rows; a view reads the files")
        if not rows:
            return
        new_rows = store.rows_table(rows)  # noqa: F841 - DuckDB reads the Arrow table by its Python name
        self.connection.execute("INSERT INTO episodes BY NAME SELECT *, CAST(start_time AS DATE) AS date, "
                                "robot_id AS robot FROM new_rows")

    def query(self, sql: str, parameters: list[Any] | None = None) -> tuple[list[str], list[tuple]]:
        cursor = self.connection.execute(sql, parameters or [])
        return [d[0] for d in cursor.description], cursor.fetchall()

    def records(self, sql: str, parameters: list[Any] | None = None) -> list[dict[str, Any]]:
        columns, rows = self.query(sql, parameters)
        return [dict(zip(columns, row)) for row in rows]

    def report(self, name: str) -> tuple[list[str], list[tuple]]:
        if name not in REPORTS:
            raise store.CatalogError(f"report {name!r}; allowed: {', '.join(REPORTS)}")
        return self.query(REPORTS[name][1])

    def close(self) -> None:
        self.connection.close()


def _sql_string(text: str) -> str:
    return text.replace("'", "''")


def _duck_type(arrow_type) -> str:
    import pyarrow as pa

    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ"
    return {"string": "VARCHAR", "int64": "BIGINT", "double": "DOUBLE", "bool": "BOOLEAN"}[str(arrow_type)]


def format_table(columns: list[str], rows: list[tuple], limit: int | None = None) -> str:
    shown = rows if limit is None else rows[:limit]
    cells = [[_cell(v) for v in row] for row in shown]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    if limit is not None and len(rows) > limit:
        lines.append(f"... {len(rows) - limit} more rows")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:.0f}"
    return str(value)


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
