"""`humanoid-rt fleet`: the robots seen on Zenoh (liveliness), their state and health, live.

    with FleetView(session) as fleet:
        time.sleep(1); print(fleet.snapshot())   # {"robots": [...alive...], "gone": [...left...]}

A robot appears when its liveliness token does and disappears when the token goes: at once when its
process ends (its TCP connection closes, SIGKILL included), within the lease (SessionOptions.lease_s,
Zenoh default 10 s) when its link dies silently.
"""

from __future__ import annotations

import json
import sys
import threading
import time

from . import codec
from .keys import ALL_ALIVE, ALL_HEALTH, ALL_STATE, robot_id_of


class FleetView:
    def __init__(self, session):
        import zenoh

        self.session = session
        self._lock = threading.Lock()
        self._robots: dict[str, dict] = {}
        self._decode_errors = 0
        self._sample_kind_put = zenoh.SampleKind.PUT  # before the subscribers: history arrives at once
        self._subscribers = [
            session.liveliness().declare_subscriber(ALL_ALIVE, self._on_alive, history=True),
            session.declare_subscriber(ALL_STATE, self._on_state),
            session.declare_subscriber(ALL_HEALTH, self._on_health),
        ]

    def _entry(self, robot_id: str) -> dict:
        return self._robots.setdefault(robot_id, {"robot_id": robot_id, "alive": False, "since": None, "left": None,
                                                  "state": None, "state_rate_hz": None, "health": None,
                                                  "_state_times": []})

    def _on_alive(self, sample) -> None:
        robot_id = robot_id_of(str(sample.key_expr))
        with self._lock:
            entry = self._entry(robot_id)
            if sample.kind == self._sample_kind_put:
                entry.update(alive=True, since=time.time(), left=None)
            else:
                entry.update(alive=False, left=time.time())

    def _on_state(self, sample) -> None:
        try:
            robot_id = robot_id_of(str(sample.key_expr))
            message = codec.decode_state(sample.payload.to_bytes())
        except ValueError:
            with self._lock:
                self._decode_errors += 1
            return
        now = time.monotonic()
        with self._lock:
            entry = self._entry(robot_id)
            entry["state"] = message
            times = entry["_state_times"]
            times.append(now)
            while times and times[0] < now - 2.0:
                times.pop(0)
            entry["state_rate_hz"] = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else None

    def _on_health(self, sample) -> None:
        try:
            robot_id = robot_id_of(str(sample.key_expr))
            health = codec.decode_json(sample.payload.to_bytes(), "health")
        except ValueError:
            with self._lock:
                self._decode_errors += 1
            return
        with self._lock:
            self._entry(robot_id)["health"] = health

    def snapshot(self) -> dict:
        """{"robots": [alive robots], "gone": [robots whose token went], "decode_errors": n} (plain JSON types)."""
        with self._lock:
            rows = []
            for robot_id in sorted(self._robots):
                entry = self._robots[robot_id]
                state = entry["state"]
                health = entry["health"] or {}
                rows.append({
                    "robot_id": robot_id, "alive": entry["alive"], "since": entry["since"], "left": entry["left"],
                    "supervisor_state": state.supervisor_state if state else health.get("supervisor_state"),
                    "t": state.t if state else None, "cycle": state.cycle if state else None,
                    "state_rate_hz": entry["state_rate_hz"],
                    "q": state.q.tolist() if state else None,
                    "health": {k: health.get(k) for k in ("reason", "hottest", "drive_errors", "loop", "teleop", "zenoh")}
                    if health else None,
                })
            return {"robots": [r for r in rows if r["alive"]], "gone": [r for r in rows if not r["alive"]],
                    "decode_errors": self._decode_errors}

    def close(self) -> None:
        for subscriber in self._subscribers:
            try:
                subscriber.undeclare()
            except Exception:
                pass
        self._subscribers = []

    def __enter__(self) -> "FleetView":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def render(snapshot: dict) -> str:
    lines = [f"{'robot':<24} {'state':<9} {'t [s]':>9} {'state Hz':>8} {'hottest':>16} {'overruns':>8} "
             f"{'teleop ok/rej':>13}"]
    for row in snapshot["robots"]:
        health = row["health"] or {}
        hottest = health.get("hottest") or {}
        loop = health.get("loop") or {}
        teleop = health.get("teleop") or {}
        lines.append(
            f"{row['robot_id']:<24} {row['supervisor_state'] or '?':<9} "
            f"{row['t'] if row['t'] is not None else float('nan'):>9.2f} "
            f"{row['state_rate_hz'] or 0:>8.0f} "
            f"{(hottest.get('joint', '?')[:10] + ' %.0fC' % hottest['c']) if hottest else '-':>16} "
            f"{loop.get('overruns', '-'):>8} "
            f"{(str(teleop.get('accepted')) + '/' + str(teleop.get('rejected_total'))) if teleop else '-':>13}")
    for row in snapshot["gone"]:
        lines.append(f"{row['robot_id']:<24} {'GONE':<9} (left {time.strftime('%H:%M:%S', time.localtime(row['left']))})"
                     if row["left"] else f"{row['robot_id']:<24} {'(no token)':<9}")
    if not snapshot["robots"] and not snapshot["gone"]:
        lines.append("(no robots seen yet)")
    return "\n".join(lines)


def add_command(commands) -> None:
    from . import session

    fleet = commands.add_parser("fleet", help="list the robots seen on Zenoh with their state and health, live",
                                description="Subscribes to every robot's liveliness token, state and health "
                                "(humanoid_rt/*/alive, state, health) and redraws a table every --interval s. "
                                "--once prints one snapshot after --wait s; --json prints it as JSON.")
    fleet.add_argument("--once", action="store_true", help="print one snapshot and exit")
    fleet.add_argument("--json", action="store_true", help="JSON output (with --once: one object)")
    fleet.add_argument("--wait", type=float, default=1.5, help="seconds to listen before a --once snapshot (default 1.5)")
    fleet.add_argument("--interval", type=float, default=0.5, help="seconds between redraws (default 0.5)")
    fleet.add_argument("--seconds", type=float, default=None, help="stop after this long (default: until Ctrl-C)")
    session.add_arguments(fleet, default_mode="peer")


def main(args) -> int:
    from .session import open_session, options_from_args

    for name in ("wait", "interval"):
        if not 0 < getattr(args, name) <= 3600:
            print(f"humanoid-rt fleet: --{name}: {getattr(args, name)}; allowed: 0 < s <= 3600", file=sys.stderr)
            return 2
    try:
        session = open_session(options_from_args(args, args.zenoh_config))
    except (ValueError, ConnectionError) as error:
        print(f"humanoid-rt fleet: {error}", file=sys.stderr)
        return 2
    try:
        with FleetView(session) as fleet:
            if args.once:
                time.sleep(args.wait)
                snapshot = fleet.snapshot()
                print(json.dumps(snapshot) if args.json else render(snapshot), flush=True)
                return 0
            deadline = None if args.seconds is None else time.monotonic() + args.seconds
            while deadline is None or time.monotonic() < deadline:
                time.sleep(args.interval)
                snapshot = fleet.snapshot()
                if args.json:
                    print(json.dumps(snapshot), flush=True)
                else:
                    print("\x1b[H\x1b[2J" + time.strftime("%H:%M:%S ") + "humanoid_rt fleet\n" + render(snapshot),
                          flush=True)
    except KeyboardInterrupt:
        return 130
    finally:
        session.close()
    return 0
