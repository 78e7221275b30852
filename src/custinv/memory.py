"""Give memory the C allocator keeps back to the system, between an audit's stages.

NumPy allocates its arrays with the C library's ``malloc``. glibc keeps what is freed in its
arenas — one per thread that allocated, and the CLV fit's likelihoods run on a pool of threads
— and hands it back to the system only from the top of a heap. After the CLV stage of a
5M-line audit that was 100–200 MB of freed arrays still counted in the process's resident
memory, on top of which the retention stage then allocated: the audit's peak. ``malloc_trim``
returns those pages (a few milliseconds). Polars' own memory (jemalloc) is not affected.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from functools import cache


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (macOS, musl, Windows)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_freed_memory() -> bool:
    """Return the C allocator's freed memory to the system; False where there is no way to."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
