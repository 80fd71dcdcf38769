"""Bounded residency of large compiled kernels (private).

XLA on CPU maps the code of every compiled kernel into memory on its own: one compiled
certified-bounds kernel holds several hundred memory mappings (about 540 for a 2-8-8-1
network, more for deeper ones) for as long as its executable stays in the jit cache, i.e.
for the life of the process. Linux caps the mappings of a process (``vm.max_map_count``,
65530 by default); past the cap a mapping fails inside XLA's compiler and the process
dies ("LLVM ERROR: Unable to allocate section memory", or a segmentation fault). A long
session that compiles a hundred or so bounds kernels (several networks, box batch shapes,
activations, dtypes) reaches it.

:class:`KernelFamily` wraps jitted functions. Before a call that compiles (a shape, dtype
or static argument not seen before, outside any trace), it counts the process's mappings;
above :data:`PRESSURE` of the cap it first drops the family's compiled executables
(``clear_cache``), which returns their mappings. The next call of a dropped kernel
compiles again (or reads JAX's persistent compilation cache); results do not change.
Where ``/proc`` is missing (macOS, Windows: no such cap) nothing is dropped.
"""

from __future__ import annotations

import functools

import jax

PRESSURE = 0.5  # drop the family's executables above this fraction of vm.max_map_count
_MAPS = "/proc/self/maps"
_CAP = "/proc/sys/vm/max_map_count"


def mappings() -> tuple[int, int] | None:
    """``(in use, cap)`` of the process's memory mappings, or None where unknown."""
    try:
        with open(_CAP, "rb") as f:
            cap = int(f.read().strip())
        with open(_MAPS, "rb") as f:
            used = f.read().count(b"\n")
    except (OSError, ValueError):
        return None
    return used, cap


def _signature(args, kwargs):
    """What the jit cache is keyed on, roughly: shapes and dtypes of the array leaves and
    the other leaves themselves; None inside a trace (the kernel is inlined there, it has no
    executable of its own) or for an unhashable leaf."""
    leaves, tree = jax.tree.flatten((args, kwargs))
    sig = []
    for leaf in leaves:
        if isinstance(leaf, jax.core.Tracer):
            return None
        shape, dtype = getattr(leaf, "shape", None), getattr(leaf, "dtype", None)
        if shape is not None and dtype is not None:
            sig.append((tuple(shape), str(dtype), getattr(leaf, "weak_type", False)))
        else:
            try:
                hash(leaf)
            except TypeError:
                return None
            sig.append(leaf)
    return tree, tuple(sig)


class KernelFamily:
    """Jitted kernels whose compiled executables are dropped together under mapping
    pressure (see the module docstring)."""

    def __init__(self, pressure: float = PRESSURE):
        self.pressure = pressure
        self._kernels = []
        self._seen = set()
        self.releases = 0  # how many times the family was dropped (tests read it)

    def add(self, kernel):
        """Decorator: ``kernel`` (a jitted function) called through the family."""
        self._kernels.append(kernel)

        @functools.wraps(kernel)
        def call(*args, **kwargs):
            sig = _signature(args, kwargs)
            if sig is not None and (id(kernel), sig) not in self._seen:
                self.release_if_pressed()  # before this call compiles, which then stays
                self._seen.add((id(kernel), sig))
            return kernel(*args, **kwargs)

        return call

    def release(self):
        """Drop every compiled executable of the family."""
        for kernel in self._kernels:
            kernel.clear_cache()
        self._seen.clear()
        self.releases += 1

    def release_if_pressed(self):
        """:meth:`release` if the process uses more than ``pressure`` of its mappings."""
        use = mappings()
        if use is not None and use[0] > self.pressure * use[1]:
            self.release()
