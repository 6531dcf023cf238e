"""Bus plug-ins: the registry that maps a bus family to the module that implements it.

Each family (mock actuators, the MuJoCo twin, CAN, EtherCAT) is one module exposing `PLUGIN`, a
`BusPlugin` (humanoid_rt.buses.base) that holds everything the runtime needs to know about it: its
config section (bus `type`s with their keys, per-joint sections, cross-checks), its factory (the C++
bus from the config), its lifecycle hooks and its demo/bench/CLI options. The config loader, Robot,
the CLI, the demo and the benchmarks ask this registry and never name a bus type.

Adding a bus family: write its C++ driver (drivers/<bus>/, deriving humanoid_rt::Bus) and its
plug-in module, then add one line to REGISTRY.
"""

from __future__ import annotations

import functools
import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import BusPlugin

#: Plug-in name -> module exposing PLUGIN. The order is the order bus types are listed in messages.
REGISTRY: dict[str, str] = {
    "mock": "humanoid_rt.buses.mock",
    "mujoco": "humanoid_rt.buses.mujoco",
    "ethercat": "humanoid_rt.ethercat.plugin",
    "can": "humanoid_rt.can.plugin",
}

__all__ = ["REGISTRY", "plugins", "plugin_for", "bus_types", "joint_sections", "override_choices",
           "plugin_for_override", "setup_choices", "plugin_for_setup", "run_choices", "unavailable_errors"]


@functools.cache
def plugins() -> tuple[BusPlugin, ...]:
    """Every registered plug-in, imported on first use (they import no C++ until they build a bus)."""
    return tuple(importlib.import_module(module).PLUGIN for module in REGISTRY.values())


@functools.cache
def _by_bus_type() -> dict[str, BusPlugin]:
    return {bus_type: plugin for plugin in plugins() for bus_type in plugin.params}


def bus_types() -> tuple[str, ...]:
    """Every config bus `type` a plug-in builds."""
    return tuple(_by_bus_type())


def plugin_for(bus_type: str) -> BusPlugin:
    """The plug-in that builds buses of config type `bus_type`."""
    try:
        return _by_bus_type()[bus_type]
    except KeyError:
        raise ValueError(f"bus type: unknown {bus_type!r}; allowed: {', '.join(bus_types())}") from None


@functools.cache
def joint_sections() -> dict[str, BusPlugin]:
    """Per-joint config sections owned by plug-ins (YAML key -> plug-in), e.g. "can"."""
    return {plugin.joint_section: plugin for plugin in plugins() if plugin.joint_section}


def override_choices() -> tuple[str, ...]:
    """Names Robot(bus=NAME) takes: every joint on one bus of that family."""
    return tuple(name for plugin in plugins() for name in plugin.overrides)


def plugin_for_override(name: str) -> BusPlugin:
    for plugin in plugins():
        if name in plugin.overrides:
            return plugin
    raise ValueError(f"bus: unknown bus {name!r}; allowed: {', '.join(override_choices())}")


def setup_choices() -> tuple[str, ...]:
    """demo/bench --bus names that set up virtual devices first (e.g. a virtual EtherCAT line)."""
    return tuple(name for plugin in plugins() for name in plugin.setups)


def plugin_for_setup(name: str) -> BusPlugin | None:
    return next((plugin for plugin in plugins() if name in plugin.setups), None)


def run_choices() -> tuple[str, ...]:
    """What demo/bench --bus take: the overrides, then the virtual set-ups."""
    return override_choices() + setup_choices()


def run_help() -> str:
    """One line per --bus choice, from the plug-ins' own descriptions."""
    described = {name: text for plugin in plugins() for name, text in {**plugin.overrides, **plugin.setups}.items()}
    return "; ".join(f"{name}: {described[name]}" for name in run_choices())


def unavailable_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "this bus cannot run on this machine" (no root, no interface)."""
    return tuple(error for plugin in plugins() for error in plugin.unavailable)
