"""The CPU cache that sizes the evaluation blocks of ``value_and_derivative`` and of a sweep
(and the power-of-two rule of every block plan).

XLA splits each matrix product of a block over the cores, so a block evaluates fastest when
its widest per-point array (points x width x itemsize) fits in the L2 caches of those cores.
Measured on 2 cores with 2 MiB L2 each (the ``jrelu bench derivative`` network in float32
and float64, and three others): the block this rule gives was the fastest of the powers of
two from 256 to 8192 (to a few percent); a fixed block of 1024 points was up to 1.56 times
slower (narrow networks).

The L2 size comes from Linux's sysfs (``/sys/devices/system/cpu/cpu0/cache``); elsewhere,
or if it cannot be read, 2 MiB a core is assumed. The cores are those this process may run
on.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

FALLBACK_L2_BYTES = 2**21  # a core's L2, when the machine does not say
MIN_BLOCK, MAX_BLOCK = 256, 8192
_SYSFS = Path("/sys/devices/system/cpu/cpu0/cache")
_UNITS = {"K": 2**10, "M": 2**20, "G": 2**30}


def _parse_size(text: str) -> int:
    """``"2048K"`` → 2097152 (sysfs writes sizes with a K, M or G suffix, or in bytes)."""
    text = text.strip()
    if text and text[-1].upper() in _UNITS:
        return int(text[:-1]) * _UNITS[text[-1].upper()]
    return int(text)


@functools.cache
def l2_bytes_per_core(sysfs: Path = _SYSFS) -> int:
    """The L2 (unified or data) cache of cpu0 in bytes, else :data:`FALLBACK_L2_BYTES`."""
    try:
        for index in sorted(sysfs.glob("index*")):
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            if level == "2" and kind in ("Unified", "Data"):
                size = _parse_size((index / "size").read_text())
                if size > 0:
                    return size
    except (OSError, ValueError):
        pass
    return FALLBACK_L2_BYTES


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cache_bytes() -> int:
    """The L2 bytes of all cores this process may use (what a block is sized by)."""
    return l2_bytes_per_core() * cores()


def power_of_two_at_most(value: int, lo: int, hi: int) -> int:
    """The largest power of two <= ``value`` (1 for value < 1), clipped to [lo, hi]: the
    size rule of every block plan (CPU and accelerator evaluation, sweep, tangents)."""
    return min(hi, max(lo, 1 << (max(1, value).bit_length() - 1)))


def cpu_block(widths, itemsize: int, cache: int) -> int:
    """The CPU evaluation block of a network with these widths: the largest power of two b
    with ``b * widest(widths) * itemsize <= cache``, clipped to [MIN_BLOCK, MAX_BLOCK]."""
    width = widest(widths)
    return power_of_two_at_most(cache // max(1, width * itemsize), MIN_BLOCK, MAX_BLOCK)


def widest(widths) -> int:
    """Floats per point in the widest array of a value-and-derivative evaluation: a hidden
    activation, or a row block of the running Jacobian product (min(N_0, N_L) of them)."""
    hidden = max(widths[1:-1], default=max(widths[0], widths[-1]))
    return hidden * min(widths[0], widths[-1])
