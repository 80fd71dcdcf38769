r"""Global error sweeps: weighted sup errors of values and derivatives over samples.

For a network :math:`\Phi`, a target :math:`f:\mathbb R^{N_0}\to\mathbb R^{N_L}` and a
weight exponent :math:`\kappa\ge0` (MATH.md §4, [BEGJ]), a sweep over sample points
:math:`x_1,\dots,x_n` measures

.. math::
    e_0(x)=\frac{\|f(x)-R\Phi(x)\|_2}{1+\|x\|_2^\kappa},\qquad
    e_1(x)=\frac{\|\nabla f(x)-D^N\Phi(x)\|_F}{1+\|x\|_2^\kappa},

and reports :math:`\max_i e_0(x_i)`, :math:`\max_i e_1(x_i)` with their argmax points,
the unweighted maxima, the means, quantiles and a radial profile (the maxima per shell
of :math:`\|x\|_2`). Here :math:`D^N\Phi` is the network derivative
(:func:`jrelu.derivative`) and :math:`\|\cdot\|_F` the Frobenius norm, which for
:math:`N_L=1` is the Euclidean norm of the gradient difference. Note that
:math:`\kappa=0` gives the weight :math:`1/(1+1)=1/2`, exactly as in the bound
:math:`|f-R\Phi|\le\varepsilon(1+\|x\|^\kappa)`; the unweighted maxima are reported too.

**Samplers** (:class:`UniformBox`, :class:`Gaussian`, :class:`RadialShells`,
:class:`Halton`, :class:`TensorGrid`, and :class:`PointSampler` for a user's
``fn(key) -> point``) map a key and *global point indices* to points:
point i depends only on ``(key, i)`` (random samplers draw it from
``jax.random.fold_in(key, i)``; Halton and the grid are functions of i). Hence the
sample set, and every number in the report, does not depend on the chunk size, the
number of devices or processes, or on interruption and resumption.

**Engine** (:func:`error_sweep`): one jit-compiled chunk function evaluates ``chunk_size``
points (the last chunk is padded and masked, so it reuses the same compiled function),
optionally sharded over a device mesh; the host folds each chunk into running
statistics, so memory is flat in the number of points. All statistics are
order-independent: maxima (ties go to the smallest point index), integer histogram
counts, and an *exact* sum of the float errors (integer arithmetic), so the mean is
the correctly rounded mean of the per-point errors.

References: [BEGJ] J. Berner, D. Elbrächter, P. Grohs, A. Jentzen, *Towards a
regularity theory for ReLU networks – chain rule and global error estimates*, 2019.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from .activations import Activation, relu
from .derivative import value_and_derivative
from .network import Network, realize

__all__ = [
    "Sampler",
    "UniformBox",
    "Gaussian",
    "RadialShells",
    "Halton",
    "TensorGrid",
    "PointSampler",
    "ErrorStats",
    "RadialShell",
    "SweepReport",
    "error_sweep",
]


# -- samplers ------------------------------------------------------------------


def _as_float_tuple(name: str, value, dim: int) -> tuple[float, ...]:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(dim, float(arr))
    if arr.shape != (dim,):
        raise ValueError(f"{name} must be a number or have shape ({dim},), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {arr.tolist()}")
    return tuple(float(v) for v in arr)


def _check_dim(dim) -> int:
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool) or dim < 1:
        raise ValueError(f"sampler dimension must be a positive integer, got {dim!r}")
    return int(dim)


def _dtype(dtype):
    return jnp.result_type(float) if dtype is None else jnp.dtype(dtype)


def _per_point_keys(key, index):
    return jax.vmap(lambda i: jax.random.fold_in(key, i))(index)


@dataclasses.dataclass(frozen=True)
class Sampler:
    r"""Base class: a deterministic map (key, global point indices) → points.

    Subclasses implement :meth:`points`. ``sampler(key, n)`` returns the points with
    indices ``0..n-1``, shape ``(n, dim)``. Point i depends only on ``(key, i)``.
    """

    dim: int

    #: Number of points the sampler has (a tensor grid), or None if unbounded.
    size = None

    def points(self, key, index, dtype=None) -> jax.Array:
        """Points with global indices ``index`` (int array, shape ``(n,)``): ``(n, dim)``."""
        raise NotImplementedError

    def __call__(self, key, n: int, dtype=None) -> jax.Array:
        return self.points(key, jnp.arange(n), dtype)

    def radial_edges(self):
        """Default shell edges of :math:`\\|x\\|` for the radial profile, or None."""
        return None

    def describe(self) -> dict:
        """A JSON-able description (class and parameters), used in reports and checkpoints."""
        return {"sampler": type(self).__name__, **dataclasses.asdict(self)}


@dataclasses.dataclass(frozen=True)
class UniformBox(Sampler):
    r"""Uniform on the box :math:`\prod_j[\mathrm{low}_j,\mathrm{high}_j]`; point i is
    ``low + (high - low) * U``, U uniform on :math:`[0,1)^d` from ``fold_in(key, i)``."""

    low: float | tuple = 0.0
    high: float | tuple = 1.0

    def __post_init__(self):
        object.__setattr__(self, "dim", _check_dim(self.dim))
        lo = _as_float_tuple("low", self.low, self.dim)
        hi = _as_float_tuple("high", self.high, self.dim)
        if any(h < lo_ for lo_, h in zip(lo, hi)):
            raise ValueError(f"box needs low <= high in every coordinate, got low={lo}, high={hi}")
        object.__setattr__(self, "low", lo)
        object.__setattr__(self, "high", hi)

    def points(self, key, index, dtype=None):
        dtype = _dtype(dtype)
        u = jax.vmap(lambda k: jax.random.uniform(k, (self.dim,), dtype))(
            _per_point_keys(key, index))
        lo, hi = jnp.asarray(self.low, dtype), jnp.asarray(self.high, dtype)
        return lo + (hi - lo) * u

    def radial_edges(self):
        r = float(np.linalg.norm(np.maximum(np.abs(self.low), np.abs(self.high))))
        return None if r == 0 else np.geomspace(r / 2**12, r, 13)


@dataclasses.dataclass(frozen=True)
class Gaussian(Sampler):
    r""":math:`\mathcal N(\mathrm{mean}, \mathrm{std}^2 I_d)`; point i from ``fold_in(key, i)``."""

    mean: float | tuple = 0.0
    std: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "dim", _check_dim(self.dim))
        object.__setattr__(self, "mean", _as_float_tuple("mean", self.mean, self.dim))
        std = float(self.std)
        if not (math.isfinite(std) and std > 0):
            raise ValueError(f"std must be positive and finite, got {self.std!r}")
        object.__setattr__(self, "std", std)

    def points(self, key, index, dtype=None):
        dtype = _dtype(dtype)
        z = jax.vmap(lambda k: jax.random.normal(k, (self.dim,), dtype))(
            _per_point_keys(key, index))
        return jnp.asarray(self.mean, dtype) + jnp.asarray(self.std, dtype) * z


@dataclasses.dataclass(frozen=True)
class RadialShells(Sampler):
    r"""Points on spheres of log-spaced radii, so that "global" probes far away.

    Radii :math:`r_j=r_{\min}(r_{\max}/r_{\min})^{j/(m-1)}`, :math:`j=0,\dots,m-1`
    (``m = num_shells``). Point i lies on shell :math:`j=i\bmod m` (every shell gets
    the same number of points, up to one) in a uniformly distributed direction
    :math:`z/\|z\|`, :math:`z\sim\mathcal N(0,I_d)` from ``fold_in(key, i)``. The
    default radial profile has one bin per shell.
    """

    r_max: float = 1000.0
    num_shells: int = 16
    r_min: float = 0.01

    def __post_init__(self):
        object.__setattr__(self, "dim", _check_dim(self.dim))
        r_max, r_min = float(self.r_max), float(self.r_min)
        if not (0 < r_min <= r_max < math.inf):
            raise ValueError(f"radial shells need 0 < r_min <= r_max < inf, got r_min={r_min}, "
                             f"r_max={r_max}")
        m = self.num_shells
        if not isinstance(m, (int, np.integer)) or isinstance(m, bool) or m < 1:
            raise ValueError(f"num_shells must be a positive integer, got {m!r}")
        if m == 1 and r_min != r_max:
            raise ValueError("num_shells = 1 needs r_min == r_max")
        object.__setattr__(self, "r_max", r_max)
        object.__setattr__(self, "r_min", r_min)
        object.__setattr__(self, "num_shells", int(m))

    def radii(self) -> np.ndarray:
        """The shell radii :math:`r_0<\\dots<r_{m-1}` (float64)."""
        return np.geomspace(self.r_min, self.r_max, self.num_shells)

    def points(self, key, index, dtype=None):
        dtype = _dtype(dtype)
        z = jax.vmap(lambda k: jax.random.normal(k, (self.dim,), dtype))(
            _per_point_keys(key, index))
        u = z / jnp.linalg.norm(z, axis=-1, keepdims=True)
        r = jnp.asarray(self.radii(), dtype)[index % self.num_shells]
        return r[:, None] * u

    def radial_edges(self):
        r = self.radii()
        if len(r) == 1:
            return np.array([r[0] / 2, r[0] * 2])
        return np.concatenate([[r[0] / 2], np.sqrt(r[1:] * r[:-1]), [r[-1] * 2]])


def _first_primes(n: int) -> list[int]:
    primes, c = [], 2
    while len(primes) < n:
        if all(c % p for p in primes if p * p <= c):
            primes.append(c)
        c += 1
    return primes


@dataclasses.dataclass(frozen=True)
class Halton(Sampler):
    r"""The Halton sequence in the box, written in JAX.

    Coordinate j of point i is the radical inverse :math:`\phi_{p_j}(i+1)` in the j-th
    prime base (the index is shifted by one to skip the origin), mapped affinely to
    ``[low_j, high_j]``. With ``scramble=True`` the sequence is randomly shifted modulo 1
    (Cranley–Patterson rotation) by a uniform vector from ``key``; otherwise the key is
    unused. Halton points are well spread for small d; in high d the coordinates of
    large bases are strongly correlated for the first points, prefer random samplers there.
    """

    low: float | tuple = 0.0
    high: float | tuple = 1.0
    scramble: bool = False

    def __post_init__(self):
        object.__setattr__(self, "dim", _check_dim(self.dim))
        object.__setattr__(self, "low", _as_float_tuple("low", self.low, self.dim))
        object.__setattr__(self, "high", _as_float_tuple("high", self.high, self.dim))
        object.__setattr__(self, "scramble", bool(self.scramble))

    def points(self, key, index, dtype=None):
        dtype = _dtype(dtype)
        base = jnp.asarray(_first_primes(self.dim), index.dtype)
        n0 = jnp.broadcast_to((index + 1)[:, None], index.shape + (self.dim,))
        inv_base = 1.0 / base.astype(dtype)

        def body(state):
            n, f, r = state
            return n // base, f * inv_base, r + (n % base).astype(dtype) * f

        _, _, u = jax.lax.while_loop(
            lambda s: jnp.any(s[0] > 0), body,
            (n0, jnp.broadcast_to(inv_base, n0.shape), jnp.zeros(n0.shape, dtype)))
        if self.scramble:
            u = u + jax.random.uniform(key, (self.dim,), dtype)
            u = u - jnp.floor(u)
        lo, hi = jnp.asarray(self.low, dtype), jnp.asarray(self.high, dtype)
        return lo + (hi - lo) * u


@dataclasses.dataclass(frozen=True)
class TensorGrid(Sampler):
    r"""The full tensor grid with ``num_per_axis`` equispaced values per axis.

    Axis values :math:`\mathrm{low}_j+k\,h_j`, :math:`h_j=(\mathrm{high}_j-\mathrm{low}_j)/(m-1)`,
    :math:`k=0,\dots,m-1` (m = 1: the midpoint). Point i has the base-m digits of i as its
    k's, the last axis fastest (C order, like ``meshgrid(indexing="ij")`` raveled).
    :attr:`size` is :math:`m^d`; the key is unused. Dyadic ``low``, ``high`` and m − 1 a
    power of two give exactly representable points.
    """

    num_per_axis: int = 2
    low: float | tuple = 0.0
    high: float | tuple = 1.0

    def __post_init__(self):
        object.__setattr__(self, "dim", _check_dim(self.dim))
        m = self.num_per_axis
        if not isinstance(m, (int, np.integer)) or isinstance(m, bool) or m < 1:
            raise ValueError(f"num_per_axis must be a positive integer, got {m!r}")
        object.__setattr__(self, "num_per_axis", int(m))
        object.__setattr__(self, "low", _as_float_tuple("low", self.low, self.dim))
        object.__setattr__(self, "high", _as_float_tuple("high", self.high, self.dim))
        if self.size > 2**62:
            raise ValueError(f"a tensor grid with {m}^{self.dim} points is too large")

    @property
    def size(self) -> int:
        return self.num_per_axis**self.dim

    def points(self, key, index, dtype=None):
        dtype = _dtype(dtype)
        m = self.num_per_axis
        cap = int(jnp.iinfo(index.dtype).max)  # a divisor > every index gives digit 0 anyway
        div = jnp.asarray([min(m ** (self.dim - 1 - j), cap) for j in range(self.dim)],
                          index.dtype)
        k = (index[:, None] // div) % m
        lo = np.asarray(self.low)
        h = (np.asarray(self.high) - lo) / (m - 1) if m > 1 else np.zeros(self.dim)
        start = lo if m > 1 else (lo + np.asarray(self.high)) / 2
        return jnp.asarray(start, dtype) + k.astype(dtype) * jnp.asarray(h, dtype)

    def __call__(self, key, n: int | None = None, dtype=None):
        return self.points(key, jnp.arange(self.size if n is None else n), dtype)


@dataclasses.dataclass(frozen=True)
class PointSampler(Sampler):
    r"""A user-defined random sampler: point i is ``fn(fold_in(key, i))``.

    ``fn`` maps one PRNG key to one point of shape ``(dim,)`` (written in ``jnp``; it is
    vmapped). ``name`` labels it in reports and checkpoints (a checkpoint also stores a
    hash of the first points, so a changed ``fn`` is detected).
    """

    fn: Callable | None = None
    name: str = ""

    def __post_init__(self):
        object.__setattr__(self, "dim", _check_dim(self.dim))
        if not callable(self.fn):
            raise ValueError(f"PointSampler needs a callable fn(key) -> (dim,), got {self.fn!r}")

    def points(self, key, index, dtype=None):
        x = jax.vmap(self.fn)(_per_point_keys(key, index))
        if x.shape != index.shape + (self.dim,):
            raise ValueError(f"PointSampler fn must return shape ({self.dim},), got "
                             f"{x.shape[1:]}")
        return x.astype(_dtype(dtype))

    def describe(self) -> dict:
        fn = getattr(self.fn, "__qualname__", type(self.fn).__name__)
        return {"sampler": "PointSampler", "dim": self.dim, "fn": fn, "name": self.name}


# -- the fused chunk evaluation -------------------------------------------------


def _value_and_derivative(net: Network, x, activation: Activation, with_derivative: bool):
    r""":math:`(R\Phi(x), D^N\Phi(x))` from one shared forward pass, or
    :math:`(R\Phi(x), \text{None})` for a value-only sweep."""
    if with_derivative:
        return value_and_derivative(net, x, activation)
    return realize(net, x, activation), None


# -- order-independent statistics ----------------------------------------------

_HIST_BINS_PER_DECADE = 100
_HIST_MIN_EXP, _HIST_MAX_EXP = -40, 40  # edges 10^-40 .. 10^40
_HIST_EDGES = 10.0 ** (np.arange(_HIST_MIN_EXP * _HIST_BINS_PER_DECADE,
                                 _HIST_MAX_EXP * _HIST_BINS_PER_DECADE + 1)
                       / _HIST_BINS_PER_DECADE)
#: Relative resolution of the reported quantiles: Q ≤ Q̂ ≤ Q · (1 + QUANTILE_RESOLUTION).
QUANTILE_RESOLUTION = float(10.0 ** (1.0 / _HIST_BINS_PER_DECADE) - 1.0)
_SUM_SHIFT = 1126  # 2^-1126 divides every float64 (subnormals are multiples of 2^-1074)


def _hist_bins(v: np.ndarray) -> np.ndarray:
    """Bin 0: exact zeros; 1: (0, e_0); k+2: [e_k, e_{k+1}); last: [e_max, inf)."""
    idx = np.searchsorted(_HIST_EDGES, v, side="right") + 1
    return np.where(v == 0, 0, idx)


def _hist_upper(b: int) -> float:
    if b == 0:
        return 0.0
    return float(_HIST_EDGES[b - 1]) if b - 1 < len(_HIST_EDGES) else math.inf


_NUM_HIST_BINS = len(_HIST_EDGES) + 2


def _exact_sum(v: np.ndarray) -> int:
    r""":math:`2^{1126}\sum_i v_i` exactly, as a Python int (v: finite float64 ≥ 0)."""
    if v.size == 0:
        return 0
    m, e = np.frexp(v)
    M = (m * 2.0**53).astype(np.int64)  # v = M 2^(e-53), exact
    hi, lo = M >> 27, M & ((1 << 27) - 1)
    order = np.argsort(e, kind="stable")
    es = e[order]
    starts = np.flatnonzero(np.concatenate([[True], es[1:] != es[:-1]]))
    shi = np.add.reduceat(hi[order], starts)
    slo = np.add.reduceat(lo[order], starts)
    total = 0
    for ex, a, b in zip(es[starts].tolist(), shi.tolist(), slo.tolist()):
        total += ((a << 27) + b) << (ex - 53 + _SUM_SHIFT)
    return total


@dataclasses.dataclass
class _Running:
    """Running statistics of one weighted error (host side, float64)."""

    n_shells: int
    sup: float = -math.inf
    argmax: list | None = None
    argmax_index: int = -1
    sup_raw: float = -math.inf
    argmax_raw: list | None = None
    argmax_raw_index: int = -1
    total: int = 0
    hist: np.ndarray = None
    shell_max: np.ndarray = None

    def __post_init__(self):
        if self.hist is None:
            self.hist = np.zeros(_NUM_HIST_BINS, np.int64)
        if self.shell_max is None:
            self.shell_max = np.full(self.n_shells, -math.inf)

    def update(self, start, w, raw, iw, xw, iraw, xraw, shells):
        mw = float(w[iw])
        if mw > self.sup:
            self.sup, self.argmax, self.argmax_index = mw, xw, start + int(iw)
        mr = float(raw[iraw])
        if mr > self.sup_raw:
            self.sup_raw, self.argmax_raw, self.argmax_raw_index = mr, xraw, start + int(iraw)
        self.total += _exact_sum(w)
        self.hist += np.bincount(_hist_bins(w), minlength=_NUM_HIST_BINS)
        np.maximum.at(self.shell_max, shells, w)

    def stats(self, n: int, quantiles) -> ErrorStats:
        cum = np.cumsum(self.hist)
        qs = {}
        for q in quantiles:
            j = max(1, math.ceil(q * n))  # the j-th smallest value, 1-based
            b = int(np.searchsorted(cum, j))
            qs[f"{q:g}"] = min(_hist_upper(b), self.sup)
        return ErrorStats(sup=self.sup, argmax=tuple(self.argmax), argmax_index=self.argmax_index,
                          sup_unweighted=self.sup_raw, argmax_unweighted=tuple(self.argmax_raw),
                          argmax_unweighted_index=self.argmax_raw_index,
                          mean=float(Fraction(self.total, n << _SUM_SHIFT)), quantiles=qs)

    def to_json(self) -> dict:
        nz = np.flatnonzero(self.hist)
        return {"sup": self.sup, "argmax": self.argmax, "argmax_index": self.argmax_index,
                "sup_raw": self.sup_raw, "argmax_raw": self.argmax_raw,
                "argmax_raw_index": self.argmax_raw_index, "total": str(self.total),
                "hist_bins": nz.tolist(), "hist_counts": self.hist[nz].tolist(),
                "shell_max": [None if v == -math.inf else v for v in self.shell_max.tolist()]}

    @classmethod
    def from_json(cls, d: dict, n_shells: int) -> _Running:
        r = cls(n_shells)
        r.sup, r.argmax, r.argmax_index = d["sup"], d["argmax"], d["argmax_index"]
        r.sup_raw, r.argmax_raw = d["sup_raw"], d["argmax_raw"]
        r.argmax_raw_index = d["argmax_raw_index"]
        r.total = int(d["total"])
        r.hist[np.asarray(d["hist_bins"], np.int64)] = np.asarray(d["hist_counts"], np.int64)
        r.shell_max = np.array([-math.inf if v is None else v for v in d["shell_max"]])
        return r


# -- the report ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ErrorStats:
    r"""Statistics of one weighted pointwise error :math:`e(x_i)` over the sweep.

    Attributes:
      sup: :math:`\max_i e(x_i)`; ``argmax`` is the point (the smallest index on ties),
        ``argmax_index`` its global index.
      sup_unweighted: the maximum of the unweighted error (numerator of e), with its
        point and index.
      mean: the correctly rounded mean :math:`\frac1n\sum_i e(x_i)` (exact summation).
      quantiles: ``{"q": Q̂}``; Q̂ is an upper bound of the q-quantile
        :math:`Q=e_{(\lceil qn\rceil)}` (order statistic) from a log-spaced histogram,
        :math:`Q\le\hat Q\le\max(Q(1+\rho), 10^{-40})` with ρ = ``QUANTILE_RESOLUTION``
        (≈ 2.3%), and Q̂ = 0 when Q = 0; Q̂ never exceeds ``sup``.
    """

    sup: float
    argmax: tuple
    argmax_index: int
    sup_unweighted: float
    argmax_unweighted: tuple
    argmax_unweighted_index: int
    mean: float
    quantiles: dict


@dataclasses.dataclass(frozen=True)
class RadialShell:
    r"""One shell :math:`r_{\min}\le\|x\|<r_{\max}` of the radial profile: the number of
    sample points in it and the maxima of the weighted errors over them (derivative
    maximum is None when derivatives were not swept)."""

    r_min: float
    r_max: float
    count: int
    value_sup: float
    derivative_sup: float | None


@dataclasses.dataclass(frozen=True)
class SweepReport:
    """The result of :func:`error_sweep`; :meth:`to_dict`/:meth:`to_json` give plain JSON.

    ``value`` and ``derivative`` are :class:`ErrorStats` (``derivative`` is None for
    ``derivative=False``); ``radial_profile`` lists the non-empty shells; ``seconds`` is
    the wall time of the evaluation (summed over resumed runs, compile time included)
    and ``points_per_second`` = ``num_points / seconds``. In :meth:`to_dict` tuples
    become lists and the infinite upper edge of the outermost shell becomes ``None``.
    Apart from the two timing fields, the report is identical for every chunk size (the
    ``chunk_size``/``num_chunks`` fields aside), device layout, process count and
    interruption/resumption.
    """

    num_points: int
    kappa: float
    value: ErrorStats
    derivative: ErrorStats | None
    radial_profile: tuple
    seconds: float
    points_per_second: float
    chunk_size: int
    num_chunks: int
    num_devices: int
    num_processes: int
    dtype: str
    sampler: dict
    quantile_resolution: float = QUANTILE_RESOLUTION

    @property
    def sup_value_error(self) -> float:
        r""":math:`\max_i |f(x_i)-R\Phi(x_i)|/(1+\|x_i\|^\kappa)`."""
        return self.value.sup

    @property
    def sup_derivative_error(self) -> float | None:
        r""":math:`\max_i\|\nabla f(x_i)-D^N\Phi(x_i)\|_F/(1+\|x_i\|^\kappa)`."""
        return None if self.derivative is None else self.derivative.sup

    def to_dict(self) -> dict:
        return _plain(dataclasses.asdict(self))

    def to_json(self, **kwargs) -> str:
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)


def _plain(obj):
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    return obj


# -- progress ----------------------------------------------------------------------


class _Progress:
    """A one-line progress display on stderr (``\\r``-updated, at most twice a second)."""

    def __init__(self, mode, total: int, done: int):
        self.mode, self.total, self.done0 = mode, total, done
        self.t0 = self.last = time.perf_counter()
        self.shown, self.shown_done = False, -1
        self.first = None

    def update(self, done: int, final: bool = False):
        if self.mode is False:
            return
        now = time.perf_counter()
        if self.first is None:
            self.first = (now, done)
        if self.mode is None and now - self.t0 < 2.0:  # auto: only long sweeps
            return
        if not final and now - self.last < 0.5 and self.shown:
            return
        self.last = now
        t1, d1 = self.first
        if done <= d1 or now <= t1:  # no chunk since the first: use the whole time
            t1, d1 = self.t0, self.done0
        rate = (done - d1) / max(now - t1, 1e-9)
        eta = (self.total - done) / rate if rate > 0 else math.inf
        eta_s = "?" if not math.isfinite(eta) else time.strftime("%H:%M:%S", time.gmtime(eta))
        sys.stderr.write(f"\rjrelu sweep: {done:,}/{self.total:,} points "
                         f"({100.0 * done / self.total:5.1f}%)  {rate:,.0f} points/s  "
                         f"ETA {eta_s}   ")
        sys.stderr.flush()
        self.shown, self.shown_done = True, done

    def close(self, done: int):
        if self.shown:
            if self.shown_done != done:
                self.update(done, final=True)
            sys.stderr.write("\n")
            sys.stderr.flush()


# -- checkpoints -----------------------------------------------------------------


def _network_hash(net: Network) -> str:
    h = hashlib.sha256()
    for A, b in net.layers:
        for a in (A, b):
            a = np.asarray(a)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _array_hash(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        if a is not None:
            a = np.asarray(a)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _save_checkpoint(path: str, state: dict) -> None:
    tmp = f"{path}.tmp{jax.process_index()}-{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _load_checkpoint(path: str, fingerprint: dict) -> dict | None:
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            state = json.load(f)
        old = state["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"checkpoint {path!r} is not a jrelu sweep checkpoint ({e}); "
                         "delete it or pass another path") from None
    if old != fingerprint:
        diffs = [f"{k}: checkpoint {old.get(k)!r} vs now {fingerprint.get(k)!r}"
                 for k in sorted(set(old) | set(fingerprint)) if old.get(k) != fingerprint.get(k)]
        raise ValueError(f"checkpoint {path!r} was written by a sweep with different arguments "
                         f"({'; '.join(diffs)}); refusing to mix them. Delete the file or pass "
                         "another checkpoint path.")
    return state


# -- the sweep ----------------------------------------------------------------------


def _mesh_of(devices) -> Mesh | None:
    if devices is None:
        if jax.process_count() > 1:
            return Mesh(np.array(jax.devices()), ("batch",))
        return None
    if isinstance(devices, Mesh):
        return devices
    if isinstance(devices, str) and devices == "all":
        return Mesh(np.array(jax.devices()), ("batch",))
    devices = list(devices)
    if not devices:
        raise ValueError("devices must be None, 'all', a jax.sharding.Mesh or a non-empty list "
                         "of devices; got an empty list")
    return Mesh(np.array(devices), ("batch",))


def _check_target(target, target_grad, net: Network, dtype, with_derivative: bool) -> bool:
    """Check the shapes of f and ∇f by abstract evaluation; return whether f is scalar."""
    n0, nl = net.input_dim, net.output_dim
    spec = jax.ShapeDtypeStruct((n0,), dtype)
    try:
        out = jax.eval_shape(target, spec)
    except Exception as e:  # noqa: BLE001 - report any failure of the user's target
        raise ValueError(f"target could not be evaluated on a point of shape ({n0},): "
                         f"{type(e).__name__}: {e}") from e
    shape = getattr(out, "shape", None)
    if shape is None:
        raise ValueError(f"target must return an array, got {out!r}")
    scalar = shape == ()
    if not (shape == (nl,) or (scalar and nl == 1)):
        raise ValueError(f"target maps a point of shape ({n0},) to shape {shape}, but the network "
                         f"has N_L = {nl} outputs (widths {net.widths}); expected shape ({nl},)"
                         + (" or ()" if nl == 1 else ""))
    if with_derivative:
        grad = _default_grad(target, scalar) if target_grad is None else target_grad
        try:
            gout = jax.eval_shape(grad, spec)
        except Exception as e:  # noqa: BLE001
            raise ValueError(f"target_grad could not be evaluated on a point of shape ({n0},): "
                             f"{type(e).__name__}: {e}") from e
        gshape = getattr(gout, "shape", None)
        if not (gshape == (nl, n0) or (nl == 1 and gshape == (n0,))):
            raise ValueError(f"target_grad maps a point of shape ({n0},) to shape {gshape}, "
                             f"expected the Jacobian shape ({nl}, {n0})"
                             + (f" or ({n0},)" if nl == 1 else ""))
    return scalar


def _default_grad(target, scalar: bool):
    return jax.grad(target) if scalar else jax.jacrev(target)


@dataclasses.dataclass(frozen=True)
class _ChunkSpec:
    """Everything static about a sweep's chunk function (hashable: the compile-cache key)."""

    sampler: Sampler
    target: Callable
    target_grad: Callable | None
    scalar_target: bool
    activation: Activation
    kappa: float
    derivative: bool
    chunk: int
    n0: int
    nl: int
    dtype: str
    index_dtype: str
    key_impl: str
    mesh: Mesh | None

    def target_fns(self):
        """f: (N_0,) -> (N_L,) and Df: (N_0,) -> (N_L, N_0) (None without derivatives)."""
        t = self.target
        f = (lambda x: jnp.reshape(t(x), (1,))) if self.scalar_target else t
        if not self.derivative:
            return f, None
        g = _default_grad(t, self.scalar_target) if self.target_grad is None else self.target_grad
        return f, lambda x: jnp.reshape(g(x), (self.nl, self.n0))


