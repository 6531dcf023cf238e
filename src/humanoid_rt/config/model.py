"""The `model:` section: the URDF, the base (fixed or floating), task frames, the IMU and the feet."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from .fields import (INVALID, REQUIRED, Invalid, Parser, Validator, allowing, boolean, finite, integer,
                     nonempty_text, number, one_of, optional, sole, string_list, vector3)
from .types import BaseTargetLimits, ContactConfig, ImuConfig, ModelConfig, StandingConfig

BASE_TYPES = ("fixed", "floating")
# ---- floating base (issue 13) ----
STANDING_CONTROLLERS = ("contact_qp", "stiff_legs")  # floating base: the contact QP or the fixed-base stopgap
QP_SOLVERS = ("eiquadprog", "proxsuite")  # the contact QP's solver (C++, both preallocated)
IMU_SOURCES = ("bus", "device")  # the IMU reaches the loop from a bus that carries one, or from a device thread
MAX_CONTACTS = 4  # contact points of the base estimator (the core's kMaxContacts)
# model.urdf may name a file in this PyPI package as "example-robot-data:robots/...".
EXAMPLE_ROBOT_DATA_PREFIX = "example-robot-data:"
# Cartesian task slots of the whole-body controller.
MAX_TASKS = 8
#: What a missing model.imu / model.contacts must be (also in the bus plug-ins' floating checks).
IMU_ALLOWED = "a mapping with keys: frame, stale_cycles, source"
CONTACTS_ALLOWED = f"a list of 1..{MAX_CONTACTS} mappings with keys: frame, sole, offset"

MODEL_KEYS: dict[str, tuple[Parser, Any]] = {
    "urdf": (nonempty_text, REQUIRED),
    "base": (one_of(*BASE_TYPES), "fixed"),
    "tasks": (lambda raw: string_list(raw), ()),
    "gravity_compensation": (boolean, True),
    # Validated by _parse_floating_base with their own tables.
    "imu": (lambda raw: raw, None),
    "contacts": (lambda raw: raw, ()),
    "standing": (lambda raw: raw, None),
}

_STANDING_KEYS: dict[str, tuple[Parser, Any]] = {
    "controller": (optional(one_of(*STANDING_CONTROLLERS), "null or one of: " + ", ".join(STANDING_CONTROLLERS)), None),
    "solver": (one_of(*QP_SOLVERS), StandingConfig.solver),
    "friction": (number(above=0), StandingConfig.friction),
    "min_normal_force_n": (number(at_least=0), StandingConfig.min_normal_force_n),
    "sole_margin_m": (number(at_least=0), StandingConfig.sole_margin_m),
    "base_target": (lambda raw: raw, None),  # validated with _BASE_TARGET_KEYS
}


def _bounded(low: float, high: float, unit: str, above_low: bool = False) -> Parser:
    """A finite number in [low, high] (or (low, high] with above_low), the unit named in the allowed text."""
    allowed = f"a finite number {'>' if above_low else '>='} {low:g} and <= {high:g} {unit}"

    @allowing(allowed)
    def parse(raw: Any) -> float:
        value = finite(raw, allowed)
        if not ((value > low if above_low else value >= low) and value <= high):
            raise Invalid("out of range", allowed)
        return value

    return parse


# model.standing.base_target: what the contact QP lets a pelvis target reach, and how fast (the upper bounds
# keep a typo from asking a standing robot for what its legs cannot do while it balances).
_BASE_TARGET_KEYS: dict[str, tuple[Parser, Any]] = {
    "max_height_down_m": (_bounded(0.0, 0.4, "m"), BaseTargetLimits.max_height_down_m),
    "max_height_up_m": (_bounded(0.0, 0.1, "m"), BaseTargetLimits.max_height_up_m),
    "max_roll_rad": (_bounded(0.0, 0.5, "rad"), BaseTargetLimits.max_roll_rad),
    "max_pitch_rad": (_bounded(0.0, 0.6, "rad"), BaseTargetLimits.max_pitch_rad),
    "max_yaw_rad": (_bounded(0.0, 0.6, "rad"), BaseTargetLimits.max_yaw_rad),
    "height_speed_m_s": (_bounded(0.0, 0.5, "m/s", above_low=True), BaseTargetLimits.height_speed_m_s),
    "angular_speed_rad_s": (_bounded(0.0, 2.0, "rad/s", above_low=True), BaseTargetLimits.angular_speed_rad_s),
}

_IMU_KEYS: dict[str, tuple[Parser, Any]] = {
    "frame": (nonempty_text, REQUIRED),
    "stale_cycles": (integer(0, 100000), ImuConfig.stale_cycles),
    "source": (one_of(*IMU_SOURCES), ImuConfig.source),
}


_CONTACT_KEYS: dict[str, tuple[Parser, Any]] = {
    "frame": (nonempty_text, REQUIRED),
    "sole": (sole, REQUIRED),
    "offset": (vector3, ContactConfig.offset),
}


def example_robot_data_dir() -> Path | None:
    """site-packages/cmeel.prefix/share/example-robot-data of PyPI's example-robot-data, if installed."""
    import importlib.util

    spec = importlib.util.find_spec("cmeel")  # example-robot-data depends on cmeel, which sits in site-packages
    roots = list(spec.submodule_search_locations or []) if spec else []
    for root in roots:
        candidate = Path(root).parent / "cmeel.prefix" / "share" / "example-robot-data"
        if candidate.is_dir():
            return candidate
    return None


