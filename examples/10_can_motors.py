"""10: the bundled humanoid on CAN: every joint on a virtual MIT-protocol motor (the protocol family of
firmware_interfaces/can/README.md: reference, CubeMars, Damiao, Robstride, MyActuator) over four CAN-FD
buses, exchanging real frames with the C++ CAN driver through socketpairs that carry Linux
`struct canfd_frame`s, so the driver's read/write path is the one it runs on SocketCAN.

Each cycle the driver sends one command per motor and collects one reply per motor by a deadline;
positions cross the wire as 16-bit and torques as 12-bit fields. Stepped mode.

    python examples/10_can_motors.py
"""

import numpy as np

from humanoid_rt import Robot
from humanoid_rt.can.runtime import can_bus_report

with Robot("generic_humanoid", bus="can-virtual") as robot:
    for name, bus in can_bus_report(robot).items():
        print(f"bus {name}: {bus['joints']} motors ({', '.join(bus['protocols'])}), load {100 * bus['load']:.1f} %")
    robot.enable()
    robot.step(round(robot.config.safety.enable_ramp_s * robot.rate_hz) + 1)  # the enable ramp, then ACTIVE
    targets = {"left_knee": 0.6, "right_knee": 0.6, "left_hip_pitch": -0.3, "right_hip_pitch": -0.3,
               "left_elbow": -0.8}
    q = robot.state().q_ref.copy()
    for name, value in targets.items():
        q[robot.joint_index(name)] = value
    robot.set_joint_targets(q, duration=0.4, ttl=0)
    state = robot.step(800)
    network = robot.can_network
    network.sync()  # the virtual motors have answered every frame sent so far
    for name, value in targets.items():
        j = robot.joint_index(name)
        motor = network.motor(j)
        gear = robot.config.joints[j].gear
        print(f"{name:<16} target {value:+.3f}  joint q {state.q[j]:+.4f} rad  motor {motor.protocol:<13} "
              f"id {motor.device_id:>3}  motor q {motor.q:+.4f} rad (gear {gear:g})")
    report = can_bus_report(robot)
    print(f"state {state.supervisor_state}, all replies fresh: {bool(np.all(state.fresh))}, missed replies "
          f"{sum(bus['missed_replies'] for bus in report.values())}, malformed "
          f"{sum(bus['rejected_malformed'] for bus in report.values())}")