def _chunk_eval(spec: _ChunkSpec, net: Network, key_data, start, num_points):
    """Points ``start .. start + chunk - 1`` (those ≥ num_points masked): per-point errors,
    radii, the argmax points and the first non-finite target index."""
    if spec.mesh is not None:
        batch = NamedSharding(spec.mesh, P(tuple(spec.mesh.axis_names)))
        constrain = lambda a: jax.lax.with_sharding_constraint(a, batch)
    else:
        constrain = lambda a: a
    f, Df = spec.target_fns()
    key = jax.random.wrap_key_data(key_data, impl=spec.key_impl)
    idx = constrain(start + jnp.arange(spec.chunk, dtype=spec.index_dtype))
    valid = idx < num_points
    x = constrain(spec.sampler.points(key, idx, spec.dtype))
    y, J = _value_and_derivative(net, x, spec.activation, spec.derivative)
    fx = jax.vmap(f)(x)
    radius = jnp.linalg.norm(x, axis=-1)
    denom = 1 + radius**spec.kappa
    raw_v = jnp.linalg.norm(fx - y, axis=-1)
    finite = jnp.all(jnp.isfinite(fx), axis=-1) & jnp.all(jnp.isfinite(y), axis=-1)
    out = {"radius": radius}
    errs = {"v": (raw_v / denom, raw_v)}
    if spec.derivative:
        gx = jax.vmap(Df)(x)
        raw_d = jnp.sqrt(jnp.sum((gx - J) ** 2, axis=(-2, -1)))
        finite &= jnp.all(jnp.isfinite(gx) & jnp.isfinite(J), axis=(-2, -1))
        errs["d"] = (raw_d / denom, raw_d)
    for name, (w, raw) in errs.items():
        iw = jnp.argmax(jnp.where(valid, w, -jnp.inf))
        ir = jnp.argmax(jnp.where(valid, raw, -jnp.inf))
        out.update({f"{name}_w": w, f"{name}_raw": raw, f"{name}_iw": iw, f"{name}_ir": ir,
                    f"{name}_xw": x[iw], f"{name}_xr": x[ir]})
    badmask = valid & ~finite
    out["bad"] = jnp.any(badmask)
    out["bad_i"] = jnp.argmax(badmask)
    return out


