"""Shared test constructions: dyadic networks and planted kinks (float64 arithmetic is exact)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

import jrelu
from jrelu import _random


def dyadic_network(rng: np.random.Generator, widths, denom: int = 4, zero_frac: float = 0.0):
    """A network whose weights are integers/denom in [-2, 2] (exact in float64)."""
    layers = []
    for k in range(1, len(widths)):
        A = rng.integers(-2 * denom, 2 * denom + 1, (widths[k], widths[k - 1])) / denom
        b = rng.integers(-2 * denom, 2 * denom + 1, widths[k]) / denom
        if zero_frac:
            A = A * (rng.random(A.shape) >= zero_frac)
        layers.append((A, b))
    return jrelu.Network(layers)


RELU = jrelu.ReLU()


def plant_kinks(net: jrelu.Network, x, rng: np.random.Generator, activation=RELU,
                frac: float = 0.5) -> jrelu.Network:
    """Shift biases so that about ``frac`` of the hidden neurons sit exactly on a kink of
    ``activation`` at the single dyadic point ``x``; layer by layer, so deep kinks are planted
    too. Returns the new network (dyadic if ``net`` and ``x`` are)."""
    layers = [tuple(np.asarray(a) for a in pair) for pair in net.layers]
    h = np.asarray(x, dtype=np.float64)
    kink = activation.kinks[0] if activation.kinks else 0.0
    for k in range(len(layers) - 1):
        A, b = layers[k]
        z = A @ h + b
        chosen = rng.random(z.shape) < frac
        chosen[rng.integers(len(z))] = True  # at least one kink per layer
        b = np.where(chosen, b - z + kink, b)
        layers[k] = (A, b)
        z = A @ h + b
        h = np.asarray(activation(z))
    return jrelu.Network(layers)


def dyadic_point(rng: np.random.Generator, d: int, denom: int = 4):
    return rng.integers(-2 * denom, 2 * denom + 1, d) / denom


def normal(key, shape, dtype=float):
    """``jax.random.normal(key, shape, dtype)`` bit for bit, drawn flat (compiles faster on
    CPU; see ``jrelu._random``)."""
    return _random.normal(key, shape, dtype)


def uniform(key, shape, dtype=float, minval=0.0, maxval=1.0):
    """``jax.random.uniform(key, shape, dtype, minval, maxval)`` bit for bit, drawn flat."""
    return _random.uniform(key, shape, dtype, minval, maxval)


def numpy_network(rng: np.random.Generator, widths, dtype=np.float64) -> jrelu.Network:
    """A random network drawn with NumPy (He-scaled normal weights, uniform biases, the
    distributions of ``jrelu.init``): test data that costs no XLA compilation, for checks
    that hold for any generic network."""
    layers = []
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        A = rng.normal(size=(n_out, n_in)) * np.sqrt(2.0 / n_in)
        b = rng.uniform(-1.0 / np.sqrt(n_in), 1.0 / np.sqrt(n_in), n_out)
        layers.append((jnp.asarray(A.astype(dtype)), jnp.asarray(b.astype(dtype))))
    return jrelu.Network(layers)


def np_init(seed: int, widths, dtype=np.float64) -> jrelu.Network:
    """:func:`numpy_network` with ``np.random.default_rng(seed)``: a stand-in for
    ``jrelu.init(jax.random.key(seed), widths)`` where any generic network will do (each new
    ``widths`` costs ``jrelu.init`` about two XLA compilations per layer)."""
    return numpy_network(np.random.default_rng(seed), widths, dtype)
