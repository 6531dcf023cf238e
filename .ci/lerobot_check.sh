#!/usr/bin/env bash
# LeRobot 0.6.1's own reader on our LeRobot export (issue 18). LeRobot 0.6.1 needs Python >= 3.12, the
# project runs on 3.11: LeRobot gets a virtual environment of its own (made once, reused after).
#   1. $LEROBOT_VENV (default .ci/lerobot312) with lerobot[dataset]==0.6.1, from $PYTHON312
#      (default: python3.12 on PATH, else pyenv's 3.12.1). It pulls torch from PyPI (CUDA build).
#   2. The project's environment ($PROJECT_PYTHON, default .ci/venv/bin/python after .ci/run, else
#      python) records two small sessions and exports them (.ci/lerobot_export_sample.py).
#   3. LeRobot's environment loads them with LeRobotDataset and compares frames, features and stats
#      with LeRobot's own compute_stats (.ci/lerobot_check.py). Offline: nothing is fetched from the Hub.
# Exit status: 0 when every check passes, 3 when LeRobot could not be installed, else a failed check.
set -euo pipefail
cd "$(dirname "$0")/.."

# The first interpreter that really runs and is >= 3.12 (a pyenv shim named python3.12 may exist and fail).
find_python312() {
  local candidate
  for candidate in ${PYTHON312:-} python3.12 python3.13 /root/.pyenv/versions/3.12*/bin/python \
                   /root/.pyenv/versions/3.13*/bin/python; do
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  return 1
}
LEROBOT_VENV=${LEROBOT_VENV:-.ci/lerobot312}
if [ -z "${PROJECT_PYTHON:-}" ]; then
  if [ -x .ci/venv/bin/python ]; then PROJECT_PYTHON=.ci/venv/bin/python; else PROJECT_PYTHON=python; fi
fi

if ! "$LEROBOT_VENV/bin/python" -c 'import sys, lerobot, datasets; sys.exit(lerobot.__version__ != "0.6.1")' \
     2>/dev/null; then
  PYTHON312=$(find_python312) || {
    echo "lerobot_check: no Python >= 3.12 here (LeRobot 0.6.1 requires it); set PYTHON312" >&2; exit 3; }
  # Exit 3 (not a failed check) when LeRobot cannot be installed: no registry, no disk.
  "$PYTHON312" -m venv "$LEROBOT_VENV" && \
    "$LEROBOT_VENV/bin/python" -m pip install -q --disable-pip-version-check "lerobot[dataset]==0.6.1" || {
      echo "lerobot_check: could not install lerobot[dataset]==0.6.1 into $LEROBOT_VENV" >&2; exit 3; }
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PROJECT_PYTHON" .ci/lerobot_export_sample.py "$work/sample"
# torchcodec warns on stderr when FFmpeg's shared libraries are absent: no videos are read here.
HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_HOME="$work/hf" \
  "$LEROBOT_VENV/bin/python" .ci/lerobot_check.py "$work/sample" 2> "$work/stderr" || {
    status=$?; cat "$work/stderr" >&2; exit "$status"; }
