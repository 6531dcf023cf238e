"""Live views of a running robot: a Foxglove WebSocket server (foxglove_server.py) and Prometheus
metrics (metrics.py), each on threads of their own, never the loop's."""

from .foxglove_server import DEFAULT_PORT, LiveView

__all__ = ["DEFAULT_PORT", "LiveView"]
