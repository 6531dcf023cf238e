"""Records two small sessions on a stepped robot and exports each with our LeRobot exporter: the input of
.ci/lerobot_check.sh. OUT_DIR/devices has F/T, IMU, tactile and hand samples from a fake hub and a camera
(2-D features: F/T and IMU windows, a taxel grid); OUT_DIR/joints has the joints only (LeRobot 0.6.1's
delete_episodes cannot copy a dataset with 2-D features, its own included, so it is checked on this one).
Runs in the project's own environment (Python 3.11, the test dependencies installed).

    python .ci/lerobot_export_sample.py OUT_DIR
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the test suite's robot, fake device hub and episode helpers

from conftest import FakeHub, enable_active, small_robot_config, three_joint_arm_urdf  # noqa: E402
from test_lerobot_export import CAPACITY, DEVICE_KINDS, loop_ns, push_devices, run_episode  # noqa: E402

from humanoid_rt import Robot  # noqa: E402
from humanoid_rt.recording import Recorder  # noqa: E402
from humanoid_rt.recording.lerobot_export import export_session  # noqa: E402


def record_and_export(out: Path, with_devices: bool) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        (scratch / "arm.urdf").write_text(three_joint_arm_urdf())
        robot = Robot(small_robot_config(scratch / "arm.urdf"), telemetry_capacity=CAPACITY)
        hub = FakeHub(DEVICE_KINDS) if with_devices else None
        rng = np.random.default_rng(11)
        try:
            with Recorder(robot, scratch / "session", devices=hub, telemetry_capacity=CAPACITY) as recorder:
                enable_active(robot)

                def during(t_start, t_end):
                    push_devices(hub, recorder, rng, t_start, t_end)
                    for k in range(int((t_end - t_start) / 0.04)):
                        recorder.cameras.register("head", k, f"videos/head.mp4#frame={k}",
                                                  t_ns=int(loop_ns(recorder, [t_start + 0.013 + k * 0.04])[0]))

                for task, outcome, target in (("grasp the cup", "success", 0.3), ("grasp the cup", "failure", -0.2),
                                              ("wipe the table", "aborted", 0.1)):
                    run_episode(robot, recorder, task, outcome, target=target, devices=during if with_devices else None)
        finally:
            robot.close()
        report = export_session(scratch / "session", out, fps=30, overwrite=True)
    print(f"exported {report['episodes']} episodes, {report['frames']} frames to {out}")


def main(out: Path) -> None:
    record_and_export(out / "devices", with_devices=True)
    record_and_export(out / "joints", with_devices=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
