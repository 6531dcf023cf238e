"""The collectors' board: a Starlette web app for the training centre's big screen (app.py), fed by the
episode catalogue and the robots' Prometheus metrics (data.py, metrics.py). `humanoid-rt board` (cli.py)."""
