"""04: the bundled humanoid waves with action chunks from a policy server in another process (Zenoh).

    terminal 1:  humanoid-rt policy-serve humanoid_rt.remote.reference_policy:replay --name ref \
                     --listen tcp/127.0.0.1:7447
    terminal 2:  python examples/04_remote_policy.py --connect tcp/127.0.0.1:7447 --server ref

Both take the session options of every humanoid-rt Zenoh command (--zenoh-mode, --connect, --listen,
--tls-ca/--tls-cert/--tls-key for an mTLS router; see firmware_interfaces/zenoh/SECURITY.md).

Real time (root for SCHED_FIFO; falls back without). Pause the server (kill -STOP <pid>) and the arm
holds at the last action while the loop runs on; kill -CONT and it picks the wave up where time is.
"""

import argparse
import time

from humanoid_rt import Robot
from humanoid_rt.remote import session as zenoh_session
from humanoid_rt.remote.policy_server import server_info
from humanoid_rt.remote.reference_policy import replay
from humanoid_rt.remote.remote_chunks import RemotePolicy

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--server", default="ref", help="the server's --name")
parser.add_argument("--seconds", type=float, default=6.0)
zenoh_session.add_arguments(parser, multicast=False)  # --connect ENDPOINT: the server's (or a router's)
args = parser.parse_args()
args.connect = args.connect or ["tcp/127.0.0.1:7447"]

try:
    session = zenoh_session.open_session(zenoh_session.options_from_args(args))
except (ValueError, ConnectionError) as error:
    raise SystemExit(f"zenoh session: {error}")
info = server_info(session, args.server, timeout=10.0)
if info is None:
    raise SystemExit(f"no policy server {args.server!r} at {', '.join(args.connect)} (start it first: see this file's docstring)")
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
