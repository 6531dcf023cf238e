"""`humanoid-rt doctor` checks (humanoid_rt.doctor) against fake /proc and /sys trees and the real machine."""

from __future__ import annotations

import errno
import importlib.util
import json
import os
import resource
import sys
from pathlib import Path

import pytest

# Loaded from its file so the tests run whether or not the C++ extension that
# the package __init__ may import has been built.
_DOCTOR_PATH = Path(__file__).resolve().parents[1] / "src" / "humanoid_rt" / "doctor.py"
_spec = importlib.util.spec_from_file_location("humanoid_rt_doctor_under_test", _DOCTOR_PATH)
doctor = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = doctor
_spec.loader.exec_module(doctor)

EXPECTED_NAMES = [
    "kernel_preemption",
    "sched_fifo",
    "rt_throttling",
    "mlockall",
    "cpu_count",
    "isolated_cpus",
    "cpu_frequency_governor",
    "cpu_idle_states",
    "hrtimers",
    "virtualization",
    "cyclictest",
]

CAP_EFF_ALL = "000001ffffffffff"
CAP_EFF_NONE = "0000000000000000"
EIGHT_MIB = 8 * 1024 * 1024


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def build_tree(
    tmp_path: Path,
    *,
    version: str,
    cmdline: str,
    online: str,
    isolated: str,
    governor: str | None,
    idle_states: list[tuple[str, int, bool]],  # (name, exit latency in us, disabled)
    rt_runtime_us: int,
    cpuinfo_flags: str,
    product_name: str,
    cap_eff: str,
    realtime_flag: bool,
) -> tuple[Path, Path]:
    proc, sys_ = tmp_path / "proc", tmp_path / "sys"
    write(proc, "sys/kernel/version", version)
    write(proc, "cmdline", cmdline)
    write(proc, "sys/kernel/sched_rt_runtime_us", str(rt_runtime_us))
    write(proc, "sys/kernel/sched_rt_period_us", "1000000")
    write(proc, "cpuinfo", f"processor\t: 0\nflags\t\t: {cpuinfo_flags}\n")
    write(proc, "self/status", f"Name:\tpython\nCapInh:\t0000000000000000\nCapEff:\t{cap_eff}\n")
    write(proc, "self/timerslack_ns", "50000")
    if realtime_flag:
        write(sys_, "kernel/realtime", "1")
    write(sys_, "devices/system/cpu/online", online)
    write(sys_, "devices/system/cpu/isolated", isolated)
    write(sys_, "class/dmi/id/product_name", product_name)
    for cpu in doctor._parse_cpu_list(online):
        if governor is not None:
            write(sys_, f"devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor", governor)
        for index, (name, latency, disabled) in enumerate(idle_states):
            state = f"devices/system/cpu/cpu{cpu}/cpuidle/state{index}"
            write(sys_, f"{state}/name", name)
            write(sys_, f"{state}/latency", str(latency))
            write(sys_, f"{state}/disable", "1" if disabled else "0")
    return proc, sys_


def fake_probes(monkeypatch: pytest.MonkeyPatch, *, sched_fifo_errno: int, mlockall_errno: int, memlock: int) -> None:
    """Replace what the fake trees cannot stand in for: the forked probes, rlimits and the clock."""
    monkeypatch.setattr(doctor, "_try_sched_fifo", lambda: sched_fifo_errno)
    monkeypatch.setattr(doctor, "_try_mlockall", lambda: mlockall_errno)
    limits = {resource.RLIMIT_MEMLOCK: (memlock, memlock), resource.RLIMIT_RTPRIO: (0, 0)}
    monkeypatch.setattr(doctor.resource, "getrlimit", lambda which: limits[which])
    monkeypatch.setattr(doctor.time, "clock_getres", lambda clock: 1e-9)


def by_name(checks: list) -> dict:
    return {check.name: check for check in checks}