@functools.partial(jax.jit, static_argnums=(0, 2))
def _probe(spec: _ChunkSpec, key_data, n: int):
    """The first n points with f and ∇f there (checked for finiteness before the sweep)."""
    f, Df = spec.target_fns()
    key = jax.random.wrap_key_data(key_data, impl=spec.key_impl)
    x = spec.sampler.points(key, jnp.arange(n, dtype=spec.index_dtype), spec.dtype)
    return x, jax.vmap(f)(x), jax.vmap(Df)(x) if spec.derivative else None


def _raise_non_finite(spec: _ChunkSpec, net: Network, key, i: int):
    """Raise the ValueError for a non-finite target or network value at point index i."""
    x = jax.jit(spec.sampler.points, static_argnums=2)(
        key, jnp.asarray([i], spec.index_dtype), spec.dtype)
    f, Df = spec.target_fns()
    y, J = _value_and_derivative(net, x, spec.activation, spec.derivative)
    parts = [("target value f(x)", jax.vmap(f)(x))]
    if spec.derivative:
        parts += [("target gradient ∇f(x)", jax.vmap(Df)(x))]
    parts += [("network value RΦ(x)", y), ("network derivative D^NΦ(x)", J)]
    for name, v in parts:
        if v is None:
            continue
        v = np.asarray(v)[0]
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} is not finite at point index {i}, "
                             f"x = {np.asarray(x)[0].tolist()}: {v.tolist()}")
    raise ValueError(f"a non-finite value at point index {i}, x = {np.asarray(x)[0].tolist()}")