def _resolve_urdf(check: Validator, text: str, base_dir: Path) -> Path | None:
    if text.startswith(EXAMPLE_ROBOT_DATA_PREFIX):
        # Looked up on the package (humanoid_rt.config.example_robot_data_dir), the name callers patch.
        data_dir = sys.modules[__package__].example_robot_data_dir()
        if data_dir is None:
            check.report("model.urdf", "the PyPI package example-robot-data is not installed",
                         "pip install 'humanoid_rt[g1]' (example-robot-data==6.0.0)", text)
            return None
        candidate = data_dir / text[len(EXAMPLE_ROBOT_DATA_PREFIX):]
    else:
        candidate = (base_dir / text).resolve()
    if not candidate.is_file():
        check.report("model.urdf", f"file not found: {candidate}",
                     f"a path to a URDF file, relative to the config file, or {EXAMPLE_ROBOT_DATA_PREFIX}PATH", text)
        return None
    return candidate


def parse_model(check: Validator, raw: Any, base_dir: Path) -> ModelConfig | None:
    model = check.values(raw, "model", MODEL_KEYS)
    if INVALID in model.values():
        return None
    urdf_path = _resolve_urdf(check, model["urdf"], base_dir)
    if urdf_path is None:
        return None
    try:
        links = {link.get("name") for link in ET.parse(urdf_path).getroot().iter("link")}
    except ET.ParseError as error:
        check.report("model.urdf", f"not valid XML: {error}", "a URDF file", model["urdf"])
        return None
    for index, frame in enumerate(model["tasks"]):
        if frame not in links:
            check.report(f"model.tasks[{index}]", "not a link of the URDF", "one of: " + ", ".join(sorted(links)), frame)
    if len(model["tasks"]) > MAX_TASKS:
        check.report("model.tasks", f"more than {MAX_TASKS} task frames", f"at most {MAX_TASKS} frames",
                     list(model["tasks"]))
    imu, contacts = _parse_floating_base(check, model, links)
    standing = StandingConfig()
    if model["standing"] is not None:
        values = check.values(model["standing"], "model.standing", _STANDING_KEYS)
        limits = BaseTargetLimits()
        if values.get("base_target") not in (None, INVALID):
            parsed = check.values(values["base_target"], "model.standing.base_target", _BASE_TARGET_KEYS)
            limits = INVALID if INVALID in parsed.values() else BaseTargetLimits(**parsed)
        values["base_target"] = limits
        if INVALID not in values.values():
            standing = StandingConfig(**values)
    return ModelConfig(urdf_path=urdf_path, base=model["base"], task_frames=model["tasks"],
                       gravity_compensation=model["gravity_compensation"], urdf_source=model["urdf"],
                       imu=imu, contacts=contacts, standing=standing)


def _parse_floating_base(check: Validator, model: dict, links: set) -> tuple[ImuConfig | None, tuple]:
    """model.imu and model.contacts (issue 13): frames must exist; a floating base needs both."""
    imu = None
    if model["imu"] is not None:
        values = check.values(model["imu"], "model.imu", _IMU_KEYS)
        if INVALID not in values:
            if values["frame"] not in links:
                check.report("model.imu.frame", "not a link of the URDF", "one of: " + ", ".join(sorted(links)),
                             values["frame"])
            else:
                imu = ImuConfig(**values)
    contacts = []
    raw_contacts = model["contacts"]
    if raw_contacts not in (None, (), []):
        for index, raw in enumerate(check.items(raw_contacts, "model.contacts", "contact", maximum=MAX_CONTACTS)):
            path = f"model.contacts[{index}]"
            values = check.values(raw, path, _CONTACT_KEYS)
            if INVALID in values.values():
                continue
            if values["frame"] not in links:
                check.report(f"{path}.frame", "not a link of the URDF", "one of: " + ", ".join(sorted(links)),
                             values["frame"])
                continue
            contacts.append(ContactConfig(**values))
    if model["base"] == "floating":
        if model["imu"] is None:
            check.report("model.imu", "missing: a floating base needs an IMU to estimate its orientation",
                         "a mapping with keys: frame, stale_cycles, source", None)
        if raw_contacts in (None, (), []):
            check.report("model.contacts", "missing: a floating base needs its feet's contact frames",
                         f"a list of 1..{MAX_CONTACTS} mappings with keys: frame, sole, offset", None)
    return imu, tuple(contacts)

