"""CLI: `humanoid-rt catalog build|query|report`."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

COMMANDS = ("catalog",)


def add_commands(commands) -> None:
    from .query import REPORTS

    catalog = commands.add_parser(
        "catalog", help="the fleet's episode catalogue: build (Parquet), query (DuckDB SQL), report (tables, PNG)",
        description="Turns every recording session's index.jsonl under the roots into a Parquet table with Hive "
        "partitions date=/robot=/task= (incrementally: only lines appended since the last build are read), and "
        "queries it with DuckDB as a view named `episodes`.")
    sub = catalog.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    build = sub.add_parser("build", help="add new episodes of the sessions under ROOT... to the catalogue",
                           description="Finds every session (a directory with index.jsonl) under each ROOT and adds "
                           "the episodes ended since the last build. Torn lines, missing episode files and sessions "
                           "still recording are reported, never fatal; exit status 0 unless ROOT or OUT is unusable.")
    build.add_argument("roots", nargs="+", type=Path, metavar="ROOT", help="a session directory or a folder of them")
    build.add_argument("--out", type=Path, default=None, metavar="DIR",
                       help="catalogue directory (default: the first ROOT's .catalog/)")
    build.add_argument("--full", action="store_true", help="forget the previous build and read every index again")
    build.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write the build report as JSON")
    build.add_argument("--quiet", action="store_true", help="print the summary line only, not each problem")

    query = sub.add_parser("query", help="run SQL over the view `episodes`",
                           description="Runs one DuckDB SQL statement; the catalogue is the view `episodes` "
                           "(columns: see `humanoid-rt catalog query --catalog DIR \"DESCRIBE episodes\"`).")
    query.add_argument("sql", help='e.g. "SELECT operator, count(*) FROM episodes GROUP BY ALL"')
    _catalog_option(query)
    query.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output (default table)")

    report = sub.add_parser("report", help="ready-made reports as tables, and PNG charts with --out",
                            description=f"Reports: {', '.join(REPORTS)}. With --out DIR, PNG charts too: episodes per "
                            "day by outcome, success rate per skill, episodes by operator, hours and GB per day.")
    _catalog_option(report)
    report.add_argument("--out", type=Path, default=None, metavar="DIR", help="write PNG charts into DIR")
    report.add_argument("--only", choices=tuple(REPORTS), action="append", default=None,
                        help="print these reports only (repeatable)")
    report.add_argument("--limit", type=int, default=40, help="rows shown per table (default 40)")


def _catalog_option(parser) -> None:
    parser.add_argument("--catalog", type=Path, default=Path("."), metavar="DIR",
                        help="the catalogue directory, or the recordings ROOT whose .catalog/ it is (default .)")


def main(args) -> int:
    from .build import build_catalog
    from .query import REPORTS, Catalog, format_table, resolve_catalog
    from .store import CatalogError

    try:
        if args.catalog_command == "build":
            report = build_catalog(args.roots, args.out, full=args.full)
            if not args.quiet:
                for p in report.problems:
                    print(f"{p.kind}: {p.session}: {p.detail}")
            print(report.summary())
            if args.json is not None:
                args.json.write_text(json.dumps(report.as_dict(), indent=1) + "\n")
            return 0
        catalog = Catalog(resolve_catalog(args.catalog))
        if args.catalog_command == "query":
            import duckdb

            try:
                columns, rows = catalog.query(args.sql)
            except duckdb.Error as error:
                print(f"humanoid-rt catalog query: {error}", file=sys.stderr)
                return 2
            _print_rows(columns, rows, args.format)
            return 0
        for name in args.only or REPORTS:
            columns, rows = catalog.report(name)
            print(f"\n{REPORTS[name][0]}\n{format_table(columns, rows, args.limit)}")
        if args.out is not None:
            try:
                import matplotlib  # noqa: F401
            except ImportError:
                print("humanoid-rt catalog report --out: PNG charts need matplotlib: pip install 'humanoid_rt[report]'",
                      file=sys.stderr)
                return 2
            from .report import write_charts

            for path in write_charts(catalog, args.out):
                print(f"chart written: {path}")
        return 0
    except CatalogError as error:
        print(f"humanoid-rt catalog {args.catalog_command}: {error}", file=sys.stderr)
        return 2


def _print_rows(columns, rows, fmt: str) -> None:
    from .query import format_table

    if fmt == "table":
        print(format_table(columns, rows))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        print(json.dumps([dict(zip(columns, r)) for r in rows], default=str, indent=1))
