"""BusPlugin: everything the runtime knows about one bus family, in one object.

A plug-in module defines a subclass, overrides what its family has, and exposes an instance as
PLUGIN; humanoid_rt.buses.REGISTRY lists the module. The defaults describe a bus with nothing
extra: no per-joint section, no cross-checks, no virtual set-up, nothing to report.

Who calls what:
- config loading (humanoid_rt.config): `params`, `joint_section` / `parse_joint_section`,
  `check_buses`, `check_config`, `dump_joint_section`;
- Robot: `override_config` / `override_bus` (Robot(bus=...)), `floating` / `with_floating`,
  `gravity_free`, `pins_loop`, `build`, and the lifecycle hooks `start`, `stop`, `close`;
- demo, bench and CLI: `overrides` / `setups` (--bus choices), `virtual_setup`, `report`,
  `report_lines`, `bench_statistics`, `missing_hardware`, `add_commands` / `run_command`.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..config.types import BusConfig

#: A key table: YAML key -> (parser, default) (see humanoid_rt.config.fields).
KeyTable = Mapping[str, tuple[Any, Any]]


class BusPlugin(abc.ABC):
    #: Config bus `type` -> the keys a bus of that type takes beside name and type.
    params: Mapping[str, KeyTable] = {}
    #: The per-joint mapping this family owns (a key of every joint in the YAML), or None.
    joint_section: str | None = None
    #: Its keys, listed in messages (parse_joint_section does the validation).
    joint_section_keys: Sequence[str] = ()
    #: Bus types whose actuators are models without gravity: gravity compensation is switched off.
    gravity_free: tuple[str, ...] = ()
    #: Robot(bus=NAME), demo/bench --bus NAME: every joint on this family. NAME -> help text.
    overrides: Mapping[str, str] = {}
    #: demo/bench --bus NAME that set up virtual devices first (virtual_setup()). NAME -> help text.
    setups: Mapping[str, str] = {}
    #: Exceptions meaning "this bus cannot run on this machine" (no root, no interface).
    unavailable: tuple[type[BaseException], ...] = ()

    # ------------------------------------------------------------------ config
    def parse_joint_section(self, check, raw: Any, path: str, device_id: Any) -> Any:
        """The joint's section (raw is not None): the parsed value, or fields.INVALID after check.report()."""
        return raw

    def dump_joint_section(self, value: Any) -> dict:
        return dict(value)

    def check_buses(self, check, buses: Sequence[BusConfig]) -> None:
        """Called with the whole bus list once it parsed without problems."""

    def check_config(self, check, *, model, loop, safety, buses: Sequence[BusConfig], joints: Sequence) -> None:
        """Cross-checks once the joints parsed (on the joints that did); model/loop/safety may be None."""

    # ------------------------------------------------------------------- robot
    def override_config(self, config, name: str):
        """Robot(bus=name): the config to run (default unchanged: override_bus() carries every joint)."""
        return config

    def override_bus(self, name: str, floating: bool) -> BusConfig:
        """Robot(bus=name) with the config's buses of other types: one bus carrying every joint."""
        return BusConfig(name=name, type=name, params={"floating": True} if floating else {})

    def floating(self, bus: BusConfig) -> bool:
        """Whether this bus makes the robot a floating base (a free-floating twin)."""
        return False

    def with_floating(self, bus: BusConfig, floating: bool) -> BusConfig:
        """The bus as it runs on a robot whose floating choice is `floating`."""
        return bus

    def pins_loop(self, bus: BusConfig) -> bool:
        """Whether a loop driving this bus should be pinned to a CPU when the config names none."""
        return False

    @abc.abstractmethod
    def build(self, robot, bus: BusConfig, joints: Sequence[int]):
        """The C++ bus (a humanoid_rt._core.Bus) carrying robot joints `joints`, not yet configured."""

    def start(self, robot) -> None:
        """Before the real-time loop starts (after Bus.set_realtime(True))."""

    def stop(self, robot) -> None:
        """After the real-time loop stopped, or its start failed."""

    def close(self, robot) -> None:
        """The robot is closed, or its construction failed: release what build() opened beside the bus."""

    # ----------------------------------------------------- demo, bench and CLI
    @contextlib.contextmanager
    def virtual_setup(self, name: str, robot_name: str, rate_hz: float) -> Iterator[tuple[Any, Any]]:
        """demo/bench --bus name: yields (the robot config to run, a context for report())."""
        raise ValueError(f"--bus: {name!r} is not a virtual set-up of this bus family")
        yield  # pragma: no cover - makes this a generator

    def report(self, robot, context: Any = None) -> dict[str, dict]:
        """The demo report's sections for this family's buses: report key -> {bus name: figures}."""
        return {}

    def report_lines(self, report: dict) -> list[str]:
        """The demo summary's lines for the sections report() added."""
        return []

    def bench_statistics(self, robot) -> dict[str, dict]:
        """Per bus of this family: its driver's counters for the benchmark JSON."""
        return {}

    def missing_hardware(self, index: int, bus: BusConfig) -> str | None:
        """Why buses[index] cannot run on this machine, or None."""
        return None

    def add_commands(self, commands) -> None:
        """Add this family's `humanoid-rt` subcommands to the argparse subparsers."""

    def run_command(self, args) -> int | None:
        """Run args.command when it is one of this family's (exit code), else None."""
        return None
