"""The board without a browser: metrics from /metrics pages and from a real Prometheus server, the
snapshot against DuckDB, targets files, the server-sent event stream, option errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import datetime, timezone

import pytest

from humanoid_rt.board.data import BoardData, TargetsError, load_targets
from humanoid_rt.board.metrics import MetricsEndpoints, MetricsError, NoMetrics, PrometheusServer, fold
from humanoid_rt.catalog.synthetic import end_record, generate_fleet, line, make_episode_file, start_record

from board_support import BoardProcess, RobotExporter, free_port


@pytest.fixture
def exporters():
    made = [RobotExporter("g1-000", "ACTIVE"), RobotExporter("g1-001", "HOLD", {"left_hip_pitch": 58.25})]
    yield made
    for e in made:
        e.close()


def test_metrics_pages_are_parsed_into_health(exporters):
    exporters[1].fault("joint_overtemperature")
    health, errors = MetricsEndpoints([e.url for e in exporters]).scrape()
    assert errors == []
    assert health["g1-000"]["state"] == "ACTIVE" and health["g1-000"]["faults_total"] == 0
    assert health["g1-000"]["hottest_joint"] == "right_knee" and health["g1-000"]["max_temperature"] == 44.0
    r1 = health["g1-001"]
    assert (r1["state"], r1["faults"], r1["faults_total"]) == (
        "FAULT", {"position_limit": 0, "joint_overtemperature": 1}, 1)
    assert (r1["robot"], r1["version"], r1["loop_cycles"], r1["max_temperature"]) == ("g1", "0.1.0", 1000, 58.2)


def test_an_unreachable_robot_is_reported_not_fatal(exporters):
    dead = f"http://127.0.0.1:{free_port()}/metrics"
    health, errors = MetricsEndpoints([exporters[0].url, dead]).scrape()
    assert set(health) == {"g1-000"} and len(errors) == 1 and dead in errors[0]


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="Debian package prometheus not installed")
def test_a_real_prometheus_server_gives_the_same_health(exporters, tmp_path):
    """Prometheus scrapes the exporters; the board's query through its HTTP API folds to what the pages say."""
    port = free_port()
    targets = [urllib.parse.urlparse(e.url).netloc for e in exporters]
    (tmp_path / "prometheus.yml").write_text(json.dumps({
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [{"job_name": "robots", "static_configs": [{"targets": targets}]}]}))
    server = subprocess.Popen(["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
                               f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("w"))
    try:
        exporters[1].fault("bus_timeout")
        source = PrometheusServer(f"http://127.0.0.1:{port}")
        expected, _ = MetricsEndpoints([e.url for e in exporters]).scrape()
        deadline = time.monotonic() + 60
        while True:  # scrapes come every second once the server is up: wait for both robots' latest values
            health, errors = source.scrape()
            if health.get("g1-001", {}).get("state") == "FAULT" and "g1-000" in health:
                break
            assert time.monotonic() < deadline, f"Prometheus never showed both robots: {errors} {health}"
            time.sleep(0.5)
        for robot_id in ("g1-000", "g1-001"):
            for key in ("state", "faults", "faults_total", "max_temperature", "hottest_joint", "robot", "version"):
                assert health[robot_id][key] == expected[robot_id][key], (robot_id, key)
    finally:
        server.terminate()
        server.wait(20)


def test_fold_ignores_foreign_series():
    health = fold([("up", {"robot_id": "x"}, 1.0), ("humanoid_rt_supervisor_state", {"state": "ACTIVE"}, 1.0),
                   ("humanoid_rt_supervisor_state", {"robot_id": "a", "state": "ESTOP"}, 1.0),
                   ("humanoid_rt_supervisor_state", {"robot_id": "a", "state": "ACTIVE"}, 0.0)])
    assert list(health) == ["a"] and health["a"]["state"] == "ESTOP"


def test_bad_urls_and_targets_name_the_option(tmp_path):
    with pytest.raises(MetricsError, match="--prometheus"):
        PrometheusServer("localhost:9090")
    with pytest.raises(MetricsError, match="--metrics"):
        MetricsEndpoints(["ftp://x/metrics"])
    (tmp_path / "t.yaml").write_text("default: 500\nskills: {pick_cup: 0}\n")
    with pytest.raises(TargetsError, match=r"skills.pick_cup: allowed: an integer >= 1 \(got 0\)"):
        load_targets(tmp_path / "t.yaml")
    (tmp_path / "t.json").write_text(json.dumps({"default": 700, "skills": {"pick_cup": 250}}))
    assert load_targets(tmp_path / "t.json") == (700, {"pick_cup": 250})
    (tmp_path / "u.yaml").write_text("goal: 5\n")
    with pytest.raises(TargetsError, match="'default'"):
        load_targets(tmp_path / "u.yaml")
    bad = subprocess.run([sys.executable, "-m", "humanoid_rt.cli", "board", "--catalog", str(tmp_path / "absent")],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "not a directory" in bad.stderr


def test_snapshot_matches_duckdb_and_targets(tmp_path):
    today = datetime.now(timezone.utc).date()
    truth = generate_fleet(tmp_path / "rec", robots=4, operators=8, days=2, episodes_per_day=12, seed=3)
    (tmp_path / "targets.yaml").write_text("default: 50\nskills: {pick_cup: 20, never_recorded: 10}\n")
    data = BoardData([tmp_path / "rec"], NoMetrics(), targets=tmp_path / "targets.yaml")
    snapshot = data.collect()
    mine = [t for t in truth if t["date"] == today]
    assert snapshot["today"] == today.isoformat()
    assert snapshot["totals"]["episodes_today"] == len(mine) and snapshot["totals"]["episodes_all"] == len(truth)
    for c in snapshot["collectors"]:
        theirs = [t for t in mine if t["operator"] == c["operator"]]
        assert (c["episodes"], c["success"], c["failure"], c["aborted"]) == (
            len(theirs), *(sum(t["outcome"] == o for t in theirs) for o in ("success", "failure", "aborted")))
        assert c["time_on_task_s"] == pytest.approx(sum(t["duration_s"] or 0 for t in theirs))
        assert c["current_robot"] == max(theirs, key=lambda t: t["wall_time"])["robot_id"]
    skills = {s["skill"]: s for s in snapshot["skills"]}
    assert skills["never_recorded"] == {"skill": "never_recorded", "task": "", "success": 0, "takes": 0,
                                        "success_today": 0, "target": 10, "progress": 0.0}
    for skill, s in skills.items():
        assert s["success"] == sum(t["skill"] == skill and t["outcome"] == "success" for t in truth)
        assert s["target"] == {"pick_cup": 20, "never_recorded": 10}.get(skill, 50)
    assert [r["robot_id"] for r in snapshot["robots"]] == [f"g1-{i:03d}" for i in range(4)]  # all unknown: by id
    assert all(r["state"] is None and r["up"] is False for r in snapshot["robots"])
    data.close()


def test_event_stream_pushes_a_new_snapshot_when_an_episode_ends(tmp_path):
    truth = generate_fleet(tmp_path / "rec", robots=2, operators=4, days=1, episodes_per_day=4, seed=5)
    board = BoardProcess("--catalog", str(tmp_path / "rec"))
    try:
        with urllib.request.urlopen(f"{board.url}/events", timeout=30) as stream:
            assert stream.headers["Content-Type"].startswith("text/event-stream")
            first = _next_event(stream)
            assert first["totals"]["episodes_today"] == len(truth)
            session = tmp_path / "rec/g1-001" / truth[0]["date"].isoformat()
            wall = max(t["wall_time"] for t in truth) + 60
            make_episode_file(session, 4, 1000)
            with open(session / "index.jsonl", "a") as f:
                f.write(line(start_record(4, operator="late", skill="pour_water", robot_id="g1-001", wall_time=wall))
                        + line(end_record(4, outcome="failure", duration_s=9.0, wall_time=wall + 9)))
            second = _next_event(stream)  # pushed without asking: the board rebuilt the catalogue
            assert second["totals"]["episodes_today"] == len(truth) + 1
            assert {c["operator"]: c["failure"] for c in second["collectors"]}["late"] == 1
    finally:
        board.close()


def _next_event(stream) -> dict:
    data = []
    while True:
        raw = stream.readline()
        assert raw, "the stream closed"
        text = raw.decode().rstrip("\n")
        if text.startswith("data: "):
            data.append(text[6:])
        elif text == "" and data:
            return json.loads("\n".join(data))


def test_an_empty_root_shows_zeros_until_the_first_session(tmp_path):
    data = BoardData([tmp_path], NoMetrics())
    first = data.collect()
    assert (first["collectors"], first["skills"], first["robots"], first["totals"]["episodes_all"]) == ([], [], [], 0)
    truth = generate_fleet(tmp_path / "day1", robots=1, operators=2, days=1, episodes_per_day=3, seed=2)
    second = data.collect()
    assert second["totals"]["episodes_today"] == len(truth) and [r["robot_id"] for r in second["robots"]] == ["g1-000"]
    data.close()
