"""CLI: `humanoid-rt board --catalog ROOT [--prometheus URL | --metrics URL ...]`."""

from __future__ import annotations

import sys
from pathlib import Path

from ..live.cli import tcp_port

COMMANDS = ("board",)


def _refresh(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.2 <= value <= 600:
        raise argparse.ArgumentTypeError(f"allowed: 0.2..600 seconds (got {text!r})")
    return value


def add_commands(commands) -> None:
    board = commands.add_parser(
        "board", help="web board for the big screen: collectors today, skill progress, robot health (live)",
        description="Serves the collectors' board: per collector today (episodes, successes, failures, aborts, time "
        "on task, current robot), each skill's successful takes towards its target, and robot health tiles (state, "
        "faults, temperatures) from Prometheus metrics, pushed to the page by server-sent events. --catalog takes "
        "recordings roots (the board keeps their catalogue built, in ROOT/.catalog or --out) or a catalogue "
        "directory built elsewhere (then only read).")
    board.add_argument("--catalog", type=Path, nargs="+", required=True, metavar="ROOT",
                       help="recordings root(s) (session folders, e.g. humanoid-rt demo --record DIR) or a catalogue "
                       "directory")
    source = board.add_mutually_exclusive_group()
    source.add_argument("--prometheus", metavar="URL", default=None,
                        help="a Prometheus server scraping the robots (e.g. http://127.0.0.1:9090): queried through "
                        "its HTTP API (/api/v1/query)")
    source.add_argument("--metrics", metavar="URL", nargs="+", default=None,
                        help="the robots' own /metrics URLs, fetched and parsed directly (no Prometheus server)")
    board.add_argument("--targets", type=Path, default=None, metavar="FILE",
                       help="YAML or JSON: {default: 1000, skills: {pick_cup: 500}} (default: 1000 per skill)")
    board.add_argument("--out", type=Path, default=None, metavar="DIR",
                       help="where the board builds the catalogue of recordings roots (default: ROOT/.catalog)")
    board.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for the "
                       "screen's network)")
    board.add_argument("--port", type=tcp_port, default=8050, help="TCP port (default 8050)")
    board.add_argument("--refresh", type=_refresh, default=2.0, metavar="SECONDS",
                       help="how often the catalogue is updated and metrics scraped (default 2)")


def main(args) -> int:
    import uvicorn

    from ..catalog import CatalogError
    from .app import create_app
    from .data import BoardData, TargetsError
    from .metrics import MetricsEndpoints, MetricsError, NoMetrics, PrometheusServer

    try:
        if args.prometheus:
            metrics = PrometheusServer(args.prometheus)
        elif args.metrics:
            metrics = MetricsEndpoints(args.metrics)
        else:
            metrics = NoMetrics()
        data = BoardData(args.catalog, metrics, out=args.out, targets=args.targets)
    except (MetricsError, TargetsError, CatalogError, ValueError) as error:
        print(f"humanoid-rt board: {error}", file=sys.stderr)
        return 2
    print(f"humanoid-rt board: http://{args.host}:{args.port}/  (catalogue {data.out}"
          f"{', read only' if data.read_only else ', kept built'}; {metrics.description})", flush=True)
    # Event streams never end by themselves: give them 3 s to close on Ctrl-C/SIGTERM, then stop.
    uvicorn.run(create_app(data, refresh_s=args.refresh), host=args.host, port=args.port, log_level="warning",
                timeout_graceful_shutdown=3)
    return 0
