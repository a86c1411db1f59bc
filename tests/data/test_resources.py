"""The CPUs a process may use and how busy others keep them, read from /proc and cgroup files
laid out in a temporary folder as Linux lays them out."""

import os
from pathlib import Path

import pytest

from layerwise.data.resources import CpuLoad, CpuSample, cpu_quota, others_busy


def _files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


@pytest.fixture
def machine(tmp_path):
    proc, cgroup = tmp_path / "proc", tmp_path / "cgroup"
    proc.mkdir()
    cgroup.mkdir()
    return proc, cgroup


def test_cgroup_v2_quota_is_the_tightest_on_the_path_up(machine):
    proc, cgroup = machine
    _files(proc, {"self/cgroup": "0::/user.slice/job\n"})
    _files(cgroup, {"cpu.max": "max 100000\n", "user.slice/cpu.max": "400000 100000\n"})
    _files(cgroup, {"user.slice/job/cpu.max": "150000 100000\n", "user.slice/job/cpu.stat": "usage_usec 2500000\n"})
    quota = cpu_quota(proc, cgroup)
    assert quota is not None and quota.cpus == 1.5 and quota.usage == cgroup / "user.slice/job/cpu.stat"


def test_no_quota_when_every_level_says_max_or_there_is_no_cgroup(machine):
    proc, cgroup = machine
    assert cpu_quota(proc, cgroup) is None  # no /proc/self/cgroup (not Linux)
    _files(proc, {"self/cgroup": "0::/\n"})
    _files(cgroup, {"cpu.max": "max 100000\n"})
    assert cpu_quota(proc, cgroup) is None


def test_cgroup_v1_quota_with_cpuacct_mounted_beside_cpu(machine):
    proc, cgroup = machine
    _files(proc, {"self/cgroup": "5:memory:/docker/abc\n3:cpu:/docker/abc\n2:cpuacct:/docker/abc\n"})
    _files(cgroup, {"cpu/docker/abc/cpu.cfs_quota_us": "200000\n", "cpu/docker/abc/cpu.cfs_period_us": "100000\n"})
    _files(cgroup, {"cpuacct/docker/abc/cpuacct.usage": "3000000000\n"})
    quota = cpu_quota(proc, cgroup)
    assert quota is not None and quota.cpus == 2.0 and quota.usage == cgroup / "cpuacct/docker/abc/cpuacct.usage"
    _files(cgroup, {"cpu/docker/abc/cpu.cfs_quota_us": "-1\n"})  # v1's "no limit"
    assert cpu_quota(proc, cgroup) is None


def test_a_container_without_its_own_cgroup_namespace_finds_its_quota_at_the_mount(machine):
    proc, cgroup = machine
    # /proc/self/cgroup names the host's path; the container sees its own cgroup at the mount
    _files(proc, {"self/cgroup": "4:cpu,cpuacct:/kubepods/pod1/abc\n"})
    _files(cgroup, {"cpu,cpuacct/cpu.cfs_quota_us": "50000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"})
    _files(cgroup, {"cpu,cpuacct/cpuacct.usage": "1\n"})
    quota = cpu_quota(proc, cgroup)
    assert quota is not None and quota.cpus == 0.5 and quota.usage == cgroup / "cpu,cpuacct/cpuacct.usage"


def test_others_are_the_busy_time_less_this_process_own():
    before, after = CpuSample(10.0, 100.0, 5.0), CpuSample(12.0, 103.0, 6.0)
    assert others_busy(before, after) == pytest.approx(1.0)  # 3 CPU-s busy in 2 s, 1 of them ours
    assert others_busy(before, CpuSample(12.0, 101.0, 6.0)) == 0.0  # never below zero (tick rounding)
    assert others_busy(CpuSample(10.0, None, 5.0), after) is None  # unreadable: unknown, not quiet


def _stat(ticks: dict[int, tuple[int, int]]) -> str:
    """/proc/stat with CPU i at (busy user ticks, idle ticks)."""
    total = [sum(b for b, _ in ticks.values()), sum(i for _, i in ticks.values())]
    lines = [f"cpu  {total[0]} 0 0 {total[1]} 0 0 0 0 0 0"]
    lines += [f"cpu{i} {b} 0 0 {idle} 0 0 0 0 0 0" for i, (b, idle) in ticks.items()]
    return "\n".join([*lines, "intr 1 2 3", "procs_running 2"]) + "\n"


def test_the_load_is_read_on_the_cpus_of_the_affinity_mask_only(machine, monkeypatch):
    proc, cgroup = machine
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    _files(proc, {"stat": _stat({0: (100, 900), 1: (50, 950), 2: (7, 0)})})
    load = CpuLoad(proc, cgroup)
    assert load.capacity == 2.0 and load.quota is None
    first = load.sample()
    _files(proc, {"stat": _stat({0: (200, 900), 1: (150, 950), 2: (99_999, 0)})})  # CPU 2 is another's
    second = load.sample()
    assert second.busy is not None and first.busy is not None
    assert second.busy - first.busy == pytest.approx(200 / load.tick)


