"""Catalogue and board benchmark: build time for a fleet's synthetic sessions, incremental update
times, and the board's query latency, written as JSON.

    PYTHONPATH=src python bench/run_catalog.py --json bench-catalog.json          # 100 x 30 x 500 = 1.5 M
    PYTHONPATH=src python bench/run_catalog.py --robots 10 --days 3 --per-day 100  # a quick look

The sessions are the recorder's index format (humanoid_rt.catalog.synthetic) with sparse episode files
(the catalogue stats them for their size). Generating them is timed separately and not part of any
build figure. Steps, each timed once (a build is a one-off; the board queries are repeated):
    full          the first build over every session
    unchanged     a build with nothing new (stats every index, reads nothing)
    one_episode   one episode appended to one session
    one_per_robot one episode appended to every robot's latest session
    board         loading the catalogue into memory (the board's start), its snapshot queries (collectors
                  today, hourly, skills, totals, robots: median and p90 of --repeats), and one episode per
                  robot: build, append to the in-memory table, snapshot queries
    cli_query     `catalog query` over the Parquet files (a view): all rows, a report, one day
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from humanoid_rt.board.data import BoardData
from humanoid_rt.board.metrics import NoMetrics
from humanoid_rt.catalog import REPORTS, Catalog, build_catalog
from humanoid_rt.catalog.synthetic import end_record, generate_fleet, line, make_episode_file, robot_ids, start_record


def _timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def _append_one(root: Path, robot_id: str, day: str, number: int, wall: float) -> None:
    session = root / robot_id / day
    make_episode_file(session, number, 1_000_000)
    with open(session / "index.jsonl", "a") as f:
        f.write(line(start_record(number, operator="bench", skill="pick_cup", robot_id=robot_id, wall_time=wall))
                + line(end_record(number, outcome="success", duration_s=30.0, wall_time=wall + 30)))


def _build_row(report, seconds: float) -> dict:
    return {"seconds": round(seconds, 3), "rows_written": report.rows_written, "lines_read": report.lines_read,
            "bytes_read": report.bytes_read, "sessions": report.sessions, "sessions_read": report.sessions_read,
            "files_written": report.files_written, "files_compacted": report.files_compacted,
            "problems": len(report.problems)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--robots", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=500, help="episodes per robot per day")
    parser.add_argument("--repeats", type=int, default=9, help="board query repetitions")
    parser.add_argument("--workdir", type=Path, default=None, help="where the sessions go (default: a temp dir)")
    parser.add_argument("--json", type=Path, default=Path("bench-catalog.json"))
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-catalog-", dir=args.workdir))
    root, out = work / "recordings", work / "catalog"
    result: dict = {"config": {"robots": args.robots, "days": args.days, "episodes_per_day": args.per_day,
                               "episodes": args.robots * args.days * args.per_day,
                               "index_lines": 2 * args.robots * args.days * args.per_day},
                    "machine": {"python": platform.python_version(), "cpus": os.cpu_count()}}
    try:
        print(f"generating {result['config']['episodes']} episodes in {root} ...", flush=True)
        _, seconds = _timed(lambda: generate_fleet(root, robots=args.robots, operators=2 * args.robots,
                                                   days=args.days, episodes_per_day=args.per_day, seed=1,
                                                   keep_truth=False))
        result["generate_s"] = round(seconds, 1)
        steps = {}
        report, seconds = _timed(lambda: build_catalog([root], out))
        steps["full"] = _build_row(report, seconds)
        print(f"full build: {seconds:.1f} s", flush=True)
        report, seconds = _timed(lambda: build_catalog([root], out))
        steps["unchanged"] = _build_row(report, seconds)
        today = datetime.now(timezone.utc).date().isoformat()  # the fleet's last day (generate_fleet ends today)
        wall = time.time()
        _append_one(root, robot_ids(args.robots)[0], today, args.per_day, wall)
        report, seconds = _timed(lambda: build_catalog([root], out))
        steps["one_episode"] = _build_row(report, seconds)
        for robot_id in robot_ids(args.robots):
            _append_one(root, robot_id, today, args.per_day + 1, wall + 60)
        report, seconds = _timed(lambda: build_catalog([root], out))
        steps["one_per_robot"] = _build_row(report, seconds)
        result["build"] = steps
        print(json.dumps(steps, indent=1), flush=True)
        parquet = list(out.rglob("*.parquet"))
        result["catalog"] = {"parquet_files": len(parquet),
                             "parquet_mb": round(sum(p.stat().st_size for p in parquet) / 1e6, 1)}
        # The board: the catalogue loaded once into memory, then each build's rows appended.
        mirror, load_s = _timed(lambda: Catalog(out, materialize=True))
        data = BoardData([out], NoMetrics(), today=today)
        views = []
        for _ in range(args.repeats):
            _, seconds = _timed(lambda: data.catalog_view(mirror))
            views.append(seconds)
        for robot_id in robot_ids(args.robots):
            _append_one(root, robot_id, today, args.per_day + 2, wall + 120)
        report, build_s = _timed(lambda: build_catalog([root], out))
        _, append_s = _timed(lambda: mirror.append(report.rows))
        _, view_s = _timed(lambda: data.catalog_view(mirror))
        [(rows,)] = mirror.query("SELECT count(*) FROM episodes")[1]
        result["catalog"]["rows"] = rows
        result["board"] = {
            "load_ms": round(1000 * load_s, 1),
            "snapshot_queries_ms": {"median": round(1000 * statistics.median(views), 1),
                                    "p90": round(1000 * sorted(views)[int(0.9 * (len(views) - 1))], 1),
                                    "repeats": args.repeats},
            "one_per_robot_update_ms": {"build": round(1000 * build_s, 1), "append": round(1000 * append_s, 1),
                                        "snapshot_queries": round(1000 * view_s, 1)},
        }
        # `catalog query` reads the Parquet files on each query (a view).
        view = Catalog(out)
        cli = {}
        for name, sql in (("count_all", "SELECT count(*) FROM episodes"),
                          ("by_operator_all_days", REPORTS["by_operator"][1]),
                          ("collectors_today", f"SELECT operator, count(*) FROM episodes WHERE date = DATE '{today}' "
                                               "GROUP BY operator")):
            _, seconds = _timed(lambda: view.query(sql))
            cli[name] = round(1000 * seconds, 1)
        result["cli_query_ms"] = cli
        result["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        print(json.dumps({k: result[k] for k in ("catalog", "board", "cli_query_ms", "max_rss_mb")}, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(f"written: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
