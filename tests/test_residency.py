"""Compiled bounds kernels are dropped before the process runs out of memory mappings.

XLA on CPU maps every compiled kernel's code on its own; a process that keeps about a
hundred compiled bounds kernels passes Linux's cap (vm.max_map_count, 65530) and dies
inside LLVM ("Unable to allocate section memory", or a segmentation fault). The slow bounds
tests did, after 42 tests in one process. Here a subprocess is brought near the cap with
padding mappings, then compiles bounds kernels: with the family's release it finishes with
the same numbers, without it (the control) it dies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import pytest

from jrelu import _residency

pytestmark = pytest.mark.skipif(_residency.mappings() is None,
                                reason="no /proc mapping count (not Linux)")

_CHILD = r"""
import json, mmap, sys
import jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
import jrelu, jrelu.bounds as B
from jrelu import _residency
if sys.argv[1] == "off":
    B._KERNELS.pressure = 10.0  # never release: the control
net = jrelu.Network([(jnp.array([[1.0, -0.5], [0.25, 1.0]]), jnp.array([0.5, -0.25])),
                     (jnp.array([[1.0, -2.0]]), jnp.zeros(1))])
box = lambda n: (jnp.full((n, 2), -0.5), jnp.full((n, 2), 0.5))
used = _residency.mappings()[0]
want = jrelu.lipschitz_bound(net, box(1)).tolist()
step = _residency.mappings()[0] - used  # the mappings one call takes (its kernels and more)
used, cap = _residency.mappings()
pad = [mmap.mmap(-1, 4096) for _ in range(cap - used - 3 * step // 2)]
# new box batch shapes compile new kernels; "on" then compiles box(1)'s kernels again
got = [jrelu.lipschitz_bound(net, box(n)).tolist() for n in ((3, 1) if sys.argv[1] == "on"
                                                              else (3, 4, 5))]
print(json.dumps({"want": want, "got": got[-1], "releases": B._KERNELS.releases}))
"""


def _child(mode):
    env = dict(os.environ, JAX_ENABLE_COMPILATION_CACHE="false")
    return subprocess.run([sys.executable, "-c", _CHILD, mode], capture_output=True, text=True,
                          env=env, timeout=600)


def test_bounds_kernels_survive_the_mapping_cap_with_the_same_numbers():
    on = _child("on")
    assert on.returncode == 0, on.stderr[-2000:]
    got = json.loads(on.stdout.strip().splitlines()[-1])
    assert got["releases"] >= 2  # near the cap it let go of its kernels before each compile
    assert got["got"] == got["want"]  # box(1)'s kernels compiled again: the same numbers


@pytest.mark.slow
def test_control_without_release_dies_at_the_mapping_cap():
    """The hazard is real: the same child without the release dies in XLA's compiler."""
    off = _child("off")
    assert off.returncode != 0, off.stdout
    assert "allocate" in off.stderr or off.returncode == -11, off.stderr[-2000:]


def test_family_releases_only_under_pressure_and_not_inside_a_trace():
    calls = []

    @jax.jit
    def square(x):
        calls.append(1)  # counts traces
        return x * x

    fam = _residency.KernelFamily(pressure=1.0)  # never pressed: use <= cap
    f = fam.add(square)
    x = jnp.arange(3.0)
    assert f(x).tolist() == [0.0, 1.0, 4.0] and fam.releases == 0
    fam.pressure = 0.0  # from now on every compiling call is pressed
    y = jnp.arange(4.0)
    f(y)  # a new signature: the family is dropped first, then y's kernel compiles
    assert fam.releases == 1
    n = len(calls)
    f(y)  # compiled after the release, so still there: no check, no trace
    assert fam.releases == 1 and len(calls) == n
    assert f(x).tolist() == [0.0, 1.0, 4.0]  # x's kernel was dropped: traced again
    assert fam.releases == 2 and len(calls) == n + 1
    jax.jit(lambda v: f(v) + 1)(jnp.arange(5.0))  # inlined into another trace: no check
    assert fam.releases == 2
