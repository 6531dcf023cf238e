"""06: teleoperate the bundled humanoid over UDP: the reference teleop client streams joint targets
at 100 Hz to the robot's receiver on loopback, each packet authenticated with a pre-shared key.

The receiver is a C++ thread that checks every packet (key, session, sequence, age, limits) and
writes the accepted ones straight into the loop's setpoint buffer. When the stream stops, the
packets' TTL lapses and the supervisor holds (HOLD), as it would if the operator's network dropped.
Runs in real time (root for SCHED_FIFO; falls back without) for about two seconds.

    python examples/06_teleop.py
"""

import secrets
import time

from humanoid_rt import Robot
from humanoid_rt.teleop import TeleopClient

ELBOW_TARGET = -0.6  # rad
key = secrets.token_bytes(32)  # in the field: a key file shared with the operator station

with Robot("generic_humanoid") as robot:
    robot.start()
    robot.enable()
    receiver = robot.attach_teleop(key=key)  # binds 127.0.0.1, a free port
    print(f"receiver on {receiver.url}")
    with TeleopClient(receiver.url, key, joint_names=robot.joint_names, ttl_s=0.1) as client:
        # Bend the elbow to the target over 1 s, then keep sending it for 0.5 s.
        sent = client.stream(lambda elapsed: {"right_elbow": ELBOW_TARGET * min(elapsed / 1.0, 1.0)},
                             rate_hz=100, duration=1.5)
    deadline = time.monotonic() + 10.0  # the receiver thread handles packets as they arrive
    while robot.teleop_statistics()["accepted"] + robot.teleop_statistics()["rejected_total"] < sent:
        if time.monotonic() > deadline:
            raise SystemExit("the receiver did not handle every packet within 10 s")
        time.sleep(0.001)
    stats = robot.teleop_statistics()
    elbow = robot.state().q[robot.joint_index("right_elbow")]
    print(f"sent {sent} packets: received {stats['received']}, accepted {stats['accepted']}, "
          f"rejected {stats['rejected_total']}")
    print(f"right_elbow q={elbow:+.3f} rad (target {ELBOW_TARGET:+.3f})")
    held = robot.wait_for_state("HOLD", timeout=5.0)  # the stream stopped: its TTL lapses
    print(f"stream stopped: {held.supervisor_state} ({held.reason})")
