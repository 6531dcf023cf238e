"""Live views of a running robot: a Foxglove WebSocket server (foxglove_server.py) and Prometheus
metrics (metrics.py), each on threads of their own, never the loop's.

Imported lazily: `import humanoid_rt` does not load foxglove, Pinocchio's Python bindings or
prometheus_client until a view is attached.
"""

__all__ = ["LiveView", "MetricsExporter"]


def __getattr__(name: str):
    if name == "LiveView":
        from .foxglove_server import LiveView

        return LiveView
    if name == "MetricsExporter":
        from .metrics import MetricsExporter

        return MetricsExporter
    raise AttributeError(name)
