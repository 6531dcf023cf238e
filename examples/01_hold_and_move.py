"""01: enable the bundled humanoid in real time, move the right arm, read the state.

    python examples/01_hold_and_move.py          (root for SCHED_FIFO; falls back without)
"""

import numpy as np

from humanoid_rt import Robot

with Robot("generic_humanoid") as robot:
    report = robot.start()
    print("real-time set-up:", {k: v for k, v in report.items() if k != "notes"}, report["notes"])
    robot.enable()  # ramps in from the measured pose, returns once ACTIVE

    q = np.zeros(robot.n_joints)
    q[robot.joint_index("right_shoulder_pitch")] = -1.0
    q[robot.joint_index("right_elbow")] = -1.2
    robot.set_joint_targets(q, duration=1.0, ttl=0)  # ttl=0: a single target, no stream watchdog
    robot.wait_for_state("ACTIVE")
    for state in robot.iter_states(0.25):
        elbow = robot.joint_index("right_elbow")
        print(f"t={state.time:6.3f} s  {state.supervisor_state}  right_elbow q={state.q[elbow]:+.3f} rad "
              f"tau={state.tau_command[elbow]:+.2f} Nm")
        if state.time > 2.0:
            break
    print("loop statistics:", {k: robot.statistics()[k] for k in ("cycles", "overruns")},
          "wakeup latency p99 [us]:", round(robot.statistics()["wakeup_latency"]["p99_us"], 1))
# leaving the block: DAMPING (SS1), DISABLED, torque off
