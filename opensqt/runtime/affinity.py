"""Pinning a trading process to chosen CPUs (`concurrency.cpu_affinity`).

On a small machine the scheduler may run market_maker on the same CPU as whatever else is busy at that moment
(on a 2-vCPU VM it packs them): a fill then waits out the other process's time slice before its closing order
goes out. Pinning the trading process to CPUs of its own (and keeping other work off them, e.g. with the
kernel's `isolcpus`) is the usual deployment of a latency-sensitive process.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from loguru import logger

from opensqt.config import ConfigError
from opensqt.config.errors import ConfigProblem

KEY = "concurrency.cpu_affinity"


def pin_to_cpus(cpus: Sequence[int], key: str = KEY) -> frozenset[int] | None:
    """Pin every thread of this process to `cpus` (threads started later inherit it); nothing when empty.

    Returns the CPUs pinned to. Raises `ConfigError` naming `key` when the platform cannot pin, a CPU is not
    one of this machine's, or the process's cpuset refuses them. A mask the parent gave (`taskset`) is
    replaced: the configuration says where this process runs."""
    if not cpus:
        return None
    shown = "[" + ", ".join(str(c) for c in cpus) + "]"
    if not hasattr(os, "sched_setaffinity"):
        raise ConfigError([ConfigProblem(key, shown, "expected [] on this platform: it cannot pin to CPUs")])
    count = os.cpu_count() or 1
    outside = sorted(c for c in cpus if c >= count)
    if outside:
        raise ConfigError(
            [ConfigProblem(key, shown, f"expected CPUs of this machine (0 to {count - 1}); not {outside}")]
        )
    wanted = frozenset(cpus)
    try:  # the calling thread first: the kernel refuses CPUs outside the process's cpuset here
        os.sched_setaffinity(0, wanted)
    except OSError as exc:
        expected = f"expected CPUs this process's cpuset allows ({exc.strerror or exc})"
        raise ConfigError([ConfigProblem(key, shown, expected)]) from None
    for tid in _threads():
        try:
            os.sched_setaffinity(tid, wanted)
        except ProcessLookupError:  # a thread that ended meanwhile
            continue
    logger.info("pinned to CPU(s) {}", ", ".join(str(c) for c in sorted(wanted)))
    return wanted


def _threads() -> list[int]:
    # sched_setaffinity(0) pins only the calling thread on Linux: threads already running (a log writer, a
    # worker pool) are pinned one by one
    try:
        return [int(t.name) for t in Path("/proc/self/task").iterdir()]
    except OSError:
        return [0]
