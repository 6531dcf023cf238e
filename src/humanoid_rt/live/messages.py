"""Messages only the live view sends (the rest are the recorder's, humanoid_rt.recording.schemas)."""

from __future__ import annotations

from ..recording.schemas import DynamicMessage, Field, PackedMessage

TASK_ERROR = PackedMessage("humanoid_rt/msg/TaskError", [
    Field("monotonic_ns", "int64", comment="CLOCK_MONOTONIC when the state was read"),
    Field("loop_time", "float64", comment="loop time of the state [s]"),
    Field("enabled", "bool", comment="the task acted in that cycle"),
    Field("position_error", "float64", 3, "reference minus measured, world frame [m]"),
    Field("orientation_error", "float64", 3, "rotation vector [rad]"),
    Field("position_error_norm", "float64", comment="[m]"),
    Field("orientation_error_norm", "float64", comment="[rad]"),
    Field("reference_position", "float64", 3, "the task's reference now [m]"),
], "humanoid_rt TaskError: one Cartesian impedance task's tracking error")

# ROS 2's std_msgs/msg/String: what Foxglove's and Lichtblick's URDF layer read from a topic.
ROBOT_DESCRIPTION = DynamicMessage("std_msgs/msg/String", "string data\n")
