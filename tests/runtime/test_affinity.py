"""`concurrency.cpu_affinity`: every thread of the process pinned, a CPU the process may not use refused with
the key named, nothing done when empty."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest

from opensqt.config import ConfigError
from opensqt.runtime.affinity import pin_to_cpus

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux CPU affinity only")


@pytest.fixture
def restore_affinity() -> Iterator[set[int]]:
    """The CPUs the test process had; every thread is given them back afterwards."""
    before = os.sched_getaffinity(0)
    yield set(before)
    for tid in os.listdir("/proc/self/task"):
        try:
            os.sched_setaffinity(int(tid), before)
        except ProcessLookupError:
            continue


def test_empty_pins_nothing(restore_affinity: set[int]) -> None:
    assert pin_to_cpus([]) is None
    assert os.sched_getaffinity(0) == restore_affinity


def test_pins_every_running_thread_and_threads_started_later(restore_affinity: set[int]) -> None:
    cpu = min(restore_affinity)
    started = threading.Event()
    stop = threading.Event()
    seen: dict[str, set[int]] = {}

    def worker() -> None:
        started.set()
        stop.wait(10)
        seen["before"] = os.sched_getaffinity(0)

    early = threading.Thread(target=worker)
    early.start()
    started.wait(10)
    try:
        assert pin_to_cpus([cpu]) == frozenset({cpu})
        assert os.sched_getaffinity(0) == {cpu}
        later: dict[str, set[int]] = {}
        t = threading.Thread(target=lambda: later.setdefault("cpus", os.sched_getaffinity(0)))
        t.start()
        t.join(10)
        assert later["cpus"] == {cpu}
    finally:
        stop.set()
        early.join(10)
    assert seen["before"] == {cpu}  # the thread that was already running was pinned too


def test_a_cpu_outside_the_machine_is_refused_with_the_key(restore_affinity: set[int]) -> None:
    count = os.cpu_count() or 1
    with pytest.raises(ConfigError) as caught:
        pin_to_cpus([0, count])
    assert str(caught.value) == (
        f"config error: concurrency.cpu_affinity = [0, {count}]: expected CPUs of this machine "
        f"(0 to {count - 1}); not [{count}]"
    )
    assert os.sched_getaffinity(0) == restore_affinity  # nothing was pinned


def test_a_cpu_the_kernel_refuses_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(pid: int, cpus: object) -> None:
        raise OSError(22, "Invalid argument")

    monkeypatch.setattr(os, "sched_setaffinity", refuse)
    with pytest.raises(ConfigError) as caught:
        pin_to_cpus([0])
    assert str(caught.value) == (
        "config error: concurrency.cpu_affinity = [0]: expected CPUs this process's cpuset allows "
        "(Invalid argument)"
    )


def test_a_mask_given_by_the_parent_is_replaced(restore_affinity: set[int]) -> None:
    if len(restore_affinity) < 2:
        pytest.skip("needs two CPUs")
    first, second = sorted(restore_affinity)[:2]
    os.sched_setaffinity(0, {first})  # as `taskset` would leave it
    assert pin_to_cpus([second]) == frozenset({second})
    assert os.sched_getaffinity(0) == {second}


def test_a_platform_that_cannot_pin_refuses_a_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "sched_setaffinity")
    expected = r"concurrency.cpu_affinity = \[0\]: expected \[\] on this platform"
    with pytest.raises(ConfigError, match=expected):
        pin_to_cpus([0])
    assert pin_to_cpus([]) is None
