"""`humanoid-rt doctor`: how ready is this machine for a 1 kHz control loop?

Every check reads the running machine (the kernel's /proc and /sys, or a probe
in a forked child) and says what to change.  The /proc and /sys roots are
parameters so the checks can be exercised against fake trees.  The module is
pure standard library on purpose: it must run on a freshly installed robot
computer before the C++ extension, numpy or anything else is known to work.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import glob
import json
import os
import re
import resource
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

# Bits of the CapEff mask in /proc/<pid>/status (linux/capability.h).
CAP_IPC_LOCK = 14
CAP_SYS_NICE = 23

# mlockall(2) flags as defined for x86 and arm64, the architectures robot
# computers use (alpha, powerpc and sparc use other values).
MCL_CURRENT = 1
MCL_FUTURE = 2

# Enough for the Python interpreter, numpy, the model and the telemetry ring
# buffers to be locked without the process hitting the limit later.
MIN_MEMLOCK_BYTES = 256 * 1024 * 1024

# A 1 ms period leaves no room for a C-state whose exit alone costs a tenth of it.
MAX_IDLE_EXIT_LATENCY_US = 100

MAX_CLOCK_RESOLUTION_S = 1e-6


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: informational, or the machine would not say
    value: str  # what was found
    advice: str  # what to change; "" when nothing needs changing


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _kernel_command_line(proc_root: Path) -> dict[str, str]:
    """Kernel parameters as name -> value ("" for bare flags)."""
    params: dict[str, str] = {}
    for word in (_read_text(proc_root / "cmdline") or "").split():
        if word == "--":  # everything after "--" is handed to init, not the kernel
            break
        name, _, value = word.partition("=")
        params[name] = value
    return params


def _parse_cpu_list(text: str) -> list[int]:
    """Parse the kernel's CPU list format, e.g. "0-3,8,10-11"."""
    cpus: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        first, _, last = part.partition("-")
        cpus.extend(range(int(first), int(last or first) + 1))
    return cpus


def _format_cpu_list(cpus: list[int]) -> str:
    ranges: list[str] = []
    for cpu in sorted(cpus):
        if ranges and cpu == int(ranges[-1].split("-")[-1]) + 1:
            ranges[-1] = f"{ranges[-1].split('-')[0]}-{cpu}"
        else:
            ranges.append(str(cpu))
    return ",".join(ranges)


def _has_capability(proc_root: Path, capability: int) -> bool:
    for line in (_read_text(proc_root / "self" / "status") or "").splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> capability & 1)
    return False


def _errno_name(code: int) -> str:
    return f"{errno.errorcode.get(code, str(code))} ({os.strerror(code)})"


def _errno_in_child(action: Callable[[], None]) -> int | None:
    """Run `action` in a forked child and return 0 or the errno it failed with.

    The probes change scheduling policy and lock memory; doing that in a child
    leaves the calling process exactly as it was.  None: cannot fork here.
    """
    if not hasattr(os, "fork"):
        return None
    pid = os.fork()
    if pid == 0:
        try:
            action()
            code = 0
        except OSError as error:
            code = error.errno or 255
        except BaseException:
            code = 255
        # _exit: the child must not run the parent's atexit handlers or flush its buffers.
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def _try_sched_fifo() -> int | None:
    if not hasattr(os, "sched_setscheduler"):
        return None
    return _errno_in_child(lambda: os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1)))


def _try_mlockall() -> int | None:
    def lock_all_memory() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.mlockall(MCL_CURRENT | MCL_FUTURE) != 0:
            raise OSError(ctypes.get_errno(), "mlockall")

    return _errno_in_child(lock_all_memory)


