"""What this process may use of the machine: its CPUs (affinity mask, a container's CPU quota),
how busy other processes keep them, and the memory it may still take.

Linux tells all three under /proc and /sys/fs/cgroup; elsewhere the CPUs are os.cpu_count(),
none is known to be busy and the memory is the physical memory. `CpuLoad` measures the load
between two samples: the CPU time its CPUs (or, under a quota, its cgroup) spent busy, less the
time this process and its children spent, is the work of other processes (a child that leads a
session of its own counts as another process).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

PROC, CGROUP = Path("/proc"), Path("/sys/fs/cgroup")
# the shortest window a load is worth measuring over: /proc counts CPU time in ticks of 10 ms
LOAD_WINDOW = 0.25


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def available_mb() -> float:
    """Memory this process may still take, in MB: the system's available memory, or less under a
    cgroup (container) limit."""
    found = []
    try:
        for line in (PROC / "meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) / 1024)
    except OSError:
        pass
    for limit_file, used_file in (  # a container's limit: cgroup v2, then v1
        (CGROUP / "memory.max", CGROUP / "memory.current"),
        (CGROUP / "memory/memory.limit_in_bytes", CGROUP / "memory/memory.usage_in_bytes"),
    ):
        try:
            limit = limit_file.read_text().strip()
            if limit != "max" and int(limit) < 2**60:  # v1 writes a huge number for "no limit"
                found.append((int(limit) - int(used_file.read_text())) / 2**20)
        except (OSError, ValueError):
            continue
    if not found:  # not Linux: the physical memory
        found.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20)
    return max(min(found), 1.0)


@dataclass(frozen=True)
class Quota:
    """A container's CPU limit: `cpus` CPUs' worth of time; `usage` is the file that counts the
    cgroup's CPU time (v2 cpu.stat, in microseconds; v1 cpuacct.usage, in nanoseconds)."""

    cpus: float
    usage: Path


def cpu_quota(proc: Path = PROC, cgroup: Path = CGROUP) -> Quota | None:
    """The tightest CPU quota on this process's cgroup or its parents (v2 cpu.max, v1
    cpu.cfs_quota_us / cpu.cfs_period_us); None without one."""
    found = []
    for mount, folder in _cgroup_folders(proc, cgroup):
        try:
            if (folder / "cpu.max").exists():
                quota, period = (folder / "cpu.max").read_text().split()[:2]
                if quota != "max":
                    found.append(Quota(int(quota) / int(period), folder / "cpu.stat"))
            elif (folder / "cpu.cfs_quota_us").exists():
                quota_us = int((folder / "cpu.cfs_quota_us").read_text())
                if quota_us > 0:  # -1: no limit
                    # cpuacct is mounted with cpu ("cpu,cpuacct") or beside it, at the same path
                    usage = folder / "cpuacct.usage"
                    if not usage.exists():
                        usage = cgroup / "cpuacct" / folder.relative_to(mount) / "cpuacct.usage"
                    period_us = int((folder / "cpu.cfs_period_us").read_text())
                    found.append(Quota(quota_us / period_us, usage))
        except (OSError, ValueError):
            continue
    return min(found, key=lambda q: q.cpus) if found else None


