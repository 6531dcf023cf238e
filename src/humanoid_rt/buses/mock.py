"""The mock bus plug-in: independent actuator models (drivers/mock), for tests, demos and CI.

Each joint is a rigid load behind its gearbox (the joint's `mock:` section), without gravity.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..config.fields import integer, number
from ..config.types import BusConfig
from .base import BusPlugin


class MockPlugin(BusPlugin):
    params = {
        "mock": {
            "latency_cycles": (integer(0, 100), 1),
            "position_noise_rad": (number(at_least=0), 0.0),
            # Seeds a uint64 random generator in the core.
            "seed": (integer(0, 2**64 - 1), 0),
        },
    }
    gravity_free = ("mock",)
    overrides = {"mock": "independent actuator models"}

    def build(self, robot, bus: BusConfig, joints: Sequence[int]):
        from .. import _core

        params = bus.params
        options = _core.MockBusOptions()
        options.latency_cycles = int(params.get("latency_cycles", 1))
        options.position_noise_rad = float(params.get("position_noise_rad", 0.0))
        options.seed = int(params.get("seed", 0))
        mock = _core.MockBus(bus.name, options)
        for j in joints:
            joint = robot.config.joints[j]
            actuator = _core.MockActuator()
            actuator.inertia_kgm2 = joint.mock.inertia
            actuator.viscous_nm_s_rad = joint.mock.viscous
            actuator.coulomb_nm = joint.mock.coulomb
            actuator.torque_limit_nm = joint.limits.torque
            mock.set_actuator(j, actuator, _core.JointTransmission(joint.gear, float(joint.direction), joint.offset_rad))
        return mock


PLUGIN = MockPlugin()
