"""The MuJoCo twin plug-in: the whole robot simulated as one bus (drivers/mujoco, humanoid_rt.sim).

The twin is built from the robot's URDF; with `floating: true` (or Robot(floating=True)) the base
is free and the twin carries the IMU and the feet's force sensors for the base state estimator.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..config.fields import boolean, integer, number, vector3
from ..config.model import CONTACTS_ALLOWED, IMU_ALLOWED
from ..config.types import BusConfig
from .base import BusPlugin


class MujocoPlugin(BusPlugin):
    params = {
        "mujoco": {
            "substeps": (integer(1, 20), 1),
            "position_noise_rad": (number(at_least=0), 0.0),
            "velocity_noise_rad_s": (number(at_least=0), 0.0),
            "seed": (integer(0, 2**64 - 1), 0),
            "joint_damping_nm_s_rad": (number(at_least=0), 0.5),
            "armature_kgm2": (number(at_least=0), 0.01),
            # A floor plane at the soles (at the zero pose); the base is held above it.
            "floor": (boolean, True),
            # Floating base (issue 13): the URDF root gets a free joint instead of a weld (needs model.imu and
            # model.contacts); the IMU's noise and bias.
            "floating": (boolean, False),
            "imu_gyro_noise_rad_s": (number(at_least=0), 0.0),
            "imu_gyro_bias_rad_s": (lambda raw: list(vector3(raw)), [0.0, 0.0, 0.0]),
            "imu_accel_noise_m_s2": (number(at_least=0), 0.0),
            "imu_accel_bias_m_s2": (lambda raw: list(vector3(raw)), [0.0, 0.0, 0.0]),
            "imu_orientation_noise_rad": (number(at_least=0), 0.0),
        },
    }
    overrides = {"mujoco": "the MuJoCo digital twin"}

    # ------------------------------------------------------------------ config
    def check_buses(self, check, buses: Sequence[BusConfig]) -> None:
        if len(buses) > 1 and any(bus.type == "mujoco" for bus in buses):
            check.report("buses", "a mujoco bus simulates the whole robot, so it must be the only bus",
                         "one bus of type mujoco, or buses of other types", [bus.name for bus in buses])

    def check_config(self, check, *, model, loop, safety, buses, joints) -> None:
        for index, bus in enumerate(buses):  # ---- floating base (issue 13) ----
            if model is not None and bus.type == "mujoco" and bus.params.get("floating"):
                if model.imu is None:
                    check.report("model.imu", f"missing: buses[{index}].floating: true needs an IMU", IMU_ALLOWED, None)
                if not model.contacts:
                    check.report("model.contacts", f"missing: buses[{index}].floating: true needs the feet's contact "
                                 "frames", CONTACTS_ALLOWED, None)

    # ------------------------------------------------------------------- robot
    def floating(self, bus: BusConfig) -> bool:
        return bool(bus.params.get("floating"))

    def with_floating(self, bus: BusConfig, floating: bool) -> BusConfig:
        # The twin follows the robot's choice (Robot(floating=...) may override the config's).
        if bool(bus.params.get("floating")) == floating:
            return bus
        return BusConfig(name=bus.name, type=bus.type, params={**bus.params, "floating": floating})

    def build(self, robot, bus: BusConfig, joints: Sequence[int]):
        from .. import _core
        from ..sim.mujoco_model import TwinJoint, actuator_name, build_mjcf

        params, config = bus.params, robot.config
        options = _core.MujocoBusOptions()
        options.substeps = int(params.get("substeps", 1))
        options.position_noise_rad = float(params.get("position_noise_rad", 0.0))
        options.velocity_noise_rad_s = float(params.get("velocity_noise_rad_s", 0.0))
        options.seed = int(params.get("seed", 0))
        twin_joints = [TwinJoint(config.joints[j].name, config.joints[j].limits.torque) for j in joints]
        floating = bool(params.get("floating", False))
        if floating:  # ---- floating base (issue 13) ----
            from ..floating_base import imu_options, twin_contacts

            imu_options(options, params)
        contacts = twin_contacts(config) if floating else ()
        robot.mjcf = build_mjcf(config.urdf_path, twin_joints, timestep=robot.period_s / options.substeps,
                                joint_damping=float(params.get("joint_damping_nm_s_rad", 0.5)),
                                armature=float(params.get("armature_kgm2", 0.01)),
                                floor=bool(params.get("floor", True)), contacts=contacts,
                                imu_frame=config.model.imu.frame if floating else None)
        twin = _core.MujocoBus(bus.name, robot.mjcf, options)
        if floating:
            from ..sim.mujoco_model import foot_bodies

            twin.set_feet(foot_bodies(robot.mjcf, contacts))
        for j in joints:
            joint = config.joints[j]
            twin.set_joint(j, joint.name, actuator_name(joint.name),
                           _core.JointTransmission(joint.gear, float(joint.direction), joint.offset_rad))
        return twin


PLUGIN = MujocoPlugin()
