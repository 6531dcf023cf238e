"""The project's documentation is self-contained and agrees with the code it describes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = {".py", ".md", ".hpp", ".cpp", ".h", ".txt", ".toml", ".yaml", ".yml", ".json5", ".sh", ".dbc"}


def _project_text_files():
    for path in ROOT.rglob("*"):
        parts = path.relative_to(ROOT).parts
        if parts[0] in (".git", "build", "third_party") or "vendor" in parts or not path.is_file():
            continue
        if path.suffix in TEXT_SUFFIXES or path.name == "CMakeLists.txt":
            yield path


def test_no_file_cites_notes_outside_the_repository():
    # Facts the code relies on live in docs/, firmware_interfaces/ or the file's own header comment.
    outside = ("FIELD-" + "NOTES", "/work/" + "shared")  # split so this file does not match itself
    citing = [str(p.relative_to(ROOT)) for p in _project_text_files()
              if any(text in p.read_text(errors="replace") for text in outside)]
    assert citing == []


def test_every_doc_path_a_build_file_cites_exists():
    for path in ("docs/BUILD.md", "firmware_interfaces/can/README.md", "firmware_interfaces/can/cia402.md",
                 "firmware_interfaces/serial/README.md", "src/humanoid_rt/recording/FORMAT.md"):
        assert (ROOT / path).is_file(), path
    assert "docs/BUILD.md" in (ROOT / "CMakeLists.txt").read_text()
    assert "docs/BUILD.md" in (ROOT / "pyproject.toml").read_text()


def test_the_cia402_statusword_table_is_the_one_the_driver_decodes():
    header = (ROOT / "drivers/cia402/cia402.hpp").read_text()
    decoded = {(name, int(mask, 16), int(value, 16)) for mask, value, name in
               re.findall(r"if \(\(sw & (0x[0-9A-F]+)\) == (0x[0-9A-F]+)\) return State::k(\w+);", header)}
    doc = (ROOT / "firmware_interfaces/can/cia402.md").read_text()
    documented = {(name.replace(" ", "").lower(), int(mask, 16), int(value, 16)) for name, mask, value in
                  re.findall(r"^\| ([A-Z][a-z ]+) \| (0x[0-9A-F]+) \| (0x[0-9A-F]+) \|$", doc, re.MULTILINE)}
    assert len(decoded) == 8
    assert {(name.lower(), mask, value) for name, mask, value in decoded} == documented


@pytest.mark.parametrize("extended, bits", [(False, 135), (True, 160)])
def test_the_frame_times_in_the_can_readme_are_what_busload_computes(extended, bits):
    from humanoid_rt.can.busload import frame_time_s

    readme = (ROOT / "firmware_interfaces/can/README.md").read_text()
    assert f"{bits} us" in readme
    assert frame_time_s(8, extended=extended, fd=False, bitrate=1_000_000) == pytest.approx(bits * 1e-6)


@pytest.mark.parametrize("fd, fitting", [(False, 3), (True, 7)])
def test_the_motors_per_bus_in_the_can_readme_are_what_busload_computes(fd, fitting):
    # README: ~3 motors per classic 1 Mbit/s bus, ~7-8 per CAN-FD 1/5 Mbit/s bus, at 1 kHz and 80 % load
    from humanoid_rt.can.busload import bus_load

    def load(motors):
        return bus_load("arm", ["mit_reference"] * motors, rate_hz=1000, fd=fd, bitrate=1_000_000,
                        data_bitrate=5_000_000 if fd else None, max_load=0.8)

    assert load(fitting).fits and not load(fitting + 2).fits
