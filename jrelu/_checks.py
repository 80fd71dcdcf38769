"""Every shared validation helper of jrelu, with one message style.

Conventions:

* a wrong *type* raises :class:`TypeError`, a wrong *value* raises :class:`ValueError`;
* every message starts with the argument's name: ``"steps must be an integer >= 1, got 0"``;
* ``bool`` is never accepted where an integer or a real number is expected;
* checks that need concrete values are skipped under tracing (``jit``/``vmap``), and say so.

This is the only private module whose names other jrelu modules import.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__: list[str] = []  # private: nothing here is public API


# -- types and dtypes ------------------------------------------------------------------


def default_float_dtype(dtype=None) -> np.dtype:
    """``dtype`` as a NumPy dtype, or JAX's default float dtype (float32, float64 under x64)."""
    if dtype is None:
        return jnp.dtype(jnp.result_type(float))
    try:
        out = jnp.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a floating dtype such as jnp.float32, got {dtype!r}") \
            from None
    if not jnp.issubdtype(out, jnp.floating):
        raise ValueError(f"dtype must be a floating dtype, got {out}")
    return out


def is_concrete(x) -> bool:
    """False for a JAX tracer (inside ``jit``/``vmap``/``grad``), where values are unknown."""
    return not isinstance(x, jax.core.Tracer)


def type_name(x) -> str:
    return type(x).__name__


# -- scalars ---------------------------------------------------------------------------


def integer(name: str, value, *, min: int | None = None, max: int | None = None) -> int:
    """``value`` as an ``int``, or TypeError (not an integer, or a bool) / ValueError (range)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type_name(value)}: {value!r}")
    value = int(value)
    if min is not None and value < min:
        raise ValueError(f"{name} must be an integer >= {min}, got {value}")
    if max is not None and value > max:
        raise ValueError(f"{name} must be an integer <= {max}, got {value}")
    return value


def positive_int(name: str, value) -> int:
    """An integer >= 1."""
    return integer(name, value, min=1)


def real(name: str, value, *, min: float | None = None, max: float | None = None,
         strict: bool = False, finite: bool = True) -> float:
    """``value`` as a Python ``float``.

    TypeError for a non-number or a bool; ValueError for NaN, for ±inf unless
    ``finite=False``, and for a value below ``min`` / above ``max`` (or equal to them if
    ``strict``).
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got bool: {value!r}")
    if isinstance(value, (jax.Array, np.ndarray, np.generic)) and np.ndim(value) == 0:
        if not is_concrete(value):
            raise TypeError(f"{name} must be a concrete real number, not a traced value")
        value = value.item()
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type_name(value)}: {value!r}")
    value = float(value)
    if math.isnan(value) or (finite and math.isinf(value)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if min is not None and (value < min or (strict and value == min)):
        rel = ">" if strict else ">="
        raise ValueError(f"{name} must be {rel} {min}, got {value!r}")
    if max is not None and (value > max or (strict and value == max)):
        rel = "<" if strict else "<="
        raise ValueError(f"{name} must be {rel} {max}, got {value!r}")
    return value


def positive(name: str, value) -> float:
    """A finite real number > 0."""
    return real(name, value, min=0.0, strict=True)


def nonnegative(name: str, value) -> float:
    """A finite real number >= 0."""
    return real(name, value, min=0.0)


def one_of(name: str, value, choices) -> Any:
    """``value`` if it is one of ``choices``; ValueError listing them otherwise."""
    if not isinstance(value, str) or value not in choices:
        if not isinstance(value, str) and all(isinstance(c, str) for c in choices):
            raise TypeError(f"{name} must be one of {sorted(choices)}, got "
                            f"{type_name(value)}: {value!r}")
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


# -- arrays ----------------------------------------------------------------------------


def array(name: str, x, *, dtype=None) -> jax.Array:
    """``x`` as a floating JAX array (integers are promoted to the default float dtype).

    TypeError for something that is not array-like (a string, a dict, a Network, ...).
    """
    if isinstance(x, (str, bytes, dict)) or x is None:
        raise TypeError(f"{name} must be an array, got {type_name(x)}: {x!r:.80}")
    try:
        arr = jnp.asarray(x) if dtype is None else jnp.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be an array of numbers, got {type_name(x)} ({e})") \
            from None
    if arr.dtype == jnp.bool_ or not (jnp.issubdtype(arr.dtype, jnp.floating)
                                      or jnp.issubdtype(arr.dtype, jnp.integer)):
        raise TypeError(f"{name} must be a real array, got dtype {arr.dtype}")
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        arr = arr.astype(default_float_dtype())
    return arr


def first_nonfinite(x) -> tuple[tuple[int, ...], float] | None:
    """Index and value of the first non-finite entry of a concrete array, or None."""
    if not is_concrete(x):
        return None
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.inexact):
        return None
    bad = np.argwhere(~np.isfinite(arr))
    if not bad.size:
        return None
    idx = tuple(int(i) for i in bad[0])
    return idx, arr[idx]