@pytest.fixture
def rt_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    proc, sys_ = build_tree(
        tmp_path,
        version="#1 SMP PREEMPT_RT Debian 6.1.90-1 (2024-05-03)",
        cmdline="BOOT_IMAGE=/vmlinuz-6.1.0-21-rt-amd64 root=/dev/nvme0n1p2 isolcpus=3 nohz_full=3 rcu_nocbs=3 quiet",
        online="0-3",
        isolated="3",
        governor="performance",
        idle_states=[("POLL", 0, False), ("C1", 2, False), ("C6", 170, True)],
        rt_runtime_us=-1,
        cpuinfo_flags="fpu vme de pse tsc msr sse sse2",
        product_name="NUC13ANHi7",
        cap_eff=CAP_EFF_ALL,
        realtime_flag=True,
    )
    fake_probes(monkeypatch, sched_fifo_errno=0, mlockall_errno=0, memlock=EIGHT_MIB)
    cyclictest = tmp_path / "bin" / "cyclictest"
    cyclictest.parent.mkdir()
    cyclictest.write_text("#!/bin/sh\n")
    cyclictest.chmod(0o755)
    monkeypatch.setenv("PATH", str(cyclictest.parent))
    return by_name(doctor.run_checks(proc_root=str(proc), sys_root=str(sys_)))


@pytest.fixture
def dynamic_vm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    proc, sys_ = build_tree(
        tmp_path,
        version="#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
        cmdline="BOOT_IMAGE=/vmlinuz-6.1.0-18-amd64 root=/dev/vda1 ro quiet",
        online="0-1",
        isolated="",
        governor="powersave",
        idle_states=[("POLL", 0, False), ("C1", 2, False), ("C6", 133, False)],
        rt_runtime_us=950000,
        cpuinfo_flags="fpu vme de pse tsc msr sse sse2 hypervisor",
        product_name="Standard PC (Q35 + ICH9, 2009)",
        cap_eff=CAP_EFF_NONE,
        realtime_flag=False,
    )
    fake_probes(monkeypatch, sched_fifo_errno=errno.EPERM, mlockall_errno=errno.ENOMEM, memlock=EIGHT_MIB)
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    return by_name(doctor.run_checks(proc_root=str(proc), sys_root=str(sys_)))


def test_rt_machine_flags(rt_machine: dict) -> None:
    assert {name: check.ok for name, check in rt_machine.items()} == {
        "kernel_preemption": True,
        "sched_fifo": True,
        "rt_throttling": None,
        "mlockall": True,
        "cpu_count": True,
        "isolated_cpus": True,
        "cpu_frequency_governor": True,
        "cpu_idle_states": True,
        "hrtimers": True,
        "virtualization": None,
        "cyclictest": None,
    }
    for check in rt_machine.values():
        assert check.advice == "", check


def test_rt_machine_values(rt_machine: dict) -> None:
    assert rt_machine["kernel_preemption"].value.startswith("PREEMPT_RT")
    assert "isolated: 3" in rt_machine["isolated_cpus"].value
    assert "isolcpus=3 nohz_full=3 rcu_nocbs=3" in rt_machine["isolated_cpus"].value
    assert rt_machine["cpu_frequency_governor"].value == "performance (cpu 0-3)"
    assert rt_machine["rt_throttling"].value == "disabled (sched_rt_runtime_us = -1)"
    # The 8 MiB limit does not matter to a process holding CAP_IPC_LOCK.
    assert "8 MiB (lifted by CAP_IPC_LOCK)" in rt_machine["mlockall"].value
    assert "CAP_SYS_NICE" in rt_machine["sched_fifo"].value
    assert rt_machine["virtualization"].value == "bare metal (product 'NUC13ANHi7')"
    assert rt_machine["cyclictest"].value.endswith("/bin/cyclictest")
    assert doctor.report_dict(list(rt_machine.values()))["realtime_ready"] is True


def test_dynamic_vm_flags(dynamic_vm: dict) -> None:
    assert {name: check.ok for name, check in dynamic_vm.items()} == {
        "kernel_preemption": False,
        "sched_fifo": False,
        "rt_throttling": None,
        "mlockall": False,
        "cpu_count": True,
        "isolated_cpus": None,
        "cpu_frequency_governor": False,
        "cpu_idle_states": False,
        "hrtimers": True,
        "virtualization": None,
        "cyclictest": None,
    }
    assert doctor.report_dict(list(dynamic_vm.values()))["realtime_ready"] is False


