"""Robot.attach_live() / attach_metrics(): the live views as part of a Robot (a mixin, so robot.py stays small)."""

from __future__ import annotations

from . import defaults


class LiveViews:
    """attach_live, attach_metrics and their detach calls; Robot.close() detaches both."""

    _live = None
    _metrics = None

    def attach_live(self, port: int = defaults.LIVE_PORT, *, host: str = "127.0.0.1", **options):
        """Serve a Foxglove WebSocket on ws://host:port (port 0: any free port); returns the LiveView.

        Binds to localhost unless `host` says otherwise. options: joint_rate_hz (default 200),
        transform_rate_hz (30), devices (a DeviceHub), tcp_nodelay (True), pump_period_s, message_backlog
        (humanoid_rt.live.LiveView).
        """
        from .foxglove_server import LiveView

        if self._live is not None:
            raise RuntimeError(f"a live view is already attached on {self._live.url}; detach_live() first")
        self._live = LiveView(self, port=port, host=host, **options)
        return self._live

    def detach_live(self) -> None:
        if self._live is not None:
            self._live.close()
            self._live = None

    @property
    def live(self):
        """The attached LiveView, or None."""
        return self._live

    def attach_metrics(self, port: int = defaults.METRICS_PORT, *, host: str = "127.0.0.1"):
        """Serve Prometheus metrics on http://host:port/metrics (port 0: any free port); returns the exporter.

        Binds to localhost unless `host` says otherwise (a Prometheus on another machine needs host="0.0.0.0").
        """
        from .metrics import MetricsExporter

        if self._metrics is not None:
            raise RuntimeError(f"metrics are already served on {self._metrics.url}; detach_metrics() first")
        self._metrics = MetricsExporter(self, port=port, host=host)
        return self._metrics

    def detach_metrics(self) -> None:
        if self._metrics is not None:
            self._metrics.close()
            self._metrics = None

    @property
    def metrics(self):
        """The attached MetricsExporter, or None (the recorder counts episodes into it)."""
        return self._metrics

    def _detach_live_views(self) -> None:
        try:
            self.detach_live()
        finally:
            self.detach_metrics()
