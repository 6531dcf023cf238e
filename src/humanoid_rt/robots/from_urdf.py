"""A starting robot config for any URDF: every moving joint on one mock bus, limits
read from the URDF, gains from its effort limits. For bring-up and benchmarks;
a real robot's config then names its buses, devices and tuned gains."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Sequence

from ..config import EXAMPLE_ROBOT_DATA_PREFIX, MAX_JOINTS, example_robot_data_dir

# Nominal reflected inertia for the mock actuators and the damping heuristic [kg m^2].
_NOMINAL_INERTIA = 0.05


def config_from_urdf(urdf: str, *, name: str | None = None, tasks: Sequence[str] = ()) -> dict:
    """A config dict (load with load_config or Robot) for the URDF at `urdf` (a path or example-robot-data:PATH)."""
    path = (example_robot_data_dir() / urdf[len(EXAMPLE_ROBOT_DATA_PREFIX):]
            if urdf.startswith(EXAMPLE_ROBOT_DATA_PREFIX) else Path(urdf).resolve())
    root = ET.parse(path).getroot()
    joints = []
    for joint in root.iter("joint"):
        if joint.get("type") not in ("revolute", "prismatic"):
            continue
        limit = joint.find("limit")
        lower, upper = float(limit.get("lower")), float(limit.get("upper"))
        effort = float(limit.get("effort") or 0.0) or 10.0
        velocity = float(limit.get("velocity") or 0.0) or 5.0
        kp = min(4.0 * effort, 300.0)
        joints.append({
            "name": joint.get("name"),
            "bus": "mock",
            "device_id": len(joints) + 1,
            "limits": {"position_rad": [lower, upper], "soft_margin_rad": round(min(0.05, (upper - lower) / 4), 4),
                       "velocity_rad_s": velocity, "torque_nm": effort, "torque_rate_nm_s": 100.0 * effort},
            "gains": {"kp": kp, "kd": round(2.0 * math.sqrt(kp * _NOMINAL_INERTIA), 3)},
            "mock": {"inertia_kgm2": _NOMINAL_INERTIA},
        })
    if len(joints) > MAX_JOINTS:
        raise ValueError(f"{path}: {len(joints)} moving joints; the core handles at most {MAX_JOINTS}")
    return {
        "name": name or root.get("name") or path.stem,
        "model": {"urdf": urdf if urdf.startswith(EXAMPLE_ROBOT_DATA_PREFIX) else str(path), "tasks": list(tasks)},
        "buses": [{"name": "mock", "type": "mock", "latency_cycles": 0}],
        "joints": joints,
    }
