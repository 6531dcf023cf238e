"""The board's web app (Starlette): one page, its static files, the latest snapshot as JSON, and a
server-sent event stream that pushes each changed snapshot so the big screen never reloads.

    GET /               the page (static/index.html)
    GET /static/...     board.js, board.css, vendor/chart.min.js (Chart.js, vendored: no CDN)
    GET /api/snapshot   the latest snapshot (JSON)
    GET /events         text/event-stream: `data: <snapshot>` now and on every change
    GET /healthz        ok

A background task collects a snapshot every `refresh_s` in a worker thread (the catalogue build,
DuckDB queries and metric scrapes block), so requests never wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
HEARTBEAT_S = 15.0
log = logging.getLogger("humanoid_rt.board")


class SnapshotHub:
    """The latest snapshot and a version number that waiting streams watch."""

    def __init__(self) -> None:
        self.snapshot: dict[str, Any] = {}
        self.text = "{}"
        self.version = 0
        self.changed = asyncio.Condition()

    async def publish(self, snapshot: dict[str, Any]) -> None:
        comparable = {k: v for k, v in snapshot.items() if k not in ("collect_ms", "build")}
        text = json.dumps(comparable, default=str, sort_keys=True)
        if text == self.text:
            return
        async with self.changed:
            self.snapshot, self.text = snapshot, text
            self.version += 1
            self.changed.notify_all()

    async def wait_newer(self, version: int, timeout: float) -> int:
        async with self.changed:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.changed.wait_for(lambda: self.version > version), timeout)
            return self.version


def create_app(data, *, refresh_s: float = 2.0) -> Starlette:
    hub = SnapshotHub()

    async def collect_forever() -> None:
        while True:
            try:
                await hub.publish(await asyncio.to_thread(data.collect))
            except Exception:  # noqa: BLE001 - a bad round (a file mid-compaction, a query error) is logged; the next one retries
                log.exception("board: collecting a snapshot failed; retrying")
            await asyncio.sleep(refresh_s)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        task = asyncio.create_task(collect_forever())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            data.close()

    async def page(request: Request):
        return FileResponse(STATIC / "index.html", media_type="text/html")

    async def snapshot(request: Request):
        return JSONResponse(json.loads(json.dumps(hub.snapshot, default=str)))

    async def events(request: Request):
        async def stream():
            version = -1
            while not await request.is_disconnected():
                if hub.version > version and hub.snapshot:
                    version = hub.version
                    yield f"id: {version}\ndata: {json.dumps(hub.snapshot, default=str)}\n\n"
                else:
                    yield ": heartbeat\n\n"  # keeps proxies from closing an idle stream
                await hub.wait_newer(version, HEARTBEAT_S)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def healthz(request: Request):
        return PlainTextResponse("ok")

    return Starlette(routes=[
        Route("/", page), Route("/api/snapshot", snapshot), Route("/events", events), Route("/healthz", healthz),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ], lifespan=lifespan)