@functools.lru_cache(maxsize=32)
def _compiled_chunk(spec: _ChunkSpec):
    """The jitted chunk function for ``spec``; cached, so repeated sweeps compile once."""
    fn = functools.partial(_chunk_eval, spec)
    if spec.mesh is None:
        return jax.jit(fn)
    rep = NamedSharding(spec.mesh, P())
    return jax.jit(fn, in_shardings=(rep, rep, rep, rep), out_shardings=rep)


def _check_int(name, v, lo=1):
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
    return int(v)


def error_sweep(net: Network, target: Callable, sampler: Sampler, num_points: int | None,
                key, kappa: float = 0.0, derivative: bool = True, chunk_size: int = 8192,
                target_grad: Callable | None = None, activation: Activation = relu,
                devices=None, checkpoint: str | os.PathLike | None = None,
                checkpoint_every: int = 16, progress: bool | None = None,
                radial_bins: Sequence[float] | None = None,
                quantiles: Sequence[float] = (0.5, 0.9, 0.99)) -> SweepReport:
    r"""Weighted sup errors of :math:`R\Phi` and :math:`D^N\Phi` against f over samples.

    .. math::
        \sup_i\frac{\|f(x_i)-R\Phi(x_i)\|_2}{1+\|x_i\|_2^\kappa},\qquad
        \sup_i\frac{\|\nabla f(x_i)-D^N\Phi(x_i)\|_F}{1+\|x_i\|_2^\kappa},

    over the points :math:`x_i`, i = 0, …, num_points − 1, of ``sampler`` (see the
    module docstring), with means, quantiles and a radial profile (:class:`SweepReport`).

    Args:
      net: the network, widths :math:`(N_0,\dots,N_L)`; its dtype is the compute dtype
        (points are generated in it).
      target: f, mapping one point ``(N_0,)`` to ``(N_L,)``, or to a scalar ``()`` when
        :math:`N_L=1`. It is vmapped, so it must be written in ``jnp``.
      sampler: a :class:`Sampler` with ``dim == N_0``.
      num_points: the number of points; None for a :class:`TensorGrid` means the whole
        grid (at most ``sampler.size``).
      key: a PRNG key (typed or raw ``uint32[2]``).
      kappa: the weight exponent κ ≥ 0.
      derivative: also sweep the derivative error.
      chunk_size: points per compiled chunk (at most num_points, rounded up to a multiple
        of the number of devices); memory is O(chunk_size · width), independent of num_points.
      target_grad: ∇f, mapping ``(N_0,)`` to ``(N_L, N_0)`` (or ``(N_0,)`` for
        :math:`N_L=1`); default ``jax.grad(target)`` (scalar target) or
        ``jax.jacrev(target)``.
      activation: ϱ, whose Dϱ defines :math:`D^N\Phi`.
      devices: None (the default device; all global devices when running multi-process
        under ``jax.distributed.initialize``), ``"all"``, a list of devices, or a
        :class:`jax.sharding.Mesh`: every chunk is sharded over all its devices along the
        point axis (``NamedSharding``; the per-point results are gathered with XLA
        collectives). Results are identical for any device layout. Multi-host: call
        ``jax.distributed.initialize(...)`` in every process, then ``error_sweep`` with the
        same arguments in every process; each process evaluates the points of its own
        devices and every process returns the same report.
      checkpoint: a file path. The running state is written there atomically (JSON via
        a temporary file and ``os.replace``) every ``checkpoint_every`` chunks and at the
        end; if the file exists, the sweep resumes from it, provided it was written with
        the same arguments (network weights, target values on probe points, sampler,
        key, num_points, chunk size, κ, …), else ValueError. The completed file is kept:
        re-running returns the report at once. Under multi-process runs every process
        writes the same state to ``checkpoint`` (so a per-host or a shared path works).
      progress: True/False, or None (default): a progress line on stderr only once a
        sweep has run for 2 s.
      radial_bins: increasing shell edges :math:`0<e_0<\dots<e_m` for the radial
        profile (shells :math:`[0,e_0),[e_0,e_1),\dots,[e_m,\infty)`); default the
        sampler's (one per shell for :class:`RadialShells`) or octaves :math:`[2^{k-1},2^k)`.
      quantiles: levels q ∈ (0, 1] of the reported quantiles.

    Returns:
      a :class:`SweepReport`.

    Raises:
      ValueError: before any work, for a sampler dimension ≠ N_0, κ < 0, chunk_size ≤ 0,
        a target or target_grad of the wrong shape, a non-finite target value or gradient
        on the first 16 points (the message gives the point), a mismatched checkpoint;
        during the sweep, for a non-finite target or network value or derivative (the
        message names which, with the point and its index).

    Example:
      >>> net = jrelu.init(jax.random.key(0), (2, 16, 1))
      >>> rep = jrelu.error_sweep(net, lambda x: jnp.sum(x**2), jrelu.RadialShells(2, 1e3),
      ...                         10**5, jax.random.key(1), kappa=2.0)
      >>> rep.sup_value_error, rep.derivative.argmax, rep.to_json()  # doctest: +SKIP
    """
    # ---- validation, before any work --------------------------------------------------
    if not isinstance(net, Network):
        raise TypeError(f"net must be a jrelu.Network, got {type(net).__name__}")
    if not isinstance(sampler, Sampler):
        raise TypeError(f"sampler must be a jrelu Sampler (UniformBox, Gaussian, RadialShells, "
                        f"Halton, TensorGrid, PointSampler or a subclass), got "
                        f"{type(sampler).__name__}; wrap a function of a key with PointSampler")
    if sampler.dim != net.input_dim:
        raise ValueError(f"sampler dimension {sampler.dim} does not match the network input "
                         f"dimension N_0 = {net.input_dim} (widths {net.widths})")
    try:
        kappa = float(kappa)
    except (TypeError, ValueError):
        raise ValueError(f"kappa must be a real number >= 0, got {kappa!r}") from None
    if not (math.isfinite(kappa) and kappa >= 0):
        raise ValueError(f"kappa must be a finite number >= 0, got {kappa!r}")
    if not isinstance(chunk_size, (int, np.integer)) or isinstance(chunk_size, bool) \
            or chunk_size <= 0:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if num_points is None:
        if sampler.size is None:
            raise ValueError("num_points=None is only allowed for a finite sampler (TensorGrid)")
        num_points = sampler.size
    num_points = _check_int("num_points", num_points)
    if sampler.size is not None and num_points > sampler.size:
        raise ValueError(f"num_points = {num_points} exceeds the {sampler.size} points of "
                         f"{type(sampler).__name__}")
    checkpoint_every = _check_int("checkpoint_every", checkpoint_every)
    quantiles = tuple(float(q) for q in quantiles)
    if any(not (0 < q <= 1) for q in quantiles):
        raise ValueError(f"quantiles must lie in (0, 1], got {quantiles}")
    if not isinstance(activation, Activation):
        raise TypeError(f"activation must be a jrelu Activation, got {type(activation).__name__}")
    derivative = bool(derivative)
    dtype = jnp.dtype(net.dtype)
    index_dtype = jnp.int64 if jax.config.jax_enable_x64 else jnp.int32
    if num_points + chunk_size >= np.iinfo(index_dtype).max:
        raise ValueError(f"num_points = {num_points} is too large for {np.dtype(index_dtype)} "
                         "point indices (enable jax_enable_x64)")
    if not (hasattr(key, "dtype") and jnp.issubdtype(key.dtype, jax.dtypes.prng_key)):
        key = jax.random.wrap_key_data(jnp.asarray(key, jnp.uint32))
    if radial_bins is None:
        radial_bins = sampler.radial_edges()
    if radial_bins is None:
        radial_bins = 2.0 ** np.arange(-30, 61)
    r_edges = np.asarray(radial_bins, np.float64)
    if r_edges.ndim != 1 or r_edges.size == 0 or not np.all(np.isfinite(r_edges)) \
            or np.any(r_edges <= 0) or np.any(np.diff(r_edges) <= 0):
        raise ValueError(f"radial_bins must be a non-empty increasing sequence of positive "
                         f"finite edges, got {radial_bins!r}")
    n_shells = len(r_edges) + 1

    scalar_target = _check_target(target, target_grad, net, dtype, derivative)
    mesh = _mesh_of(devices)
    n_dev = 1 if mesh is None else mesh.size
    chunk = -(-min(int(chunk_size), num_points) // n_dev) * n_dev
    num_chunks = -(-num_points // chunk)
    key_impl = str(jax.random.key_impl(key))
    spec = _ChunkSpec(sampler=sampler, target=target, target_grad=target_grad,
                      scalar_target=scalar_target, activation=activation, kappa=kappa,
                      derivative=derivative, chunk=chunk, n0=net.input_dim, nl=net.output_dim,
                      dtype=str(dtype), index_dtype=str(np.dtype(index_dtype)),
                      key_impl=key_impl, mesh=mesh)

    # Probe: f and ∇f at the first points (a small compiled call) before the sweep starts.
    n_probe = min(num_points, 16)
    probe_x, probe_f, probe_g = _probe(spec, np.asarray(jax.random.key_data(key)), n_probe)
    bad = ~np.all(np.isfinite(np.asarray(probe_f)), axis=-1)
    if derivative:
        bad |= ~np.all(np.isfinite(np.asarray(probe_g)), axis=(-2, -1))
    if bad.any():
        _raise_non_finite(spec, net, key, int(np.argmax(bad)))

    fingerprint = {
        "version": 1, "network_sha256": _network_hash(net), "widths": list(net.widths),
        "dtype": str(dtype), "activation": repr(activation), "num_points": num_points,
        "chunk_size": chunk, "kappa": kappa, "derivative": derivative,
        "sampler": _plain(sampler.describe()),
        "key": np.asarray(jax.random.key_data(key)).tolist(),
        "key_impl": key_impl,
        "target_probe_sha256": _array_hash(probe_f, probe_g),
        "points_probe_sha256": _array_hash(probe_x),
        "radial_bins": r_edges.tolist(), "quantiles": list(quantiles),
    }
    state = None
    if checkpoint is not None:
        checkpoint = os.fspath(checkpoint)
        state = _load_checkpoint(checkpoint, fingerprint)

    # ---- running state -------------------------------------------------------------------
    if state is not None:
        next_chunk = int(state["next_chunk"])
        run_v = _Running.from_json(state["value"], n_shells)
        run_d = _Running.from_json(state["derivative"], n_shells) if derivative else None
        shell_count = np.asarray(state["shell_count"], np.int64)
        seconds_before = float(state["seconds"])
    else:
        next_chunk, seconds_before = 0, 0.0
        run_v = _Running(n_shells)
        run_d = _Running(n_shells) if derivative else None
        shell_count = np.zeros(n_shells, np.int64)

    def snapshot(done_chunks: int, seconds: float) -> dict:
        return {"fingerprint": fingerprint, "next_chunk": done_chunks, "seconds": seconds,
                "value": run_v.to_json(),
                "derivative": run_d.to_json() if derivative else None,
                "shell_count": shell_count.tolist()}

    # ---- the compiled chunk function ---------------------------------------------------------
    run_chunk = _compiled_chunk(spec)
    key_data = np.asarray(jax.random.key_data(key))
    n_arg = np.asarray(num_points, index_dtype)
    net_dev = net if mesh is None else jax.device_put(net, NamedSharding(mesh, P()))

    def dispatch(c):
        return run_chunk(net_dev, key_data, np.asarray(c * chunk, index_dtype), n_arg)

    def fetch(out) -> dict:
        if mesh is None:
            return jax.device_get(out)
        return {k: np.asarray(v.addressable_data(0)) for k, v in out.items()}

    # ---- the loop ---------------------------------------------------------------------------
    show = progress if jax.process_index() == 0 else False
    prog = _Progress(show, num_points, min(next_chunk * chunk, num_points))
    t0 = time.perf_counter()
    pending = dispatch(next_chunk) if next_chunk < num_chunks else None
    c = next_chunk
    try:
        while c < num_chunks:
            nxt = dispatch(c + 1) if c + 1 < num_chunks else None
            o = fetch(pending)
            start = c * chunk
            nv = min(chunk, num_points - start)
            if bool(o["bad"]):
                _raise_non_finite(spec, net, key, start + int(o["bad_i"]))
            shells = np.searchsorted(r_edges, np.asarray(o["radius"][:nv], np.float64),
                                     side="right")
            shell_count += np.bincount(shells, minlength=n_shells)
            for name, run in (("v", run_v), ("d", run_d)):
                if run is None:
                    continue
                run.update(start, np.asarray(o[f"{name}_w"][:nv], np.float64),
                           np.asarray(o[f"{name}_raw"][:nv], np.float64),
                           int(o[f"{name}_iw"]), np.asarray(o[f"{name}_xw"], np.float64).tolist(),
                           int(o[f"{name}_ir"]), np.asarray(o[f"{name}_xr"], np.float64).tolist(),
                           shells)
            c += 1
            pending = nxt
            if checkpoint is not None and (c % checkpoint_every == 0 or c == num_chunks):
                _save_checkpoint(checkpoint,
                                 snapshot(c, seconds_before + time.perf_counter() - t0))
            prog.update(min(c * chunk, num_points))
    finally:
        prog.close(min(c * chunk, num_points))
    seconds = seconds_before + time.perf_counter() - t0

    # ---- the report ----------------------------------------------------------------------------
    lows = np.concatenate([[0.0], r_edges])
    highs = np.concatenate([r_edges, [math.inf]])
    profile = tuple(
        RadialShell(r_min=float(lows[j]), r_max=float(highs[j]), count=int(shell_count[j]),
                    value_sup=float(run_v.shell_max[j]),
                    derivative_sup=float(run_d.shell_max[j]) if derivative else None)
        for j in range(n_shells) if shell_count[j] > 0)
    return SweepReport(
        num_points=num_points, kappa=kappa, value=run_v.stats(num_points, quantiles),
        derivative=run_d.stats(num_points, quantiles) if derivative else None,
        radial_profile=profile, seconds=seconds,
        points_per_second=num_points / seconds if seconds > 0 else math.inf,
        chunk_size=chunk, num_chunks=num_chunks, num_devices=n_dev,
        num_processes=jax.process_count(), dtype=str(dtype), sampler=_plain(sampler.describe()))
