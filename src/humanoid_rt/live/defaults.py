"""Defaults of the live views, in one place (light to import: the CLI's parser reads them)."""

LIVE_PORT = 8765  # Foxglove's own default
METRICS_PORT = 9470
JOINT_RATE_HZ = 200.0  # plots
TRANSFORM_RATE_HZ = 30.0  # the 3D view
