"""Makes docs/board.png: the board over a synthetic fleet (12 robots, 24 collectors, five days), robot
health from prometheus_client exporters (one robot in FAULT, one in HOLD), shot by headless chromium.

    PYTHONPATH=src python docs/make_board_screenshot.py [docs/board.png]
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from board_support import BoardProcess, RobotExporter  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from humanoid_rt.catalog.synthetic import generate_fleet  # noqa: E402

JOINTS = ("left_knee", "right_knee", "left_hip_pitch", "right_ankle_pitch", "waist_yaw")


def main(out: Path) -> None:
    rng = random.Random(4)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "recordings"
        generate_fleet(root, robots=12, operators=24, days=5, episodes_per_day=34, seed=4, gap_s=420)
        (Path(tmp) / "targets.yaml").write_text("default: 500\nskills: {pick_cup: 300, fold_towel: 400}\n")
        states = {3: "FAULT", 7: "HOLD", 10: "DISABLED"}
        exporters = []
        for i in range(12):
            e = RobotExporter(f"g1-{i:03d}", states.get(i, "ACTIVE"),
                              {j: round(rng.uniform(36, 52), 1) for j in JOINTS})
            exporters.append(e)
        exporters[3].fault("joint_overtemperature")
        exporters[3].temperature.labels(robot_id="g1-003", joint="left_knee").set(78.5)
        board = BoardProcess("--catalog", str(root), "--targets", str(Path(tmp) / "targets.yaml"),
                             "--metrics", *[e.url for e in exporters])
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1920, "height": 1080})
                page.goto(board.url)
                page.wait_for_selector('[data-robot="g1-003"][data-state="FAULT"]', timeout=60_000)
                page.wait_for_timeout(1000)
                page.screenshot(path=str(out))
                browser.close()
            # A palette of 96 colours keeps the README's picture small (the board has few colours).
            from PIL import Image

            image = Image.open(out).convert("RGB").quantize(colors=96, method=Image.Quantize.MEDIANCUT,
                                                            dither=Image.Dither.NONE)
            image.save(out, optimize=True)
        finally:
            board.close()
            for e in exporters:
                e.close()
    print(f"written: {out} ({out.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "board.png")