def check_kernel_preemption(proc_root: Path, sys_root: Path) -> Check:
    version = _read_text(proc_root / "sys" / "kernel" / "version")  # the same string as `uname -v`
    realtime_flag = _read_text(sys_root / "kernel" / "realtime")
    rt_advice = (
        "install a PREEMPT_RT kernel (Debian: apt-get install linux-image-rt-amd64, "
        "or linux-image-rt-arm64) and boot it"
    )
    if realtime_flag == "1" or (version and re.search(r"\bPREEMPT[_ ]RT\b", version)):
        return Check("kernel_preemption", True, f"PREEMPT_RT ({version or '/sys/kernel/realtime = 1'})", "")
    if version is None:
        return Check("kernel_preemption", None, f"unknown: {proc_root}/sys/kernel/version unreadable", rt_advice)

    if "PREEMPT_DYNAMIC" in version:
        # The live mode is only exposed through debugfs; "preempt=" on the
        # command line is the next best source.
        modes = _read_text(sys_root / "kernel" / "debug" / "sched" / "preempt")
        selected = re.search(r"\((\w+)\)", modes or "")
        boot_mode = _kernel_command_line(proc_root).get("preempt")
        if selected:
            mode, source = selected.group(1), "debugfs"
        elif boot_mode:
            mode, source = boot_mode, "preempt= on the kernel command line"
        else:
            return Check(
                "kernel_preemption",
                False,
                "PREEMPT_DYNAMIC (mode not visible: debugfs not mounted, no preempt= boot option; "
                "distribution kernels usually default to voluntary)",
                f"{rt_advice}; until then boot with preempt=full",
            )
        value = f"PREEMPT_DYNAMIC ({mode}, from {source})"
        if mode in ("full", "lazy"):
            return Check("kernel_preemption", False, value, f"usable but not hard real-time: {rt_advice}")
        return Check("kernel_preemption", False, value, f"{rt_advice}; until then boot with preempt=full")

    if re.search(r"\bPREEMPT\b", version):
        return Check("kernel_preemption", False, f"PREEMPT ({version})", f"usable but not hard real-time: {rt_advice}")
    return Check("kernel_preemption", False, f"voluntary or no preemption ({version})", rt_advice)


def check_sched_fifo(proc_root: Path) -> Check:
    result = _try_sched_fifo()
    if result is None:
        return Check("sched_fifo", None, "cannot probe: no fork/sched_setscheduler on this platform", "")
    if _has_capability(proc_root, CAP_SYS_NICE):
        ceiling = "any priority up to 99 (CAP_SYS_NICE)"
    else:
        soft_limit = resource.getrlimit(resource.RLIMIT_RTPRIO)[0]
        ceiling = "any priority up to 99" if soft_limit == resource.RLIM_INFINITY else f"priority <= {soft_limit}"
        ceiling += " (RLIMIT_RTPRIO)"
    if result == 0:
        return Check("sched_fifo", True, f"permitted, {ceiling}", "")
    return Check(
        "sched_fifo",
        False,
        f"refused: {_errno_name(result)}; {ceiling}",
        "run as root, grant CAP_SYS_NICE (AmbientCapabilities=CAP_SYS_NICE in the systemd unit), "
        "or raise the real-time priority limit: `ulimit -r 99`, or '<user> - rtprio 99' "
        "in /etc/security/limits.conf",
    )


def _format_bytes(count: int) -> str:
    if count == resource.RLIM_INFINITY:
        return "unlimited"
    return f"{count / (1024 * 1024):g} MiB"


def check_mlockall(proc_root: Path) -> Check:
    result = _try_mlockall()
    soft_limit = resource.getrlimit(resource.RLIMIT_MEMLOCK)[0]
    has_ipc_lock = _has_capability(proc_root, CAP_IPC_LOCK)
    # CAP_IPC_LOCK lifts RLIMIT_MEMLOCK entirely; without it every page the
    # process touches after mlockall(MCL_FUTURE) counts against the limit.
    limit_ok = has_ipc_lock or soft_limit == resource.RLIM_INFINITY or soft_limit >= MIN_MEMLOCK_BYTES
    limit_text = f"RLIMIT_MEMLOCK {_format_bytes(soft_limit)}" + (" (lifted by CAP_IPC_LOCK)" if has_ipc_lock else "")
    if result is None:
        return Check("mlockall", None, f"cannot probe: no fork on this platform; {limit_text}", "")
    outcome = "permitted" if result == 0 else f"refused: {_errno_name(result)}"
    ok = result == 0 and limit_ok
    advice = (
        ""
        if ok
        else "set '<user> - memlock unlimited' in /etc/security/limits.conf "
        "(LimitMEMLOCK=infinity in a systemd unit) or grant CAP_IPC_LOCK, so page faults "
        "never stall the loop"
    )
    return Check("mlockall", ok, f"mlockall(MCL_CURRENT|MCL_FUTURE) {outcome}; {limit_text}", advice)


def check_rt_throttling(proc_root: Path) -> Check:
    runtime = _read_text(proc_root / "sys" / "kernel" / "sched_rt_runtime_us")
    period = _read_text(proc_root / "sys" / "kernel" / "sched_rt_period_us")
    if runtime is None or period is None:
        return Check("rt_throttling", None, "unknown: sched_rt_runtime_us / sched_rt_period_us unreadable", "")
    if int(runtime) < 0:
        return Check("rt_throttling", None, "disabled (sched_rt_runtime_us = -1)", "")
    share = 100 * int(runtime) / int(period)
    return Check(
        "rt_throttling",
        None,
        f"RT tasks may run {runtime} us of every {period} us ({share:g}%)",
        f"a real-time task that never sleeps is stopped for the remaining {100 - share:g}% of each period; "
        "a loop that sleeps every cycle is unaffected. sysctl kernel.sched_rt_runtime_us=-1 disables "
        "throttling, at the cost of a runaway loop owning its CPU",
    )


