"""07: move a hand in Cartesian space: a frame target pulls the left hand 5 cm up and 3 cm forward
with a Cartesian impedance task, while the joint posture acts in the task's null space.

Poses are pinocchio.SE3 (or 4x4 matrices, or (position, quaternion w-x-y-z) pairs). Stepped mode, on
the humanoid's MuJoCo twin (a virtual robot with gravity and inertia; fixed base).

    python examples/07_frame_targets.py
"""

import numpy as np
import pinocchio as pin

from humanoid_rt import Robot

with Robot("generic_humanoid", bus="mujoco") as robot:  # its MuJoCo twin: gravity, inertia, contacts
    print("task frames:", ", ".join(robot.task_frames))
    robot.enable()
    robot.step(600)
    start = pin.SE3(robot.frame_pose("left_hand"))  # world frame (the fixed base)
    goal = pin.SE3(start.rotation, start.translation + np.array([0.03, 0.0, 0.05]))
    robot.set_frame_target("left_hand", goal, duration=0.5, stiffness=(800.0, 60.0))
    robot.step(2000)
    reached = pin.SE3(robot.frame_pose("left_hand"))
    position_error = np.linalg.norm(reached.translation - goal.translation)
    orientation_error = np.linalg.norm(pin.log3(goal.rotation.T @ reached.rotation))
    print(f"left_hand start  [{start.translation[0]:+.4f} {start.translation[1]:+.4f} {start.translation[2]:+.4f}] m")
    print(f"left_hand goal   [{goal.translation[0]:+.4f} {goal.translation[1]:+.4f} {goal.translation[2]:+.4f}] m")
    print(f"left_hand reached [{reached.translation[0]:+.4f} {reached.translation[1]:+.4f} "
          f"{reached.translation[2]:+.4f}] m")
    print(f"position error {1e3 * position_error:.2f} mm, orientation error {1e3 * orientation_error:.2f} mrad, "
          f"state {robot.state().supervisor_state}")
    robot.clear_frame_target("left_hand")
