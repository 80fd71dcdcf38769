"""Helpers shared by the modules of :mod:`jrelu.constructions` (not public API)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from ..network import Network

__all__: list[str] = []  # private: nothing here is public API


def network_from_layers(layers, dtype) -> Network:
    """A :class:`jrelu.Network` from NumPy layers, each entry rounded once to ``dtype``.

    The layers are assembled in float64 and converted once, so a weight built from dyadic
    parameters is exact in every floating dtype that can hold it.
    """
    dtype = _checks.default_float_dtype(dtype)
    return Network([(jnp.asarray(np.asarray(A, np.float64), dtype),
                     jnp.asarray(np.asarray(b, np.float64), dtype)) for A, b in layers])


def traced(fn, *nets):
    """Run a network-calculus construction as one jit-compiled program.

    The core calculus dispatches one eager op per matrix product or block; each new shape
    costs a compilation. Tracing the whole construction compiles it once. ``fn`` takes the
    given networks (pytrees) and closes over static Python parameters only.
    """
    return jax.jit(fn)(*nets)


def pow2_above(x: float) -> float:
    """The smallest power of two strictly greater than ``x`` (x > 0)."""
    k = math.floor(math.log2(x))
    while 2.0**k <= x:
        k += 1
    while k > -1074 and 2.0 ** (k - 1) > x:
        k -= 1
    return 2.0**k


def float64_array(name: str, x) -> np.ndarray:
    """``x`` as a float64 NumPy array (the exact input of a construction), or TypeError.

    The type check is :func:`jrelu._checks.array`; the values are taken from ``x`` itself,
    so float64 data are not rounded through a float32 default.
    """
    _checks.array(name, x)
    return np.asarray(x, np.float64)