def check_cpu_count(sys_root: Path) -> Check:
    online_text = _read_text(sys_root / "devices" / "system" / "cpu" / "online")
    online = _parse_cpu_list(online_text) if online_text else []
    logical = os.cpu_count()
    count = len(online) or logical or 0
    value = f"os.cpu_count() = {logical}"
    if online:
        value = f"{len(online)} online ({online_text}), {value}"
    if count >= 2:
        return Check("cpu_count", True, value, "")
    return Check(
        "cpu_count",
        False,
        value,
        "the control loop needs a CPU to itself besides the one running everything else: use at least 2 CPUs",
    )


def check_isolated_cpus(proc_root: Path, sys_root: Path) -> Check:
    cpu_dir = sys_root / "devices" / "system" / "cpu"
    isolated = _read_text(cpu_dir / "isolated") or ""
    command_line = _kernel_command_line(proc_root)
    boot_options = [
        f"{name}={command_line[name]}" for name in ("isolcpus", "nohz_full", "rcu_nocbs") if name in command_line
    ]
    found = f"isolated: {isolated or 'none'}; boot options: {' '.join(boot_options) or 'none'}"
    if isolated or "isolcpus" in command_line:
        return Check("isolated_cpus", True, found, "")
    online = _parse_cpu_list(_read_text(cpu_dir / "online") or "")
    if len(online) < 2:
        return Check("isolated_cpus", None, found, "no CPU can be spared for the loop: add CPUs first (see cpu_count)")
    spare_cpu = max(online)
    return Check(
        "isolated_cpus",
        None,
        found,
        f"keep the scheduler, timer ticks and RCU callbacks off one CPU: boot with isolcpus={spare_cpu} "
        f"nohz_full={spare_cpu} rcu_nocbs={spare_cpu} and pin the loop there with loop.cpu: {spare_cpu} "
        "in the robot config",
    )


def _cpu_number(cpu_dir: Path) -> int:
    return int(cpu_dir.name.removeprefix("cpu"))


def check_cpu_frequency_governor(sys_root: Path) -> Check:
    pattern = str(sys_root / "devices" / "system" / "cpu" / "cpu[0-9]*" / "cpufreq" / "scaling_governor")
    cpus_by_governor: dict[str, list[int]] = {}
    for path in map(Path, glob.glob(pattern)):
        governor = _read_text(path)
        if governor:
            cpus_by_governor.setdefault(governor, []).append(_cpu_number(path.parents[1]))
    if not cpus_by_governor:
        return Check("cpu_frequency_governor", None, "no cpufreq (fixed frequency or a VM)", "")
    value = ", ".join(
        f"{governor} (cpu {_format_cpu_list(cpus)})" for governor, cpus in sorted(cpus_by_governor.items())
    )
    if set(cpus_by_governor) == {"performance"}:
        return Check("cpu_frequency_governor", True, value, "")
    return Check(
        "cpu_frequency_governor",
        False,
        value,
        "frequency changes stall the CPU and stretch cycle times: cpupower frequency-set -g performance",
    )


def check_cpu_idle_states(sys_root: Path) -> Check:
    pattern = str(sys_root / "devices" / "system" / "cpu" / "cpu[0-9]*" / "cpuidle" / "state[0-9]*")
    latency_by_state: dict[str, int] = {}
    deep_enabled_on: dict[str, list[int]] = {}
    for state_dir in map(Path, sorted(glob.glob(pattern))):
        name = _read_text(state_dir / "name")
        latency = _read_text(state_dir / "latency")
        if name is None or latency is None:
            continue
        latency_by_state[name] = int(latency)
        enabled = _read_text(state_dir / "disable") != "1"
        if enabled and int(latency) > MAX_IDLE_EXIT_LATENCY_US:
            deep_enabled_on.setdefault(name, []).append(_cpu_number(state_dir.parents[1]))
    if not latency_by_state:
        return Check("cpu_idle_states", None, "no cpuidle states exposed", "")
    by_latency = sorted(latency_by_state.items(), key=lambda item: item[1])
    states = ", ".join(f"{name} {latency} us" for name, latency in by_latency)
    if not deep_enabled_on:
        return Check("cpu_idle_states", True, f"exit latencies: {states}", "")
    deep = "; ".join(f"{name} enabled on cpu {_format_cpu_list(cpus)}" for name, cpus in deep_enabled_on.items())
    return Check(
        "cpu_idle_states",
        False,
        f"exit latencies: {states}; {deep}",
        f"waking from a state slower than {MAX_IDLE_EXIT_LATENCY_US} us delays the loop: "
        f"cpupower idle-set -D {MAX_IDLE_EXIT_LATENCY_US}, boot with processor.max_cstate=1 "
        "(plus intel_idle.max_cstate=1 on Intel), or hold /dev/cpu_dma_latency open with 0 written to it",
    )


