"""The board in a real headless browser (Debian's chromium driven by Playwright): the page loads, its
numbers equal a DuckDB query on the same catalogue, a new episode appears, a robot going to FAULT turns
its tile red. Screenshots go to tests/artifacts/. Waits are generous and nothing asserts speed."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone

import pytest

from humanoid_rt.catalog import Catalog
from humanoid_rt.catalog.synthetic import end_record, generate_fleet, line, make_episode_file, start_record

from board_support import ARTIFACTS, BoardProcess, RobotExporter

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian package chromium not installed")
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def board_page(tmp_path_factory):
    root = tmp_path_factory.mktemp("board") / "recordings"
    truth = generate_fleet(root, robots=8, operators=16, days=2, episodes_per_day=20, seed=11, gap_s=600)
    exporters = [RobotExporter(f"g1-{i:03d}", "ACTIVE") for i in range(4)]
    board = BoardProcess("--catalog", str(root), "--metrics", *[e.url for e in exporters])
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        page.goto(board.url)
        yield {"root": root, "truth": truth, "exporters": exporters, "board": board, "page": page}
    finally:
        browser.close()
        playwright.stop()
        board.close()
        for e in exporters:
            e.close()


def _today_from_duckdb(root) -> list[dict]:
    catalog = Catalog(root / ".catalog")
    try:
        return catalog.records("""
            SELECT operator, count(*) AS episodes, count(*) FILTER (outcome = 'success') AS success,
                   count(*) FILTER (outcome = 'failure') AS failure, count(*) FILTER (outcome = 'aborted') AS aborted,
                   round(sum(duration_s)) AS seconds, arg_max(robot_id, start_time) AS robot
            FROM episodes WHERE date = current_date GROUP BY operator ORDER BY operator""")
    finally:
        catalog.close()


def _page_rows(page) -> list[dict]:
    rows = page.eval_on_selector_all("#collectors tbody tr", """rows => rows.map(r => {
        const f = (name) => r.querySelector(`[data-field="${name}"]`);
        return {operator: r.dataset.operator, episodes: +f("episodes").textContent, success: +f("success").textContent,
                failure: +f("failure").textContent, aborted: +f("aborted").textContent,
                seconds: +f("time_on_task").dataset.seconds, robot: f("current_robot").textContent};
    })""")
    return sorted(rows, key=lambda r: r["operator"])


def test_page_numbers_equal_a_duckdb_query(board_page):
    page, root, truth = board_page["page"], board_page["root"], board_page["truth"]
    today = datetime.now(timezone.utc).date()
    expected_count = len({t["operator"] for t in truth if t["date"] == today})
    page.wait_for_function(f"document.querySelectorAll('#collectors tbody tr').length === {expected_count}",
                           timeout=WAIT_MS)
    expected = _today_from_duckdb(root)
    assert _page_rows(page) == [{**r, "seconds": int(r["seconds"])} for r in expected]
    assert page.inner_text("#kpi-episodes") == str(sum(r["episodes"] for r in expected))
    catalog = Catalog(root / ".catalog")
    skills = dict(catalog.query("SELECT skill, count(*) FILTER (outcome = 'success') FROM episodes GROUP BY skill")[1])
    catalog.close()
    shown = {e.get_attribute("data-skill"): int(e.get_attribute("data-success"))
             for e in page.query_selector_all("#skills .skill")}
    assert shown == skills
    assert page.evaluate("typeof Chart") == "function"  # the vendored Chart.js loaded from the package
    assert page.eval_on_selector("#hourly", "c => c.width > 0")
    page.screenshot(path=str(ARTIFACTS / "board-loaded.png"))


def test_a_new_episode_appears(board_page):
    page, root, truth = board_page["page"], board_page["root"], board_page["truth"]
    page.wait_for_selector("#collectors tbody tr", timeout=WAIT_MS)
    today = datetime.now(timezone.utc).date()
    latest = max((t for t in truth if t["date"] == today and t["robot_id"] == "g1-002"), key=lambda t: t["episode"])
    session = root / "g1-002" / today.isoformat()
    number, wall = latest["episode"] + 1, latest["wall_time"] + 900
    make_episode_file(session, number, 2_000_000)
    with open(session / "index.jsonl", "a") as f:
        f.write(line(start_record(number, operator="newcomer", skill="pick_cup", robot_id="g1-002", wall_time=wall))
                + line(end_record(number, outcome="success", duration_s=42.0, wall_time=wall + 42)))
    page.wait_for_function("""() => {
        const row = document.querySelector('tr[data-operator="newcomer"]');
        return row && row.querySelector('[data-field="episodes"]').textContent === "1"
            && row.querySelector('[data-field="current_robot"]').textContent === "g1-002";
    }""", timeout=WAIT_MS)
    assert page.inner_text("#kpi-episodes") == str(sum(r["episodes"] for r in _today_from_duckdb(root)))
    page.screenshot(path=str(ARTIFACTS / "board-new-episode.png"))


def test_a_robot_in_fault_turns_its_tile_red(board_page):
    page, exporters = board_page["page"], board_page["exporters"]
    page.wait_for_selector('[data-robot="g1-001"][data-state="ACTIVE"]', timeout=WAIT_MS)
    exporters[1].fault("joint_overtemperature")
    tile = page.wait_for_selector('[data-robot="g1-001"][data-state="FAULT"]', timeout=WAIT_MS)
    assert "joint_overtemperature 1" in tile.inner_text()

    def rgb(selector):
        text = page.eval_on_selector(selector, "e => getComputedStyle(e).backgroundColor")
        return tuple(int(v) for v in text[text.index("(") + 1:text.index(")")].split(",")[:3])

    red, green = rgb('[data-robot="g1-001"]'), rgb('[data-robot="g1-000"]')
    assert red[0] >= 180 and red[1] <= 60 and red[2] <= 60, red
    assert green[1] > green[0], green  # an ACTIVE neighbour stays green
    exporters[2].set_state("ESTOP")
    page.wait_for_selector('[data-robot="g1-002"][data-state="ESTOP"]', timeout=WAIT_MS)
    assert rgb('[data-robot="g1-002"]') == red
    order = page.eval_on_selector_all("#robots .tile", "tiles => tiles.map(t => t.dataset.robot)")
    assert order[:2] == ["g1-001", "g1-002"] and order[-2:] == ["g1-000", "g1-003"]  # stopped robots first
    # Robots that recorded today without a metrics endpoint are shown, marked unknown.
    assert page.get_attribute('[data-robot="g1-007"]', "data-state") == "unknown"
    page.screenshot(path=str(ARTIFACTS / "board-fault.png"))