def test_under_a_binding_quota_the_load_is_the_cgroup_usage(machine, monkeypatch):
    proc, cgroup = machine
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)))  # a big host
    _files(proc, {"self/cgroup": "0::/\n", "stat": _stat({0: (1, 1)})})
    _files(cgroup, {"cpu.max": "200000 100000\n", "cpu.stat": "usage_usec 7000000\nuser_usec 1\n"})
    load = CpuLoad(proc, cgroup)
    assert load.capacity == 2.0
    assert load.sample().busy == pytest.approx(7.0)


def test_own_time_counts_the_running_children(machine, monkeypatch):
    proc, cgroup = machine
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    _files(proc, {"stat": _stat({0: (1, 1)}), "self/task/1/children": "4242 ", "self/task/2/children": ""})
    # a DataLoader worker: 300 + 200 ticks of user and system time (fields 14 and 15)
    _files(proc, {"4242/stat": "4242 (pt_data_worker) S 1 1 1 0 -1 0 0 0 0 0 300 200 0 0 20 0 1 0\n"})
    load = CpuLoad(proc, cgroup)
    mine = os.times()
    assert load.sample().own >= mine.user + mine.system + 500 / load.tick


def test_this_machine_can_be_measured():
    load = CpuLoad()
    assert load.capacity >= 1
    busy = load.others()
    assert busy is None or 0.0 <= busy <= load.capacity


def test_before_any_window_the_other_running_threads_are_a_first_guess(machine, monkeypatch):
    proc, cgroup = machine
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    stat = _stat({0: (1, 1), 1: (1, 1)})
    # 3 threads runnable on the machine, one of them this process's (task 11, state R)
    _files(proc, {"stat": stat.replace("procs_running 2", "procs_running 3")})
    _files(proc, {"self/task/11/stat": "11 (python) R 1 1\n", "self/task/12/stat": "12 (pt_main (x)) S 1 1\n"})
    load = CpuLoad(proc, cgroup)
    assert load.running() == 2.0
    _files(proc, {"stat": stat.replace("procs_running 2", "procs_running 9")})
    assert load.running() == 2.0  # never more than the CPUs it may use
    monkeypatch.setattr(os, "cpu_count", lambda: 64)  # a mask of 2 of 64 CPUs: the machine's count says nothing
    assert CpuLoad(proc, cgroup).running() is None


def test_a_thread_of_this_process_that_sleeps_while_the_count_is_read_is_still_its_own(machine, monkeypatch):
    # torch's pool threads sleep and wake many times a second: one runnable when procs_running was read
    # and asleep when this process's threads were, counted as another process's, read as a busy machine
    proc, cgroup = machine
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    _files(proc, {"stat": _stat({0: (1, 1), 1: (1, 1)})})  # procs_running 2: the main thread and a pool thread
    load = CpuLoad(proc, cgroup)
    reads = iter([{"11", "12"}, {"11"}] * 3)  # before the count: both runnable; after: the pool thread asleep
    monkeypatch.setattr(load, "_runnable_own", lambda: next(reads))
    assert load.running() == 0.0


def test_cpus_missing_from_proc_stat_leave_the_load_unknown_not_quiet(machine, monkeypatch):
    proc, cgroup = machine
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {6, 7})
    _files(proc, {"stat": _stat({0: (5, 5), 1: (5, 5)})})  # a container numbering its CPUs 0 and 1
    load = CpuLoad(proc, cgroup)
    assert load.sample().busy is None and load.others() is None
    _files(proc, {"stat": "cpu0 1 2\n", "self/cgroup": "garbled\n"})  # unreadable lines: unknown, no error
    assert CpuLoad(proc, cgroup).sample().busy is None


def test_the_first_guess_leaves_out_this_process_children(machine, monkeypatch):
    proc, cgroup = machine
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    stat = _stat({0: (1, 1), 1: (1, 1)}).replace("procs_running 2", "procs_running 3")
    _files(proc, {"stat": stat, "self/task/11/stat": "11 (python) R 1\n", "self/task/11/children": "77\n"})
    _files(proc, {"77/stat": "77 (pt_data_worker) R 11\n"})  # a DataLoader worker: the fit's own `busy`
    assert CpuLoad(proc, cgroup).running() == 1.0


def test_a_child_leading_its_own_session_counts_as_another_process(machine, monkeypatch):
    # a run's second process (experiment/offload.py) starts its own session: its work is not this fit's
    proc, cgroup = machine
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    stat = _stat({0: (1, 1), 1: (1, 1)}).replace("procs_running 2", "procs_running 3")
    _files(proc, {"stat": stat, "self/task/11/stat": "11 (python) R 1\n", "self/task/11/children": "77 78\n"})
    _files(proc, {"77/stat": "77 (pt_data_worker) R 11 11 5 0 -1 0 0 0 0 0 300 200\n"})
    _files(proc, {"78/stat": "78 (python) R 11 78 78 0 -1 0 0 0 0 0 900 100\n"})  # pgrp and session 78
    load = CpuLoad(proc, cgroup)
    assert load.running() == 1.0  # the session leader is runnable and someone else's
    mine = os.times()
    before = mine.user + mine.system + mine.children_user + mine.children_system  # (children that ended too)
    own = load.sample().own
    assert before + 500 / load.tick <= own < before + 1000 / load.tick  # the worker's 500 ticks, not the 1000
