"""Episode catalogue: a synthetic fleet (100 robots, 200 operators, 3,000 episodes) built into Parquet and
queried with DuckDB, checked against values computed by hand from the generator's truth; incremental
builds read only the new lines."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from humanoid_rt.catalog import REPORTS, Catalog, build_catalog
from humanoid_rt.catalog.synthetic import end_record, generate_fleet, line, make_episode_file, start_record

ROBOTS, OPERATORS, DAYS, PER_DAY = 100, 200, 2, 15


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    root = tmp_path_factory.mktemp("fleet")
    truth = generate_fleet(root, robots=ROBOTS, operators=OPERATORS, days=DAYS, episodes_per_day=PER_DAY, seed=7)
    report = build_catalog([root])
    catalog = Catalog(root / ".catalog")
    yield root, truth, report, catalog
    catalog.close()


def test_every_episode_is_catalogued_once(fleet):
    root, truth, report, catalog = fleet
    assert len(truth) == ROBOTS * DAYS * PER_DAY == 3000
    assert report.rows_written == 3000 and report.lines_read == 6000 and report.problems == []
    [(count, robots, operators, distinct)] = catalog.query(
        "SELECT count(*), count(DISTINCT robot_id), count(DISTINCT operator), "
        "count(DISTINCT (session, episode)) FROM episodes")[1]
    assert (count, robots, operators, distinct) == (3000, ROBOTS, OPERATORS, 3000)


def test_counts_by_operator_and_outcome_match_the_truth(fleet):
    _, truth, _, catalog = fleet
    expected = Counter((t["operator"], t["outcome"]) for t in truth)
    got = {(op, outcome): n for op, outcome, n in
           catalog.query("SELECT operator, outcome, count(*) FROM episodes GROUP BY ALL")[1]}
    assert got == dict(expected)
    by_operator = {r["operator"]: r for r in catalog.records(REPORTS["by_operator"][1])}
    for operator in ("op000", "op123", "op199"):
        mine = [t for t in truth if t["operator"] == operator]
        assert by_operator[operator]["episodes"] == len(mine)
        assert by_operator[operator]["success"] == sum(t["outcome"] == "success" for t in mine)
        assert by_operator[operator]["hours"] == pytest.approx(
            sum(t["duration_s"] or 0 for t in mine) / 3600, abs=1e-3)


def test_success_rate_per_skill_hours_and_gb(fleet):
    _, truth, _, catalog = fleet
    takes, wins = Counter(), Counter()
    for t in truth:
        if t["outcome"] != "discarded":
            takes[t["skill"]] += 1
            wins[t["skill"]] += t["outcome"] == "success"
    columns, rows = catalog.report("success_rate_per_skill")
    for skill, n_takes, n_success, rate in rows:
        assert (n_takes, n_success) == (takes[skill], wins[skill])
        assert rate == pytest.approx(wins[skill] / takes[skill], abs=1e-4)
    assert {r[0] for r in rows} == set(takes)
    [totals] = catalog.records(REPORTS["totals"][1])
    assert totals["hours"] == pytest.approx(sum(t["duration_s"] or 0 for t in truth) / 3600, abs=1e-3)
    assert totals["gb"] == pytest.approx(sum(t["bytes"] for t in truth) / 1e9, abs=1e-3)


def test_partitions_by_date_robot_and_task(fleet):
    root, truth, _, catalog = fleet
    day = truth[0]["date"]
    sample = next((root / ".catalog" / "episodes").glob(f"date={day}/robot=g1-000/task=*"))
    assert sample.name.startswith("task=") and "%20" in sample.name  # task text, percent-encoded
    per_day = Counter(t["date"] for t in truth)
    got = dict(catalog.query("SELECT date, count(*) FROM episodes GROUP BY date")[1])
    assert got == dict(per_day)
    # A filter on the partition keys reads only matching files, and the task column is the full text.
    expected = Counter(t["task"] for t in truth if t["robot_id"] == "g1-042" and t["date"] == day)
    got = dict(catalog.query("SELECT task, count(*) FROM episodes WHERE robot = 'g1-042' AND date = ? GROUP BY task",
                             [day])[1])
    assert got == dict(expected) and len(got) == 2


def _append(session: Path, *records) -> None:
    with open(session / "index.jsonl", "a") as f:
        f.write("".join(line(r) for r in records))


def test_incremental_build_reads_only_the_new_lines(fleet):
    root, truth, _, _ = fleet
    session = Path(truth[0]["session"])
    number = PER_DAY
    wall = truth[PER_DAY - 1]["wall_time"] + 100
    make_episode_file(session, number, 12345)
    _append(session, start_record(number, operator="op-new", skill="pick_cup", robot_id="g1-000", wall_time=wall),
            end_record(number, outcome="success", duration_s=12.5, wall_time=wall + 12.5))
    report = build_catalog([root])
    assert (report.sessions, report.sessions_read, report.lines_read, report.rows_written) == (200, 1, 2, 1)
    catalog = Catalog(root / ".catalog")
    assert catalog.query("SELECT count(*) FROM episodes")[1] == [(3001,)]
    assert catalog.records("SELECT operator, outcome, bytes, duration_s FROM episodes WHERE operator = 'op-new'") == [
        {"operator": "op-new", "outcome": "success", "bytes": 12345, "duration_s": 12.5}]
    again = build_catalog([root])
    assert (again.lines_read, again.rows_written, again.sessions_read) == (0, 0, 0)


@pytest.fixture
def small_fleet(tmp_path):
    truth = generate_fleet(tmp_path / "rec", robots=3, operators=4, days=1, episodes_per_day=6, seed=1)
    return tmp_path / "rec", truth


def _count(root) -> int:
    catalog = Catalog(root / ".catalog")
    try:
        return catalog.query("SELECT count(*) FROM episodes")[1][0][0]
    finally:
        catalog.close()


def test_torn_line_is_reported_and_the_rest_kept(small_fleet):
    root, truth = small_fleet
    session = Path(truth[0]["session"])
    lines = (session / "index.jsonl").read_text().splitlines(keepends=True)
    # Episode 2's end line torn by a crash, then the recorder went on (Session.append ends the torn line).
    lines[5] = lines[5][:25] + "\n"
    (session / "index.jsonl").write_text("".join(lines))
    report = build_catalog([root])
    kinds = Counter(p.kind for p in report.problems)
    assert kinds["torn_line"] == 1 and kinds["recording"] == 1  # episode 2 now has a start and no end
    assert report.rows_written == len(truth) - 1
    assert any("line 6" in p.detail for p in report.problems if p.kind == "torn_line")


def test_half_written_last_line_waits_for_its_newline(small_fleet):
    root, truth = small_fleet
    session = Path(truth[0]["session"])
    wall = truth[5]["wall_time"] + 200
    make_episode_file(session, 6, 100)
    end = line(end_record(6, outcome="failure", duration_s=3.0, wall_time=wall + 3))
    _append(session, start_record(6, operator="op000", skill="pick_cup", robot_id="g1-000", wall_time=wall))
    with open(session / "index.jsonl", "a") as f:
        f.write(end[:30])  # the recorder is mid-append
    first = build_catalog([root])
    assert first.rows_written == len(truth)
    assert [p.kind for p in first.problems] == ["recording"]
    with open(session / "index.jsonl", "a") as f:
        f.write(end[30:])
    second = build_catalog([root])
    assert (second.rows_written, second.lines_read, second.problems) == (1, 1, [])
    assert _count(root) == len(truth) + 1


def test_session_still_recording_is_reported_then_catalogued_when_it_ends(small_fleet):
    root, truth = small_fleet
    session = Path(truth[0]["session"])
    wall = truth[5]["wall_time"] + 60
    _append(session, start_record(6, operator="op001", skill="fold_towel", robot_id="g1-000", wall_time=wall))
    report = build_catalog([root])
    [problem] = report.problems
    assert problem.kind == "recording" and "episode 6" in problem.detail and problem.session == str(session)
    assert build_catalog([root]).problems[0].kind == "recording"  # still reported on each build
    make_episode_file(session, 6, 999)
    _append(session, end_record(6, outcome="success", duration_s=4.0, wall_time=wall + 4))
    done = build_catalog([root])
    assert (done.rows_written, done.problems) == (1, [])
    catalog = Catalog(root / ".catalog")
    assert catalog.records("SELECT operator, skill, bytes FROM episodes WHERE episode = 6") == [
        {"operator": "op001", "skill": "fold_towel", "bytes": 999}]


def test_missing_episode_file_is_reported_and_the_episode_kept(small_fleet):
    root, truth = small_fleet
    victim = next(t for t in truth if t["outcome"] == "success")
    (Path(victim["session"]) / f"episodes/episode_{victim['episode']:06d}.mcap").unlink()
    report = build_catalog([root])
    [problem] = report.problems
    assert problem.kind == "missing_file" and f"episode {victim['episode']}" in problem.detail
    assert report.rows_written == len(truth)
    catalog = Catalog(root / ".catalog")
    assert catalog.records("SELECT file_present, bytes FROM episodes WHERE session = ? AND episode = ?",
                           [victim["session"], victim["episode"]]) == [{"file_present": False, "bytes": None}]


def test_a_build_that_dies_before_its_commit_leaves_no_duplicates(small_fleet, monkeypatch):
    from humanoid_rt.catalog import store

    root, truth = small_fleet
    real_write = store.write_rows

    def write_then_die(*args, **kwargs):
        real_write(*args, **kwargs)
        raise KeyboardInterrupt("killed between the part files and the commit")

    monkeypatch.setattr(store, "write_rows", write_then_die)
    with pytest.raises(KeyboardInterrupt):
        build_catalog([root])
    monkeypatch.setattr(store, "write_rows", real_write)
    report = build_catalog([root])
    assert report.rows_written == len(truth)
    assert _count(root) == len(truth)


def test_many_small_builds_are_compacted(small_fleet):
    from humanoid_rt.catalog import store

    root, truth = small_fleet
    build_catalog([root])
    session = Path(truth[0]["session"])
    wall = truth[5]["wall_time"]
    for number in range(6, 6 + 2 * store.COMPACT_AFTER):
        make_episode_file(session, number, 10)
        _append(session, start_record(number, operator="op000", skill="pick_cup", robot_id="g1-000",
                                      wall_time=wall + number),
                end_record(number, outcome="success", duration_s=1.0, wall_time=wall + number + 1))
        assert build_catalog([root]).rows_written == 1
    parts = list((root / ".catalog/episodes").glob("date=*/robot=g1-000/task=pick%20up%20the%20cup/*.parquet"))
    assert 1 <= len(parts) <= store.COMPACT_AFTER
    assert _count(root) == len(truth) + 2 * store.COMPACT_AFTER


def test_old_session_without_robot_id_falls_back_to_the_config_name(tmp_path):
    from mcap.writer import Writer

    session = tmp_path / "old"
    (session / "episodes").mkdir(parents=True)
    with open(session / "episodes/episode_000000.mcap", "wb") as f:
        writer = Writer(f)
        writer.start("ros2", "test")
        writer.add_metadata("episode", {"robot": "generic_humanoid", "episode": "0"})
        writer.finish()
    (session / "index.jsonl").write_text(
        line(start_record(0, operator="li", skill="pick_cup", robot_id=None, wall_time=1.7e9))
        + line(end_record(0, outcome="success", duration_s=2.0, wall_time=1.7e9 + 2)))
    report = build_catalog([session], tmp_path / "cat")
    assert (report.rows_written, report.problems) == (1, [])
    assert Catalog(tmp_path / "cat").records("SELECT robot_id, robot FROM episodes") == [
        {"robot_id": "generic_humanoid", "robot": "generic_humanoid"}]


def test_a_real_recording_is_catalogued_with_its_robot_id(tmp_path, urdf_path):
    from conftest import small_robot_config

    from humanoid_rt import Robot
    from humanoid_rt.recording import Recorder

    with Robot(small_robot_config(urdf_path), robot_id="arm-07") as robot:
        with Recorder(robot, tmp_path / "session") as recorder:
            recorder.start(task="reach", skill="reach_left", operator="li")
            robot.step(50)
            recorder.end("success")
            recorder.start(task="reach", skill="reach_left", operator="li")
            robot.step(20)
            recorder.discard("wrong object")
    start = json.loads((tmp_path / "session/index.jsonl").read_text().splitlines()[0])
    assert (start["robot_id"], start["robot"]) == ("arm-07", robot.config.name)
    report = build_catalog([tmp_path / "session"])
    assert (report.rows_written, report.problems) == (2, [])
    rows = Catalog(tmp_path / "session/.catalog").records(
        "SELECT robot, operator, skill, outcome, file_present, bytes > 0 AS has_bytes FROM episodes ORDER BY episode")
    assert rows == [{"robot": "arm-07", "operator": "li", "skill": "reach_left", "outcome": outcome,
                     "file_present": True, "has_bytes": True} for outcome in ("success", "discarded")]
    # What the board shows for this session (as for `humanoid-rt demo --record DIR` + `board --catalog DIR`).
    from humanoid_rt.board.data import BoardData
    from humanoid_rt.board.metrics import NoMetrics

    board = BoardData([tmp_path / "session"], NoMetrics()).collect()
    [collector] = board["collectors"]
    assert (collector["operator"], collector["episodes"], collector["success"], collector["current_robot"]) == (
        "li", 2, 1, "arm-07")
    assert [r["robot_id"] for r in board["robots"]] == ["arm-07"]


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "humanoid_rt.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def test_cli_build_query_report(small_fleet, tmp_path):
    root, truth = small_fleet
    built = _cli("catalog", "build", root, "--out", tmp_path / "cat", "--json", tmp_path / "build.json")
    assert built.returncode == 0, built.stderr
    assert f"{len(truth)} new episodes" in built.stdout
    assert json.loads((tmp_path / "build.json").read_text())["rows_written"] == len(truth)
    query = _cli("catalog", "query", "--catalog", tmp_path / "cat", "--format", "json",
                 "SELECT outcome, count(*) AS n FROM episodes GROUP BY outcome ORDER BY outcome")
    assert query.returncode == 0, query.stderr
    expected = Counter(t["outcome"] for t in truth)
    assert {r["outcome"]: r["n"] for r in json.loads(query.stdout)} == dict(expected)
    report = _cli("catalog", "report", "--catalog", tmp_path / "cat", "--out", tmp_path / "png")
    assert report.returncode == 0, report.stderr
    assert "Success rate per skill" in report.stdout
    pngs = sorted(p.name for p in (tmp_path / "png").glob("*.png"))
    assert pngs == ["episodes_by_operator.png", "episodes_per_day.png", "hours_and_gb_per_day.png",
                    "success_rate_per_skill.png"]
    assert all((tmp_path / "png" / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_cli_errors_name_the_problem(tmp_path):
    missing = _cli("catalog", "query", "--catalog", tmp_path, "SELECT 1")
    assert missing.returncode == 2 and "no catalogue there" in missing.stderr
    (tmp_path / "rec").mkdir()
    _cli("catalog", "build", tmp_path / "rec")
    bad_sql = _cli("catalog", "query", "--catalog", tmp_path / "rec", "SELECT nope FROM episodes")
    assert bad_sql.returncode == 2 and "nope" in bad_sql.stderr
    no_root = _cli("catalog", "build", tmp_path / "absent")
    assert no_root.returncode == 2 and "not a directory" in no_root.stderr


def test_a_materialized_catalogue_appends_exactly_what_the_files_hold(small_fleet):
    root, truth = small_fleet
    build_catalog([root])
    mirror = Catalog(root / ".catalog", materialize=True)
    session = Path(truth[0]["session"])
    make_episode_file(session, 6, 77)
    _append(session, start_record(6, operator="op003", skill="wipe_table", robot_id="g1-000",
                                  wall_time=truth[5]["wall_time"] + 30),
            end_record(6, outcome="aborted", duration_s=2.5, wall_time=truth[5]["wall_time"] + 33))
    report = build_catalog([root])
    mirror.append(report.rows)
    everything = "SELECT * FROM episodes ORDER BY session, episode"
    assert mirror.records(everything) == Catalog(root / ".catalog").records(everything)
    assert len(mirror.records(everything)) == len(truth) + 1