def _cgroup_folders(proc: Path, cgroup: Path) -> list[tuple[Path, Path]]:
    """(mount, folder) of this process's cgroup folders that exist, deepest first: the v2 one, then
    v1's cpu controller; each with its parents up to the mount (a container without its own cgroup
    namespace sees its host's path in /proc/self/cgroup, and its own cgroup at the mount)."""
    try:
        lines = (proc / "self" / "cgroup").read_text().splitlines()
    except OSError:
        return []
    folders = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            mount = cgroup
        elif "cpu" in controllers.split(","):
            mount = next((m for m in (cgroup / controllers, cgroup / "cpu") if m.is_dir()), cgroup / "cpu")
        else:
            continue
        folder = mount / path.strip("/")
        while True:
            if folder.is_dir():
                folders.append((mount, folder))
            if folder == mount:
                break
            folder = folder.parent
    return folders


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds spent up to `at` (time.monotonic): `busy` by the CPUs measured (or the cgroup
    under a quota), None where it cannot be read; `own` by this process and its children."""

    at: float
    busy: float | None
    own: float


def others_busy(before: CpuSample, after: CpuSample) -> float | None:
    """How many CPUs other processes kept busy on average between two samples; None where unknown."""
    seconds = after.at - before.at
    if before.busy is None or after.busy is None or seconds <= 0:
        return None
    return max(0.0, (after.busy - before.busy - (after.own - before.own)) / seconds)


class CpuLoad:
    """The CPUs this process may use and how many of them other processes leave it.

    `capacity` is the affinity mask's size, or a tighter cgroup quota. The load is read from
    /proc/stat on the CPUs of the mask or, under the quota, from the cgroup's own usage."""

    def __init__(self, proc: Path = PROC, cgroup: Path = CGROUP):
        self.proc, self.cgroup = proc, cgroup
        self.cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        self.quota = cpu_quota(proc, cgroup)
        count = len(self.cpus) if self.cpus is not None else (os.cpu_count() or 1)
        self.capacity = min(float(count), self.quota.cpus) if self.quota is not None else float(count)
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.last = self.sample()

    def sample(self) -> CpuSample:
        """CPU seconds spent so far (see CpuSample)."""
        binding = self.quota is not None and self.cpus is not None and self.quota.cpus < len(self.cpus)
        busy = self._cgroup_usage() if binding else self._stat_busy()
        return CpuSample(time.monotonic(), busy, self._own())

    def others(self) -> float | None:
        """The CPUs other processes kept busy since the last call (or since this object was made);
        None where unknown. Over less than LOAD_WINDOW seconds the answer is mostly rounding."""
        now = self.sample()
        busy, self.last = others_busy(self.last, now), now
        return None if busy is None else min(busy, self.capacity)

    def running(self, looks: int = 3) -> float | None:
        """A first guess, before any window has passed: the threads of other processes runnable at
        this instant (/proc/stat's procs_running, less this process's own running threads), the
        least of `looks` a millisecond apart (a busy process is runnable at each; a passing one is
        not). The count is the whole machine's, so only where this process may use every CPU and
        no quota binds; None elsewhere."""
        if self.cpus is None or len(self.cpus) != os.cpu_count() or self.capacity < len(self.cpus):
            return None
        seen = []
        for look in range(looks):
            if look:
                time.sleep(0.001)
            others = self._running_now()
            if others is None:
                return None
            seen.append(others)
        return float(min(min(seen), self.capacity))

    def _running_now(self) -> int | None:
        """Other processes' runnable threads: procs_running less this process's (and its children's)
        threads runnable just before or just after it was read. A thread of this one that goes to sleep
        between the two reads (torch's pool threads do, many times a second) is still its own."""
        mine = self._runnable_own()
        try:
            stat = (self.proc / "stat").read_text()
            running = next(int(line.split()[1]) for line in stat.splitlines() if line.startswith("procs_running"))
        except (OSError, StopIteration, ValueError):
            return None
        if mine is None:
            return None
        return max(running - len(mine | (self._runnable_own() or set())), 0)

    def _runnable_own(self) -> set[str] | None:
        """This process's runnable threads, and its children's (a DataLoader's workers, counted as
        `busy`), as /proc paths; None where they cannot be read."""
        try:
            tasks = list((self.proc / "self" / "task").iterdir())
        except OSError:
            return None
        stats = [task / "stat" for task in tasks] + [self.proc / pid / "stat" for pid in self._children()]
        runnable = set()
        for stat_file in stats:
            try:
                if stat_file.read_text().rsplit(")", 1)[1].split()[0] == "R":
                    runnable.add(str(stat_file.parent.name))
            except (OSError, IndexError):
                continue
        return runnable

    def _stat_busy(self) -> float | None:
        """Seconds the measured CPUs spent on anything but idle and I/O wait (steal included: time a
        hypervisor gave to another machine is not this process's either)."""
        try:
            lines = (self.proc / "stat").read_text().splitlines()
        except OSError:
            return None
        wanted = None if self.cpus is None else {f"cpu{i}" for i in self.cpus}
        ticks, seen = 0, 0
        for line in lines:
            name, *fields = line.split() or [""]
            if not name.startswith("cpu") or name == "cpu" or (wanted is not None and name not in wanted):
                continue
            try:
                user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
            except ValueError:
                return None
            ticks += user + nice + system + irq + softirq + steal
            seen += 1
        # none of this process's CPUs listed (a container that numbers them its own way): unknown, not quiet
        return ticks / self.tick if seen else None

    def _cgroup_usage(self) -> float | None:
        """Seconds the quota's cgroup has used."""
        assert self.quota is not None
        try:
            text = self.quota.usage.read_text()
        except OSError:
            return None
        if self.quota.usage.name == "cpuacct.usage":
            return int(text) / 1e9
        usec = next((line.split()[1] for line in text.splitlines() if line.startswith("usage_usec")), None)
        return None if usec is None else int(usec) / 1e6

    def _own(self) -> float:
        """CPU seconds of this process, its children that ended, and those still running (a
        DataLoader's workers)."""
        mine = os.times()
        total = mine.user + mine.system + mine.children_user + mine.children_system
        for pid in self._children():
            try:
                # /proc/PID/stat: "pid (name) state ..."; utime and stime are fields 14 and 15
                fields = (self.proc / pid / "stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / self.tick
            except (OSError, ValueError, IndexError):
                continue
        return total

    def _children(self) -> set[str]:
        """This process's children (a DataLoader's workers), but for those that lead a session of their own:
        work apart from this process's (a run's second process, experiment/offload.py), counted as
        another process's."""
        try:
            tasks = list((self.proc / "self" / "task").iterdir())
        except OSError:
            return set()
        pids: set[str] = set()
        for task in tasks:
            try:
                pids.update((task / "children").read_text().split())
            except OSError:
                continue
        return {pid for pid in pids if not self._leads_session(pid)}

    def _leads_session(self, pid: str) -> bool:
        try:
            # /proc/PID/stat after the name: state, ppid, pgrp, session, ...
            return (self.proc / pid / "stat").read_text().rsplit(")", 1)[1].split()[3] == pid
        except (OSError, IndexError):
            return False