def test_dynamic_vm_advice_names_the_fix(dynamic_vm: dict) -> None:
    kernel = dynamic_vm["kernel_preemption"]
    assert kernel.value.startswith("PREEMPT_DYNAMIC")
    assert "linux-image-rt-amd64" in kernel.advice and "preempt=full" in kernel.advice

    sched_fifo = dynamic_vm["sched_fifo"]
    assert "EPERM" in sched_fifo.value and "priority <= 0 (RLIMIT_RTPRIO)" in sched_fifo.value
    for fix in ("CAP_SYS_NICE", "ulimit -r", "rtprio", "limits.conf"):
        assert fix in sched_fifo.advice

    mlockall = dynamic_vm["mlockall"]
    assert "ENOMEM" in mlockall.value and "RLIMIT_MEMLOCK 8 MiB" in mlockall.value
    assert "memlock" in mlockall.advice and "limits.conf" in mlockall.advice

    assert "5%" in dynamic_vm["rt_throttling"].advice
    assert "sched_rt_runtime_us=-1" in dynamic_vm["rt_throttling"].advice

    isolation = dynamic_vm["isolated_cpus"].advice
    assert "isolcpus=1 nohz_full=1 rcu_nocbs=1" in isolation and "loop.cpu: 1" in isolation

    governor = dynamic_vm["cpu_frequency_governor"]
    assert governor.value == "powersave (cpu 0-1)"
    assert "cpupower frequency-set -g performance" in governor.advice

    idle = dynamic_vm["cpu_idle_states"]
    assert "C6 enabled on cpu 0-1" in idle.value
    assert "processor.max_cstate=1" in idle.advice and "/dev/cpu_dma_latency" in idle.advice

    virtualization = dynamic_vm["virtualization"]
    assert "'hypervisor' CPU flag" in virtualization.value
    assert "Standard PC (Q35 + ICH9, 2009)" in virtualization.value
    assert virtualization.advice

    assert "apt-get install rt-tests" in dynamic_vm["cyclictest"].advice


@pytest.mark.parametrize(
    ("version", "debugfs_modes", "cmdline", "expected_ok", "value_start", "advice_fragment"),
    [
        ("#1 SMP PREEMPT_DYNAMIC", "none voluntary (full) lazy", "", False, "PREEMPT_DYNAMIC (full, from debugfs)", "not hard real-time"),
        ("#1 SMP PREEMPT_DYNAMIC", None, "preempt=none", False, "PREEMPT_DYNAMIC (none, from preempt=", "preempt=full"),
        ("#1 SMP PREEMPT Tue Jan 9", None, "", False, "PREEMPT (", "not hard real-time"),
        ("#1 SMP Tue Jan 9", None, "", False, "voluntary or no preemption", "linux-image-rt-amd64"),
        ("#1 SMP PREEMPT RT Tue Jan 9", None, "", True, "PREEMPT_RT", ""),
    ],
)
def test_kernel_preemption_classification(
    tmp_path: Path,
    version: str,
    debugfs_modes: str | None,
    cmdline: str,
    expected_ok: bool,
    value_start: str,
    advice_fragment: str,
) -> None:
    proc, sys_ = tmp_path / "proc", tmp_path / "sys"
    write(proc, "sys/kernel/version", version)
    write(proc, "cmdline", cmdline)
    if debugfs_modes is not None:
        write(sys_, "kernel/debug/sched/preempt", debugfs_modes)
    check = doctor.check_kernel_preemption(proc, sys_)
    assert check.ok is expected_ok
    assert check.value.startswith(value_start)
    assert advice_fragment in check.advice
    if expected_ok:
        assert check.advice == ""


