"""Measuring what each attempt uses: wall time, CPU time, peak RSS, GPU memory.

Per kind of attempt (also in docs/guide.md, "Resource accounting"):

- **thread**: CPU time is ``time.thread_time()`` around the call, exact for that thread
  (not for threads the task starts itself). Peak RSS is the podium process's RSS, sampled:
  an attempt still running after ``FIRST_SAMPLE_AFTER`` is sampled every ``INTERVAL`` by
  one shared daemon thread, and every attempt also takes the latest sample of the process
  at its end, reused for ``REUSE`` (so a short attempt costs no system call). Scope
  ``podium-process-sampled``.
- **async**: CPU time cannot be told apart from the loop's other work: None. RSS as for
  threads.
- **process**: measured in the worker on its own process. CPU time is the delta of
  ``getrusage`` (self + waited children), exact. Peak RSS is the largest of the worker's
  RSS at the start and end of the attempt, of samples taken as for threads, and of
  ``ru_maxrss`` when the attempt raised the worker's lifetime peak (workers are reused, so
  a lower ``ru_maxrss`` says nothing about this attempt). Scope ``process``.
- **shell**: the command's process tree (its leader and every descendant) is sampled every
  ``INTERVAL`` by the shared thread from its start: RSS summed over the tree, CPU time of
  the tree (live processes plus the children they have waited for). Sampled: the CPU used
  after the last sample is missed, and a command that ends before the first sample records
  None. Scope ``process``.

GPU memory (``executors/gpu.py``) is sampled with the RSS, and None without NVML.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
import time
from typing import TYPE_CHECKING

from podium.executors.gpu import gpu_memory_mb
from podium.model.attempts import Usage

MB = 1_000_000
INTERVAL = 0.05
"""Seconds between two samples of a running attempt."""
FIRST_SAMPLE_AFTER = 0.05
"""An attempt is first sampled once it has run this long (short ones never are)."""
REUSE = 0.1
"""A sample of the podium process is reused for this long (threads and coroutines)."""
IDLE_EXIT = 1.0
"""The sampling thread stops after this long with nothing to sample."""

if TYPE_CHECKING:
    import psutil

PROCESS = "process"
PODIUM_SAMPLED = "podium-process-sampled"
_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, else KiB


def _max(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if a >= b else b


class Probe:
    """One running attempt being measured: its start and the peaks seen so far."""

    __slots__ = ("cpu", "cpu0", "maxrss0", "peak_gpu", "peak_rss", "pid", "started")

    def __init__(self, started: float, pid: int | None = None, cpu0: float = 0.0) -> None:
        self.started = started
        self.pid = pid
        """The leader of a process tree to sample (shell), or None: this process."""
        self.cpu0 = cpu0
        self.peak_rss: float | None = None
        self.peak_gpu: float | None = None
        self.cpu: float | None = None
        """The CPU time of the tree at the last sample (shell)."""
        self.maxrss0 = 0


class Sampler:
    """One per process: samples running attempts from a daemon thread, started when an
    attempt is watched and stopped after ``IDLE_EXIT`` with none."""

    def __init__(self) -> None:
        self._probes: set[Probe] = set()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._last: tuple[float, float | None, float | None] = (float("-inf"), None, None)
        self._me: psutil.Process | None = None

    def watch(self, started: float, pid: int | None = None, cpu0: float = 0.0) -> Probe:
        probe = Probe(started, pid, cpu0)
        self._probes.add(probe)
        if self._thread is None:
            self._start()
        return probe

    def unwatch(self, probe: Probe) -> None:
        self._probes.discard(probe)

    def process_sample(self, now: float, *, fresh: bool = False) -> tuple[float | None, ...]:
        """(RSS MB, GPU MB) of this process: the last sample if younger than ``REUSE``."""
        at, rss, gpu = self._last
        if fresh or now - at >= REUSE:
            rss, gpu = self._measure_self(), gpu_memory_mb()
            self._last = (now, rss, gpu)
        return rss, gpu

    def _measure_self(self) -> float | None:
        import psutil

        me = self._me
        try:
            if me is None or me.pid != os.getpid():  # first use, or a forked child
                me = self._me = psutil.Process()
            return float(me.memory_info().rss) / MB
        except psutil.Error:
            return None

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="podium-usage-sampler", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        idle_since = time.monotonic()
        while True:
            time.sleep(INTERVAL)
            probes = list(self._probes.copy())
            if not probes:
                if time.monotonic() - idle_since < IDLE_EXIT:
                    continue
                with self._lock:
                    self._thread = None
                if self._probes:  # one slipped in while we stopped: start again
                    self._start()
                return
            idle_since = time.monotonic()
            now = time.time()
            due = [probe for probe in probes if now - probe.started >= FIRST_SAMPLE_AFTER]
            if any(probe.pid is None for probe in due):
                rss, gpu = self.process_sample(now, fresh=True)
            for probe in due:
                try:
                    if probe.pid is None:
                        probe.peak_rss = _max(probe.peak_rss, rss)
                        probe.peak_gpu = _max(probe.peak_gpu, gpu)
                    else:
                        _sample_tree(probe)
                except Exception:  # a vanished process, a psutil error: skip this sample
                    continue


def _sample_tree(probe: Probe) -> None:
    """RSS (summed), CPU time and GPU memory of the process tree led by ``probe.pid``."""
    import psutil

    assert probe.pid is not None
    leader = psutil.Process(probe.pid)
    tree = [leader]
    try:
        tree.extend(leader.children(recursive=True))
    except psutil.Error:
        pass
    rss = 0
    cpu = 0.0
    pids = []
    for process in tree:
        try:
            with process.oneshot():
                times = process.cpu_times()
                rss += process.memory_info().rss
        except psutil.Error:
            continue
        cpu += times.user + times.system + times.children_user + times.children_system
        pids.append(process.pid)
    if not pids:
        return
    probe.peak_rss = _max(probe.peak_rss, rss / MB)
    probe.cpu = _max(probe.cpu, cpu)
    probe.peak_gpu = _max(probe.peak_gpu, gpu_memory_mb(pids))


SAMPLER = Sampler()


class ThreadMeter:
    """Thread attempts (and coroutines, with ``cpu=False``): see the module's docstring."""

    def __init__(self, *, cpu: bool = True) -> None:
        self.cpu = cpu

    def start(self, started: float) -> Probe:
        probe = Probe(started, None, time.thread_time() if self.cpu else 0.0)
        SAMPLER._probes.add(probe)  # SAMPLER.watch, inlined: this is the hot path
        if SAMPLER._thread is None:
            SAMPLER._start()
        return probe

    def stop(self, probe: Probe, ended: float) -> Usage:
        # the hot path of short thread attempts: no system call but thread_time()
        cpu = time.thread_time() - probe.cpu0 if self.cpu else None
        SAMPLER._probes.discard(probe)
        at, rss, gpu = SAMPLER._last
        if ended - at >= REUSE:
            rss, gpu = SAMPLER.process_sample(ended)
        if probe.peak_rss is not None:  # sampled while it ran (it ran for a while)
            rss, gpu = _max(probe.peak_rss, rss), _max(probe.peak_gpu, gpu)
        return Usage(probe.started, ended - probe.started, cpu, rss, gpu, PODIUM_SAMPLED)


