"""On-robot policy execution: action chunks (ChunkExecutor), time-aligned observations
(TelemetryHistory) and a LeRobot-shaped adapter (LeRobotAdapter), all off the RT thread."""

from .chunks import UNDERRUN_POLICIES, ChunkExecutor, PolicyThread
from .lerobot import LeRobotAdapter
from .observations import TelemetryHistory

__all__ = ["UNDERRUN_POLICIES", "ChunkExecutor", "LeRobotAdapter", "PolicyThread", "TelemetryHistory"]
