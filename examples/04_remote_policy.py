"""04: the bundled humanoid waves with action chunks from a policy server in another process (Zenoh).

    terminal 1:  humanoid-rt policy-serve humanoid_rt.remote.reference_policy:replay --name ref \
                     --listen tcp/127.0.0.1:7447
    terminal 2:  python examples/04_remote_policy.py --connect tcp/127.0.0.1:7447 --server ref

Real time (root for SCHED_FIFO; falls back without). Pause the server (kill -STOP <pid>) and the arm
holds at the last action while the loop runs on; kill -CONT and it picks the wave up where time is.
"""

import argparse
import time

from humanoid_rt import Robot
from humanoid_rt.remote.policy_server import open_session, server_info
from humanoid_rt.remote.reference_policy import replay
from humanoid_rt.remote.remote_chunks import RemotePolicy

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--connect", default="tcp/127.0.0.1:7447", help="the server's Zenoh endpoint")
parser.add_argument("--server", default="ref", help="the server's --name")
parser.add_argument("--seconds", type=float, default=6.0)
args = parser.parse_args()

session = open_session(connect=[args.connect])
info = server_info(session, args.server, timeout=10.0)
if info is None:
    raise SystemExit(f"no policy server {args.server!r} at {args.connect} (start it first: see this file's docstring)")
print("server:", info["policy"], info["key"])

with Robot("generic_humanoid") as robot:
    robot.start()
    robot.enable()
    # The wave moves the forearm at 1 Hz: allow the executor a higher acceleration than its default.
    with RemotePolicy(robot, args.server, joints=replay.skill.joints, session=session,
                      executor_options={"max_acceleration": 60.0, "underrun": "hold"}) as policy:
        elbow = robot.joint_index("right_elbow")
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            time.sleep(0.5)
            stats = policy.statistics()
            print(f"t={robot.now():6.2f} s  {robot.state().supervisor_state}  right_elbow q_ref="
                  f"{robot.state().q_ref[elbow]:+.3f}  chunks {stats['source']['chunks_applied']}  "
                  f"underrun {stats['executor']['underrun']}  no reply {stats['source']['no_reply']}  "
                  f"round trip p50 {1e3 * (stats['source']['round_trip_p50_s'] or 0):.2f} ms")
    print("loop statistics:", {k: robot.statistics()[k] for k in ("cycles", "overruns")})
session.close()