def check_hrtimers(proc_root: Path) -> Check:
    resolution = time.clock_getres(time.CLOCK_MONOTONIC)
    slack = _read_text(proc_root / "self" / "timerslack_ns")
    # Timer slack is the kernel's licence to fire a sleeper's timer late; it
    # is ignored for SCHED_FIFO threads, which is one more reason to get them.
    slack_text = f"; timer slack {int(slack) / 1000:g} us (ignored for SCHED_FIFO threads)" if slack else ""
    value = f"CLOCK_MONOTONIC resolution {resolution * 1e9:g} ns{slack_text}"
    if resolution <= MAX_CLOCK_RESOLUTION_S:
        return Check("hrtimers", True, value, "")
    return Check(
        "hrtimers",
        False,
        value,
        "high-resolution timers are off, so sleeps round to the scheduler tick: use a kernel with "
        "CONFIG_HIGH_RES_TIMERS=y and do not boot with highres=off",
    )


def check_virtualization(proc_root: Path, sys_root: Path) -> Check:
    evidence: list[str] = []
    hypervisor_type = _read_text(sys_root / "hypervisor" / "type")
    if hypervisor_type:
        evidence.append(f"hypervisor type '{hypervisor_type}'")
    cpuinfo = _read_text(proc_root / "cpuinfo") or ""
    if re.search(r"^flags\s*:.*\bhypervisor\b", cpuinfo, re.MULTILINE):
        evidence.append("'hypervisor' CPU flag")
    product = _read_text(sys_root / "class" / "dmi" / "id" / "product_name")
    product_text = f"product '{product}'" if product else "no DMI product name"
    if not evidence:
        return Check("virtualization", None, f"bare metal ({product_text})", "")
    return Check(
        "virtualization",
        None,
        f"virtual machine: {', '.join(evidence)}; {product_text}",
        "the host can deschedule a vCPU at any time, adding latency no guest setting removes: "
        "measure and run the loop on the robot's own computer",
    )


def check_cyclictest() -> Check:
    path = shutil.which("cyclictest")
    if path:
        return Check("cyclictest", None, f"found at {path}", "")
    return Check(
        "cyclictest",
        None,
        "not on PATH",
        "apt-get install rt-tests, so the bench can compare the loop's wakeup latency against cyclictest",
    )


def run_checks(*, proc_root: str = "/proc", sys_root: str = "/sys") -> list[Check]:
    proc, sys_ = Path(proc_root), Path(sys_root)
    return [
        check_kernel_preemption(proc, sys_),
        check_sched_fifo(proc),
        check_rt_throttling(proc),
        check_mlockall(proc),
        check_cpu_count(sys_),
        check_isolated_cpus(proc, sys_),
        check_cpu_frequency_governor(sys_),
        check_cpu_idle_states(sys_),
        check_hrtimers(proc),
        check_virtualization(proc, sys_),
        check_cyclictest(),
    ]


def _realtime_ready(checks: list[Check]) -> bool:
    """Without SCHED_FIFO and locked memory the loop cannot hold 1 kHz on any kernel."""
    by_name = {check.name: check for check in checks}
    return all(name in by_name and by_name[name].ok is True for name in ("sched_fifo", "mlockall"))


def _status(check: Check) -> str:
    return {True: "OK", False: "WARN", None: "INFO"}[check.ok]


def format_report(checks: list[Check]) -> str:
    name_width = max((len(check.name) for check in checks), default=0)
    lines: list[str] = []
    for check in checks:
        lines.append(f"{_status(check):<4}  {check.name:<{name_width}}  {check.value}")
        if check.advice:
            lines.append(f"{'':<4}  {'':<{name_width}}  -> {check.advice}")
    lines.append("")
    ready = "yes" if _realtime_ready(checks) else "no (needs SCHED_FIFO and mlockall)"
    lines.append(f"real-time ready: {ready}")
    return "\n".join(lines)


def report_dict(checks: list[Check]) -> dict:
    return {"checks": [asdict(check) for check in checks], "realtime_ready": _realtime_ready(checks)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="humanoid-rt doctor",
        description="Report this machine's real-time capability for a 1 kHz control loop and what to change.",
    )
    parser.add_argument("--json", metavar="PATH", type=Path, help="also write the report as JSON to PATH")
    args = parser.parse_args(argv)
    checks = run_checks()
    print(format_report(checks))
    if args.json is not None:
        args.json.write_text(json.dumps(report_dict(checks), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