def finite_array(name: str, x) -> None:
    """ValueError naming the first non-finite entry of ``x`` (no check under tracing)."""
    hit = first_nonfinite(x)
    if hit is not None:
        idx, val = hit
        raise ValueError(f"{name} has a non-finite entry {val} at index {idx}")


# -- jrelu objects ---------------------------------------------------------------------


def network(name: str, net):
    """``net`` if it is a :class:`jrelu.Network`, else TypeError."""
    from .network import Network  # late: network.py imports this module

    if not isinstance(net, Network):
        raise TypeError(f"{name} must be a jrelu.Network, got {type_name(net)}: {net!r:.80}")
    return net


def activation(name: str, act):
    """``act`` if it is a :class:`jrelu.Activation`, else TypeError (e.g. ``jax.nn.relu``)."""
    from .activations import Activation  # late: activations.py imports this module

    if not isinstance(act, Activation):
        raise TypeError(f"{name} must be a jrelu.Activation such as jrelu.ReLU(), got "
                        f"{type_name(act)}: {act!r:.80}")
    return act


def prng_key(name: str, key) -> jax.Array:
    """``key`` if it is a JAX PRNG key (new-style ``jax.random.key`` or legacy uint32[2])."""
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    if isinstance(key, (jax.Array, np.ndarray)) and key.dtype == np.uint32 \
            and key.shape[-1:] == (2,):
        return key
    raise TypeError(f"{name} must be a JAX PRNG key such as jax.random.key(0), got "
                    f"{type_name(key)}: {key!r:.80}")


def callable_(name: str, fn):
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {type_name(fn)}: {fn!r:.80}")
    return fn


# -- data sets (gradients, train) --------------------------------------------------------


def nonfinite_message(name: str, x) -> str | None:
    """``"xs has a non-finite value nan at row 1, column 0 (...)"`` for the first non-finite
    entry of a concrete 1-d or 2-d array, or None."""
    hit = first_nonfinite(x)
    if hit is None:
        return None
    idx, val = hit
    count = int(np.sum(~np.isfinite(np.asarray(x))))
    where = f"row {idx[0]}" + (f", column {idx[1]}" if len(idx) > 1 else "")
    return (f"{name} has a non-finite value {val} at {where} "
            f"({count} non-finite entr{'y' if count == 1 else 'ies'} in all)")


