"""What the board shows, gathered in one snapshot: today's work per collector and per hour, each skill's
progress towards its target, robot health from metrics.

"Today" is the current UTC day, the catalogue's date partition. A skill's progress counts its
successful takes (all days) against its target.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from ..catalog import Catalog, build_catalog
from ..catalog.build import default_out
from ..catalog.store import STATE
from ..errors import HumanoidRtError

DEFAULT_TARGET = 1000
SEVERITY = {"ESTOP": 0, "FAULT": 0, "DAMPING": 1, "HOLD": 2, "ENABLING": 3, None: 4, "ACTIVE": 5, "DISABLED": 6}


class TargetsError(HumanoidRtError, ValueError):
    """A targets file that cannot be used, with the field and the allowed values."""


def load_targets(path: str | Path | None) -> tuple[int, dict[str, int]]:
    """(default target, {skill: target}) from YAML or JSON: {default: 1000, skills: {pick_cup: 500}}."""
    if path is None:
        return DEFAULT_TARGET, {}
    import yaml

    try:
        document = yaml.safe_load(Path(path).read_text())  # YAML is a superset of JSON: one parser for both
    except (OSError, yaml.YAMLError) as error:
        raise TargetsError(f"--targets {path}: cannot read it ({error})") from None
    if not isinstance(document, dict) or not set(document) <= {"default", "skills"}:
        raise TargetsError(f"--targets {path}: a mapping with keys 'default' (a count) and 'skills' "
                           f"({{skill: count}}) was expected (got {document!r:.80})")
    default = document.get("default", DEFAULT_TARGET)
    skills = document.get("skills") or {}
    if not isinstance(skills, dict):
        raise TargetsError(f"--targets {path}: skills: a mapping skill -> count was expected (got {skills!r:.80})")
    for field, value in [("default", default)] + [(f"skills.{k}", v) for k, v in skills.items()]:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise TargetsError(f"--targets {path}: {field}: allowed: an integer >= 1 (got {value!r})")
    return default, {str(k): v for k, v in skills.items()}


class BoardData:
    """Keeps the catalogue current (when given recordings) and assembles snapshots."""

    def __init__(self, roots: list[Path], metrics, *, out: Path | None = None, targets: str | Path | None = None,
                 today=None):
        self.roots = [Path(r) for r in roots]
        for root in self.roots:
            if not root.is_dir():
                raise ValueError(f"--catalog {root}: not a directory")
        # A directory holding a catalogue is only read; recordings roots are built into `out` as they grow.
        self.read_only = len(self.roots) == 1 and (self.roots[0] / STATE).is_file() and out is None
        self.out = self.roots[0] if self.read_only else (Path(out) if out else default_out(self.roots))
        self.metrics = metrics
        self.default_target, self.targets = load_targets(targets)
        self._today = today  # tests pin the day; the board follows the clock
        self._catalog: Catalog | None = None
        self._generation: int | None = None
        self._catalog_view: dict[str, Any] = {}
        self.last_build: dict[str, Any] = {}

    def today(self) -> str:
        return self._today or datetime.now(timezone.utc).date().isoformat()

    def collect(self) -> dict[str, Any]:
        started = time.perf_counter()
        report = None
        if not self.read_only:
            report = build_catalog(self.roots, self.out, wait=False)
            if report is not None:
                self.last_build = {"rows_written": report.rows_written, "problems": len(report.problems),
                                   "problem_kinds": sorted({p.kind for p in report.problems})}
        generation = self._read_generation()
        if self._catalog is None:
            self._catalog = Catalog(self.out, materialize=True)  # every part file, once
        elif generation != self._generation:
            if (report is not None and report.rows_written and report.generation == generation
                    and self._generation == generation - 1):
                self._catalog.append(report.rows)  # our own build, the only one since the last look
            else:
                self._catalog.refresh()  # another process built: read the files again
        if generation != self._generation or self._catalog_view.get("today") != self.today():
            self._catalog_view = self.catalog_view(self._catalog)
            self._generation = generation
        robots, errors = self.metrics.scrape()
        return {**self._catalog_view, "robots": self._robots(robots), "metrics_errors": errors,
                "metrics_source": self.metrics.description, "catalog": str(self.out), "generation": generation,
                "build": self.last_build, "collect_ms": round(1000 * (time.perf_counter() - started), 1)}

    def _read_generation(self) -> int:
        try:
            return json.loads((self.out / STATE).read_text())["generation"]
        except (OSError, ValueError, KeyError):
            return -1

    def catalog_view(self, catalog: Catalog) -> dict[str, Any]:
        today = date.fromisoformat(self.today()).isoformat()  # checked: it is spliced into the SQL
        # A literal date (not a parameter) lets DuckDB skip other days' partition files.
        collectors = catalog.records(f"""
            SELECT operator, count(*) AS episodes,
                   count(*) FILTER (outcome = 'success') AS success, count(*) FILTER (outcome = 'failure') AS failure,
                   count(*) FILTER (outcome = 'aborted') AS aborted, count(*) FILTER (outcome = 'discarded') AS discarded,
                   coalesce(sum(duration_s), 0) AS time_on_task_s, arg_max(robot_id, start_time) AS current_robot,
                   max(start_time) AS last_start
            FROM episodes WHERE date = DATE '{today}' GROUP BY operator ORDER BY episodes DESC, operator""")
        for c in collectors:
            c["last_start"] = c["last_start"].isoformat() if c["last_start"] else None
        hourly = catalog.records(f"""
            SELECT hour(start_time) AS hour, outcome, count(*) AS n
            FROM episodes WHERE date = DATE '{today}' GROUP BY ALL ORDER BY hour""")
        skills = catalog.records(f"""
            SELECT skill, any_value(task) AS task, count(*) FILTER (outcome = 'success') AS success,
                   count(*) FILTER (outcome <> 'discarded') AS takes,
                   count(*) FILTER (outcome = 'success' AND date = DATE '{today}') AS success_today
            FROM episodes GROUP BY skill ORDER BY skill""")
        for s in skills:
            s["target"] = self.targets.get(s["skill"], self.default_target)
            s["progress"] = round(s["success"] / s["target"], 4)
        for skill, target in sorted(self.targets.items()):
            if not any(s["skill"] == skill for s in skills):
                skills.append({"skill": skill, "task": "", "success": 0, "takes": 0, "success_today": 0,
                               "target": target, "progress": 0.0})
        [totals] = catalog.records(f"""
            SELECT count(*) FILTER (date = DATE '{today}') AS episodes_today,
                   count(*) FILTER (date = DATE '{today}' AND outcome = 'success') AS success_today,
                   coalesce(sum(duration_s) FILTER (date = DATE '{today}'), 0) / 3600 AS hours_today,
                   count(*) AS episodes_all, coalesce(sum(duration_s), 0) / 3600 AS hours_all,
                   coalesce(sum(bytes), 0) / 1e9 AS gb_all
            FROM episodes""")
        robots_today = catalog.records(f"""
            SELECT robot_id, count(*) AS episodes, arg_max(operator, start_time) AS operator
            FROM episodes WHERE date = DATE '{today}' GROUP BY robot_id ORDER BY robot_id""")
        return {"today": today, "collectors": collectors, "hourly": hourly, "skills": skills, "totals": totals,
                "robots_today": robots_today}

    def _robots(self, health: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        """Every robot with metrics, plus robots that recorded today but have none (state unknown)."""
        worked = {r["robot_id"]: r for r in self._catalog_view.get("robots_today", [])}
        tiles = []
        for robot_id in sorted(set(health) | set(worked)):
            tile = dict(health.get(robot_id) or {"robot_id": robot_id, "up": False, "state": None, "faults": {},
                                                 "faults_total": 0, "temperatures": {}, "max_temperature": None,
                                                 "hottest_joint": None})
            tile.pop("temperatures", None)  # the hottest joint is what a tile shows
            tile["episodes_today"] = worked.get(robot_id, {}).get("episodes", 0)
            tile["operator"] = worked.get(robot_id, {}).get("operator")
            tiles.append(tile)
        # Robots needing someone first: a big screen shows the top of the list.
        return sorted(tiles, key=lambda t: (SEVERITY.get(t["state"], SEVERITY[None]), t["robot_id"]))

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()
