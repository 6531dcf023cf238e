"""02: stream joint targets like a teleop or policy source: 50 Hz, each target stamped
with the loop time it is due (1.5 intervals ahead), then stop streaming and watch the
watchdog hold and damp. Stepped mode, so it runs in a fraction of a second.

    python examples/02_stream_targets.py
"""

import numpy as np

from humanoid_rt import Robot

with Robot("generic_humanoid") as robot:
    robot.enable()
    robot.step(600)
    knee = robot.joint_index("left_knee")
    interval = 0.02
    t0 = robot.now()
    for k in range(100):  # 2 s of a 50 Hz stream
        t_due = t0 + (k + 1.5) * interval
        q = np.zeros(robot.n_joints)
        q[knee] = 0.4 * (1 - np.cos(np.pi * (t_due - t0) / 2))  # bends to 0.8 rad over 2 s
        robot.set_joint_targets(q, t=t_due)  # ttl: the config's watchdog (0.1 s)
        robot.step(round(interval * robot.rate_hz))
    print(f"streaming: {robot.state().supervisor_state}, knee at {robot.state().q[knee]:.3f} rad")
    robot.step(2000)  # silence
    for event in robot.events()[-3:]:
        print(f"t={event['t']:.3f} s  {event['from_state']} -> {event['to_state']}  ({event['reason']})")