def test_single_cpu_warns_and_has_nothing_to_isolate(tmp_path: Path) -> None:
    proc, sys_ = tmp_path / "proc", tmp_path / "sys"
    write(proc, "cmdline", "quiet")
    write(sys_, "devices/system/cpu/online", "0")
    write(sys_, "devices/system/cpu/isolated", "")
    cpu_count = doctor.check_cpu_count(sys_)
    assert cpu_count.ok is False and "at least 2 CPUs" in cpu_count.advice
    isolation = doctor.check_isolated_cpus(proc, sys_)
    assert isolation.ok is None and "isolcpus" not in isolation.advice


def test_missing_cpufreq_and_cpuidle_are_undetermined(tmp_path: Path) -> None:
    sys_ = tmp_path / "sys"
    write(sys_, "devices/system/cpu/online", "0-1")
    assert doctor.check_cpu_frequency_governor(sys_).ok is None
    assert doctor.check_cpu_idle_states(sys_).ok is None


def test_cpu_list_round_trip() -> None:
    assert doctor._parse_cpu_list("0-3,8,10-11") == [0, 1, 2, 3, 8, 10, 11]
    assert doctor._format_cpu_list([11, 0, 1, 2, 3, 8, 10]) == "0-3,8,10-11"


def test_child_probe_reports_errno_and_leaves_caller_untouched() -> None:
    # Priority 1000 is out of range for every policy, so the child must report EINVAL.
    assert doctor._errno_in_child(lambda: os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1000))) == errno.EINVAL
    policy_before = os.sched_getscheduler(0)
    doctor.run_checks()
    assert os.sched_getscheduler(0) == policy_before
    status = Path("/proc/self/status").read_text().splitlines()
    locked_memory = next(line for line in status if line.startswith("VmLck:"))
    assert locked_memory.split()[1] == "0"


def test_real_machine_reports_every_check_once() -> None:
    checks = doctor.run_checks()
    assert [check.name for check in checks] == EXPECTED_NAMES
    for check in checks:
        assert check.ok in (True, False, None)
        assert check.value
        if check.ok is False:
            assert check.advice, check
    report = doctor.report_dict(checks)
    assert json.loads(json.dumps(report)) == report
    assert report["realtime_ready"] == (
        by_name(checks)["sched_fifo"].ok is True and by_name(checks)["mlockall"].ok is True
    )


def test_format_report_marks_status_and_advice(dynamic_vm: dict) -> None:
    text = doctor.format_report(list(dynamic_vm.values()))
    lines = text.splitlines()
    assert any(line.startswith("WARN") and "cpu_frequency_governor" in line for line in lines)
    assert any(line.startswith("INFO") and "rt_throttling" in line for line in lines)
    assert any(line.startswith("OK") and "hrtimers" in line for line in lines)
    assert any("-> " in line and "cpupower frequency-set -g performance" in line for line in lines)
    assert lines[-1].startswith("real-time ready: no")


def test_main_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "doctor.json"
    assert doctor.main(["--json", str(path)]) == 0
    report = json.loads(path.read_text())
    assert [check["name"] for check in report["checks"]] == EXPECTED_NAMES
    assert set(report["checks"][0]) == {"name", "ok", "value", "advice"}
    assert isinstance(report["realtime_ready"], bool)
    assert "real-time ready:" in capsys.readouterr().out


def test_main_rejects_unknown_arguments() -> None:
    with pytest.raises(SystemExit) as exit_info:
        doctor.main(["--no-such-option"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize(
    ("memlock", "cap_eff", "expected_ok"),
    [
        (EIGHT_MIB, CAP_EFF_NONE, False),  # locks now, but later allocations would hit the limit
        (EIGHT_MIB, CAP_EFF_ALL, True),
        (256 * 1024 * 1024, CAP_EFF_NONE, True),
        (resource.RLIM_INFINITY, CAP_EFF_NONE, True),
    ],
)
def test_mlockall_needs_room_to_grow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memlock: int, cap_eff: str, expected_ok: bool
) -> None:
    write(tmp_path, "self/status", f"CapEff:\t{cap_eff}")
    fake_probes(monkeypatch, sched_fifo_errno=0, mlockall_errno=0, memlock=memlock)
    check = doctor.check_mlockall(tmp_path)
    assert check.ok is expected_ok
    assert "permitted" in check.value
    assert ("memlock unlimited" in check.advice) is not expected_ok
