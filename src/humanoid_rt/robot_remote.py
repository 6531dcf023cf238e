"""Robot.attach_teleop() / attach_zenoh(): remote command sources as part of a Robot (a mixin, so
robot.py stays small). Robot.close() detaches both."""

from __future__ import annotations

from pathlib import Path

from .task_targets import task_gains


class RemoteAttachments:
    """attach_teleop, attach_zenoh and their detach calls and accessors."""

    _teleop = None  # TeleopReceiver, see attach_teleop()
    _zenoh = None  # remote.RobotNode, see attach_zenoh()

    # ------------------------------------------------------------------ teleop
    def attach_teleop(self, *, key: bytes | None = None, key_file: str | Path | None = None,
                      host: str = "127.0.0.1", port: int = 0, hand_joints=None, pose_stiffness=None,
                      pose_damping=None, **options):
        """Start the teleop receiver (a C++ thread) on udp://host:port; returns the TeleopReceiver.

        Binds to localhost unless `host` says otherwise. Key: bytes or a hex key file.
        options: start_gate_rad, ramp_velocity_fraction, velocity_fraction, max_step_rad,
        replay_window, priority, poll_timeout_s (humanoid_rt.teleop.receiver.DEFAULTS).
        hand_joints: {"left"|"right": [(joint name, open_q, closed_q), ...]} maps hand targets to joints.
        Frame poses (frame_id = index into task_frames) drive the frames' Cartesian tasks with
        pose_stiffness / pose_damping (as set_frame_target's stiffness / damping; defaults
        DEFAULT_TASK_STIFFNESS, critically damped); pose_start_gate_m / pose_start_gate_rad bound how
        far the first pose of a frame may be from its measured pose.
        """
        from .teleop.receiver import TeleopReceiver, key_from

        if self._teleop is not None:
            raise RuntimeError(f"teleop already attached on {self._teleop.url}; detach_teleop() first")
        stiffness, damping = task_gains(pose_stiffness, pose_damping, prefix="pose_")
        self._teleop = TeleopReceiver(self._loop, key_from(key, key_file), host=host, port=port,
                                      joint_names=self.joint_names, hand_joints=hand_joints,
                                      pose_stiffness=stiffness.tolist(), pose_damping=damping.tolist(), **options)
        return self._teleop

    def detach_teleop(self) -> None:
        """Stop the teleop receiver (the robot's watchdog then holds and damps as the stream lapses)."""
        if self._teleop is not None:
            self._teleop.close()
            self._teleop = None

    @property
    def teleop(self):
        """The attached TeleopReceiver, or None."""
        return self._teleop

    def teleop_statistics(self) -> dict:
        """The teleop receiver's counters and latencies (see TeleopReceiver.statistics)."""
        if self._teleop is None:
            raise RuntimeError("no teleop receiver attached; call attach_teleop() first")
        return self._teleop.statistics()

    # ------------------------------------------------------------------- Zenoh
    def attach_zenoh(self, options=None, *, key: bytes | None = None, key_file: str | Path | None = None, **kwargs):
        """Put this robot on Zenoh (humanoid_rt/<robot_id>/...; firmware_interfaces/zenoh/KEYS.md); returns the node.

        options: a remote.SessionOptions (mode, endpoints, TLS). key / key_file: the teleop key that
        authenticates cmd/* packets and request/* queries (the UDP teleop receiver is reused when attached).
        kwargs: state_rate_hz, health_period_s, request_timeout_s, session, and teleop receiver options.
        """
        from .remote.robot_node import RobotNode

        if self._zenoh is not None:
            raise RuntimeError("zenoh already attached; detach_zenoh() first")
        self._zenoh = RobotNode(self, options, key=key, key_file=key_file, **kwargs)
        return self._zenoh

    def detach_zenoh(self) -> None:
        """Leave Zenoh (the liveliness token goes; a command stream lapses into the watchdog)."""
        if self._zenoh is not None:
            node, self._zenoh = self._zenoh, None
            node.close()

    @property
    def zenoh(self):
        """The attached remote.RobotNode, or None."""
        return self._zenoh