THREAD = ThreadMeter()
COROUTINE = ThreadMeter(cpu=False)


def _rusage() -> tuple[float, int]:
    """(CPU seconds of this process and its waited children, this process's ru_maxrss)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    return cpu, own.ru_maxrss


class WorkerMeter:
    """Process attempts, measured in the worker on its own process."""

    def start(self, started: float) -> Probe:
        probe = SAMPLER.watch(started)
        probe.cpu0, probe.maxrss0 = _rusage()
        rss, gpu = SAMPLER.process_sample(started, fresh=True)
        probe.peak_rss, probe.peak_gpu = rss, gpu
        return probe

    def stop(self, probe: Probe, ended: float) -> Usage:
        cpu, maxrss = _rusage()
        SAMPLER.unwatch(probe)
        rss, gpu = SAMPLER.process_sample(ended, fresh=True)
        peak = _max(probe.peak_rss, rss)
        if maxrss > probe.maxrss0:  # a new lifetime peak of the worker: reached by this attempt
            peak = _max(peak, maxrss * _MAXRSS_UNIT / MB)
        return Usage(
            probe.started,
            ended - probe.started,
            cpu - probe.cpu0,
            peak,
            _max(probe.peak_gpu, gpu),
            PROCESS,
        )


WORKER = WorkerMeter()


def watch_tree(started: float, pid: int) -> Probe:
    """Start sampling the process tree led by ``pid`` (a shell command)."""
    return SAMPLER.watch(started, pid)


def tree_usage(probe: Probe, ended: float) -> Usage:
    """Stop sampling a process tree; what its samples saw."""
    SAMPLER.unwatch(probe)
    return Usage(
        probe.started, ended - probe.started, probe.cpu, probe.peak_rss, probe.peak_gpu, PROCESS
    )


def wall_only(started: float, ended: float, scope: str = PROCESS) -> Usage:
    """An attempt that could not be measured (its worker was killed): its wall time only."""
    return Usage(started, ended - started, None, None, None, scope)


def final_leader_sample(probe: Probe) -> None:
    """One last look at the tree's leader once its output is closed: if it has exited but
    is not reaped yet, its CPU time is final (it includes the children it waited for).
    Best effort, one cheap read: the reaper may well have been quicker."""
    import psutil

    if probe.pid is None:
        return
    try:
        times = psutil.Process(probe.pid).cpu_times()
    except psutil.Error:
        return
    total = times.user + times.system + times.children_user + times.children_system
    probe.cpu = _max(probe.cpu, total)
