"""05: the control loop stepped on a simulated clock: enable, send one target, read it back, stop.

The same steps as examples/05_stepped_loop.cpp (the loop from C++, without Python), here on the
bundled humanoid's mock buses. Stepped mode: the loop advances only in robot.step(n), so every
number printed is the same on every run and machine.

    python examples/05_stepped_loop.py
"""

import numpy as np

from humanoid_rt import Robot

with Robot("generic_humanoid") as robot:
    shoulder, elbow = robot.joint_index("right_shoulder_pitch"), robot.joint_index("right_elbow")
    robot.enable()
    robot.step(600)  # the enable ramp (safety.enable_ramp_s), then ACTIVE

    q = robot.state().q_ref.copy()
    q[shoulder], q[elbow] = 0.5, -0.25
    robot.set_joint_targets(q, t=robot.now() + 0.5, ttl=0)  # reach it in 0.5 s; ttl 0: no watchdog
    state = robot.step(1000)
    print(f"t={state.time:.3f} s state={state.supervisor_state} q=[{state.q[shoulder]:.4f}, {state.q[elbow]:.4f}] "
          f"tau=[{state.tau_command[shoulder]:.3f}, {state.tau_command[elbow]:.3f}] Nm")

    robot.disable()  # controlled stop: DAMPING, then DISABLED
    while robot.step(10).supervisor_state != "DISABLED":
        pass
    print(f"after stop: {robot.state().supervisor_state} ({robot.state().reason})")
