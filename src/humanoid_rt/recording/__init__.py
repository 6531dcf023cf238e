"""Episodes at full rate into MCAP: the recorder, its session directories, crash recovery,
camera alignment, reading episodes back, and LeRobot export. See FORMAT.md."""

from .camera import CameraClient
from .recorder import Recorder
from .session import OUTCOMES, Session, SessionError, recover

__all__ = ["CameraClient", "OUTCOMES", "Recorder", "Session", "SessionError", "recover"]
