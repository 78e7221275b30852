"""custinv.memory: freed NumPy arrays kept by the C allocator go back to the system."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from custinv.memory import release_freed_memory


def _resident_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim, /proc/self/statm")
def test_arrays_freed_on_worker_threads_are_given_back() -> None:
    """As the CLV fit leaves them: arrays a few MB each made and freed on a pool's threads stay
    in glibc's arenas (the resident memory does not fall when they are freed) until
    release_freed_memory hands them back."""
    big = np.ones((8 << 20) // 8)  # freeing an 8 MiB mmap'ed array raises glibc's mmap threshold above 1 MiB
    del big

    kept: list[np.ndarray] = []

    def churn(_: int) -> float:
        arrays = [np.full(1 << 17, 1.5) for _ in range(100)]  # 100 arrays of 1 MiB, touched
        kept.append(np.full(1 << 12, 2.0))  # allocated after them and kept: the arena's top is in use
        total = float(sum(a[0] for a in arrays))
        del arrays
        return total

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert sum(pool.map(churn, range(4))) == 4 * 100 * 1.5
    before = _resident_mib()
    assert release_freed_memory()
    after = _resident_mib()
    assert before - after >= 40, (before, after)  # of the 400 MiB the threads freed
    assert len(kept) == 4