def data_set(net, xs, ys, *, targets: str = "values", weights=None, where: str = ""):
    """A data set ``(xs, ys[, weights])`` for ``net`` as arrays; ValueError/TypeError before
    any work.

    ``xs``: (M, N_0), cast to ``net.dtype``. ``targets`` (see :class:`jrelu.losses.Loss`):
    ``"values"``: ys (M, N_L), cast to ``net.dtype``; ``"classes"``: ys (M, N_L), or integer
    class indices (M,) in [0, N_L) (kept integer); ``"any"``: ys (M, ...), floats cast,
    integers kept. ``weights``: None or (M,) nonnegative. Non-finite values are reported
    with their position when the arrays are concrete. ``where`` prefixes every message
    (e.g. ``"data"``).
    """
    network("net", net)
    pre = f"{where}: " if where else ""
    xs = array("xs", xs)
    if isinstance(ys, (str, bytes, dict)) or ys is None:
        raise TypeError(f"{pre}ys must be an array, got {type_name(ys)}: {ys!r:.80}")
    ys = jnp.asarray(ys)
    n0, nl = net.input_dim, net.output_dim
    if xs.ndim != 2 or xs.shape[1] != n0:
        raise ValueError(f"{pre}xs must have shape (M, N_0) = (M, {n0}) for a network with "
                         f"widths {net.widths}, got shape {xs.shape}")
    M = xs.shape[0]
    if M == 0:
        raise ValueError(f"{pre}xs is empty: the data set has no samples (xs has shape "
                         f"{xs.shape})")
    if ys.shape[:1] != (M,):
        raise ValueError(f"{pre}xs and ys must have the same number of samples: xs has shape "
                         f"{xs.shape} ({M} samples), ys has shape {ys.shape}")
    integer_ys = jnp.issubdtype(ys.dtype, jnp.integer)
    if targets == "classes" and ys.ndim == 1:
        if not integer_ys:
            raise ValueError(f"{pre}ys of shape (M,) are class indices and must be integers, "
                             f"got dtype {ys.dtype}")
        if is_concrete(ys):
            y_np = np.asarray(ys)
            bad = np.flatnonzero((y_np < 0) | (y_np >= nl))
            if bad.size:
                raise ValueError(f"{pre}ys[{bad[0]}] = {y_np[bad[0]]} is out of range: class "
                                 f"indices must lie in [0, N_L) = [0, {nl})")
    elif targets != "any" and (ys.ndim != 2 or ys.shape[1] != nl):
        hint = (" (class indices must be an integer array of shape (M,))"
                if targets == "classes" else "")
        raise ValueError(f"{pre}ys must have shape (M, N_L) = ({M}, {nl}) for a network with "
                         f"widths {net.widths}, got shape {ys.shape}{hint}")
    for name, arr in (("xs", xs), ("ys", ys)):
        msg = nonfinite_message(name, arr)
        if msg:
            raise ValueError(pre + msg)
    xs = xs.astype(net.dtype)
    if not integer_ys or targets == "values":
        ys = ys.astype(net.dtype)
    if weights is not None:
        weights = array("weights", weights)
        if weights.shape != (M,):
            raise ValueError(f"{pre}weights must have shape (M,) = ({M},), got "
                             f"{weights.shape}")
        msg = nonfinite_message("weights", weights)
        if msg:
            raise ValueError(pre + msg)
        if is_concrete(weights) and bool(np.any(np.asarray(weights) < 0)):
            i = int(np.flatnonzero(np.asarray(weights) < 0)[0])
            raise ValueError(f"{pre}weights must be nonnegative (they are the masses of a "
                             f"finite measure); weights[{i}] = {float(weights[i])}")
    return xs, ys, weights


def real_array(name: str, x) -> jax.Array:
    """``x`` as a JAX array of a real dtype (integer or floating, dtype kept), else TypeError.

    Unlike :func:`array` it does not convert integers (the caller picks the float dtype).
    TypeError for a string, None, a dict, an object array, a bool or a complex array; the
    message names ``name``. Works on tracers.
    """
    if isinstance(x, (str, bytes, dict)) or x is None:
        raise TypeError(f"{name} must be a real array, got {type_name(x)}: {x!r:.80}")
    try:
        arr = jnp.asarray(x)
    except (TypeError, ValueError, OverflowError) as e:
        raise TypeError(f"{name} must be an array of real numbers, got {type_name(x)}: "
                        f"{x!r:.80} ({e})") from None
    if arr.dtype == jnp.bool_ or not (jnp.issubdtype(arr.dtype, jnp.floating)
                                      or jnp.issubdtype(arr.dtype, jnp.integer)):
        raise TypeError(f"{name} must be a real array, got dtype {arr.dtype}")
    return arr


# -- sizes (appended for issue 12) -------------------------------------------------------

MAX_SIZE = 2**31 - 1


def size(name: str, value, *, min: int = 1) -> int:
    """An integer count, length or dimension in ``[min, 2**31 - 1]`` (a larger one cannot
    index an array): TypeError for a non-integer or a bool, ValueError out of range."""
    return integer(name, value, min=min, max=MAX_SIZE)


def boolean(name: str, value) -> bool:
    """``value`` if it is a ``bool`` (or a NumPy bool), else TypeError (``1``, ``"yes"``...)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type_name(value)}: {value!r:.80}")
    return bool(value)
