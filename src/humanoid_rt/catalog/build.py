"""`catalog build`: every session's index under the roots into the Parquet catalogue, incrementally."""

from __future__ import annotations

import copy
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import store
from .sessions import Problem, ReadResult, find_sessions, read_new_lines

DEFAULT_DIRNAME = ".catalog"


def default_out(roots: list[Path]) -> Path:
    """Where a catalogue goes when --out is not given: ROOT/.catalog of the first root (hidden, so the
    session walk skips it)."""
    return roots[0] / DEFAULT_DIRNAME


@dataclass
class BuildReport:
    out: str
    generation: int
    sessions: int = 0
    sessions_read: int = 0
    lines_read: int = 0
    bytes_read: int = 0
    rows_written: int = 0
    files_written: int = 0
    files_compacted: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    #: the new rows themselves (what the part files of this generation hold), for a materialized reader
    rows: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {**{k: v for k, v in self.__dict__.items() if k not in ("problems", "rows")},
                "problems": [p.as_dict() for p in self.problems]}

    def summary(self) -> str:
        kinds: dict[str, int] = {}
        for p in self.problems:
            kinds[p.kind] = kinds.get(p.kind, 0) + 1
        text = (f"catalogue {self.out}: generation {self.generation}; {self.sessions} sessions "
                f"({self.sessions_read} with new lines), {self.lines_read} index lines read, "
                f"{self.rows_written} new episodes in {self.files_written} files, {self.seconds:.2f} s")
        if kinds:
            text += "; problems: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        return text


def build_catalog(roots: list[str | Path], out: str | Path | None = None, *, full: bool = False,
                  wait: bool = True) -> BuildReport | None:
    """Add what the sessions under `roots` appended since the last build. None when wait is False and
    another build holds the catalogue."""
    started = time.perf_counter()
    roots = [Path(r) for r in roots]
    for root in roots:
        if not root.is_dir():
            raise store.CatalogError(f"ROOT {root}: not a directory")
    out = Path(out) if out is not None else default_out(roots)
    with store.build_lock(out, wait) as locked:
        if not locked:
            return None
        if full:
            shutil.rmtree(out / store.PARTS, ignore_errors=True)
            (out / store.STATE).unlink(missing_ok=True)
        state = store.load_state(out)
        store.recover_interrupted(out, state)
        report = BuildReport(out=str(out), generation=state["generation"])
        result = ReadResult()
        cursors = copy.deepcopy(state["sessions"])  # advanced here, committed only with the rows they yield
        skip = {out.resolve()}
        for session in find_sessions(roots, skip):
            key = str(session.resolve())
            report.sessions += 1
            cursor = cursors.setdefault(key, {})
            before = result.bytes_read
            read_new_lines(session, cursor, result)
            report.sessions_read += result.bytes_read > before
        if result.rows:
            generation = state["generation"] + 1
            state["pending"] = generation  # with the old cursors: a crash from here re-reads these lines
            store.save_state(out, state)
            written, superseded = store.write_rows(out, result.rows, generation)
            state["generation"] = generation
            state["sessions"] = cursors
            state["remove"] = superseded
            store.save_state(out, state)  # the commit: these rows and cursors belong to the catalogue now
            for name in superseded:
                (out / name).unlink(missing_ok=True)
            state["remove"] = []
            report.generation = generation
            report.files_written, report.files_compacted = len(written), len(superseded)
        if result.lines_read or result.rows or cursors != state["sessions"] or not (out / store.STATE).exists():
            state["sessions"] = cursors
            store.save_state(out, state)
        report.lines_read, report.bytes_read = result.lines_read, result.bytes_read
        report.rows_written, report.rows = len(result.rows), result.rows
        report.problems = result.problems
        report.seconds = time.perf_counter() - started
        (out / "last_build.json").write_text(json.dumps(report.as_dict(), indent=1) + "\n")
        return report
