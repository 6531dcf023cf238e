"""`humanoid-rt play` and `humanoid-rt skill-info` (wired into humanoid_rt.cli)."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent / "examples"


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a number > 0 (got {text!r})")
    return value


def resolve_skill(text: str) -> Path:
    """A path, or the name of a bundled example (wave, squat, box_pick_and_place)."""
    path = Path(text)
    if path.exists() or path.suffix:
        return path
    return EXAMPLES / f"{text}.skill.json"


def example_names() -> list[str]:
    return sorted(p.name.removesuffix(".skill.json") for p in EXAMPLES.glob("*.skill.json"))


def add_commands(commands, bundled: str) -> None:
    examples = ", ".join(example_names())
    play = commands.add_parser(
        "play", help="play a skill file on a robot in real time",
        description="Loads a skill (checked against the robot before anything moves), starts the robot's loop, "
        "enables it, approaches the first sample with a jerk-limited profile and streams the skill at 100 Hz. "
        "Ctrl-C stops the robot safely. Exit status: 0 done, 1 aborted, 2 invalid skill or arguments.")
    play.add_argument("skill", help=f"skill file, or a bundled example name ({examples})")
    play.add_argument("--speed", type=_positive, default=1.0, help="time scaling, 0.05..4 (default 1)")
    play.add_argument("--loop", action="store_true", help="repeat until --seconds (default 30 s when looping)")
    play.add_argument("--robot", default="generic_humanoid", help=f"bundled robot name or config path ({bundled})")
    play.add_argument("--bus", default="mock", choices=("mock", "mujoco"), help="bus type (default mock)")
    play.add_argument("--seconds", type=_positive, default=None, help="stop after this long")

    info = commands.add_parser("skill-info", help="validate a skill file and summarise it",
                               description="Validates a skill file and prints its metadata, duration, joints and "
                               "ranges; with --robot also checks that it fits that robot.")
    info.add_argument("skill", help=f"skill file, or a bundled example name ({examples})")
    info.add_argument("--robot", default=None, help="also check it against this robot (bundled name or YAML)")


def _info(args) -> int:
    from ..config import ConfigError, load_config
    from .format import SkillError, load_skill

    try:
        skill = load_skill(resolve_skill(args.skill))
        if args.robot:
            skill.check_robot(load_config(args.robot))
    except (SkillError, ConfigError) as error:
        print(f"humanoid-rt skill-info: {error}", file=sys.stderr)
        return 2
    print(skill.summary())
    if skill.description:
        print(f"  {skill.description}")
    v = skill.velocities()
    for j, name in enumerate(skill.joints):
        print(f"  {name:24s} q {skill.q[:, j].min():+.3f} .. {skill.q[:, j].max():+.3f} rad, "
              f"|dq| <= {abs(v[:, j]).max():.3f} rad/s")
    if args.robot:
        print(f"fits robot {args.robot}")
    return 0


def _play(args) -> int:
    from ..config import ConfigError
    from ..robot import Robot
    from .format import SkillError, load_skill
    from .player import DONE, PlayerThread, SkillPlayer

    try:
        robot = Robot(args.robot, bus=args.bus)
    except ConfigError as error:
        print(f"humanoid-rt play: {error}", file=sys.stderr)
        return 2
    with robot:
        try:
            skill = load_skill(resolve_skill(args.skill), robot)
            player = SkillPlayer(robot)
            player.check(skill, args.speed)
        except (SkillError, ValueError) as error:
            print(f"humanoid-rt play: {error}", file=sys.stderr)
            return 2
        seconds = args.seconds if args.seconds is not None else (30.0 if args.loop else None)
        try:
            robot.start()
            robot.enable()
            player.play(skill, speed=args.speed, loop=args.loop)
            print(f"playing {skill.summary()} at speed {args.speed:g}{' (looping)' if args.loop else ''}")
            thread = PlayerThread(player)
            thread.start()
            started = time.monotonic()
            while thread.is_alive():
                thread.join(0.1)
                if seconds is not None and time.monotonic() - started >= seconds:
                    thread.stop(abort=False)
                    break
            status = player.status()
            state = robot.state()
            print(f"player: {status['state']}{' (' + status['abort_reason'] + ')' if status['abort_reason'] else ''}, "
                  f"{status['setpoints_sent']} setpoints, {status['skills_started']} skill run(s); "
                  f"supervisor {state.supervisor_state}")
            if thread.error is not None:
                print(f"humanoid-rt play: player thread failed: {thread.error}", file=sys.stderr)
                return 1
            return 0 if status["state"] == DONE or (seconds is not None and player.state != "ABORTED") else 1
        except KeyboardInterrupt:
            print("humanoid-rt play: interrupted; the robot was stopped safely", file=sys.stderr)
            return 130


def main(args) -> int:
    return _info(args) if args.command == "skill-info" else _play(args)
