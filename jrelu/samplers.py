r"""Samplers: deterministic maps from a PRNG key and global point indices to points.

A sampler is a frozen dataclass with a dimension ``dim`` (:math:`d`). Point :math:`i`
depends only on ``(key, i)``: random samplers draw it from ``jax.random.fold_in(key, i)``,
and :class:`Halton` and :class:`TensorGrid` are functions of :math:`i`. So any range of
indices can be generated on its own, which is what lets :func:`jrelu.error_sweep` evaluate
a sample in chunks, across devices, and resume after an interruption.

Every sampler computes its points in fixed blocks of indices (:func:`sample_block`: 512 on
CPU, 8192 on GPU and TPU), in one compiled program whatever the number of points asked for
(the tail block is padded). So on a given backend a computed point is bitwise the same
whether it is drawn alone or with others, eagerly or under ``jit``, and inside
:func:`jrelu.error_sweep`: ``sampler(key, n)[i]`` is the sweep's point :math:`x_i` (drawn in
the network's dtype).

* ``sampler(key, n, *, dtype=None)``: the points with indices :math:`0,\dots,n-1`, shape
  ``(n, dim)``;
* ``sampler.points(key, index, *, dtype=None)``: the points with the given indices,
  shape ``index.shape + (dim,)`` for a 1-d integer array ``index``.

References:
  Berner, Elbrächter, Grohs, Jentzen (2019),
  `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_ (global weighted error estimates,
  the reason :class:`RadialShells` probes far from the origin).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _checks

__all__ = [
    "Sampler",
    "UniformBox",
    "Gaussian",
    "RadialShells",
    "Halton",
    "TensorGrid",
    "FromFunction",
    "sample_block",
]


def _as_float_tuple(name: str, value, dim: int) -> tuple[float, ...]:
    if isinstance(value, (bool, str, bytes)) or isinstance(value, (list, tuple)) and any(
            isinstance(v, (bool, str, bytes)) for v in value):
        raise TypeError(f"{name} must be a number or an array of shape ({dim},), got "
                        f"{type(value).__name__}: {value!r:.80}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of shape ({dim},), got "
                        f"{type(value).__name__}: {value!r:.80}") from None
    if arr.ndim == 0:
        arr = np.full(dim, float(arr))
    if arr.shape != (dim,):
        raise ValueError(f"{name} must be a number or have shape ({dim},), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {arr.tolist()}")
    return tuple(float(v) for v in arr)


#: Points per sampling block on CPU: large enough that the loop over blocks costs little
#: (blocks of 64 made the sampling of a sweep twice as slow), small enough that a short
#: call (two blocks at least) stays cheap, and half a CPU sweep evaluation block.
SAMPLE_BLOCK = 512
#: Points per sampling block on an accelerator (GPU, TPU): wide enough to fill the device.
ACCELERATOR_SAMPLE_BLOCK = 8192


def sample_block(*, backend: str | None = None) -> int:
    r"""Points per sampling block on ``backend``: every sampler draws its points in blocks of
    this many indices (a fixed shape, so a point's bits do not depend on the batch it is
    drawn in).

    .. math::
        b=\begin{cases}512&\text{CPU}\\8192&\text{GPU, TPU.}\end{cases}

    A call for n points computes :math:`\max(2,\lceil n/b\rceil)` blocks.

    Args:
      backend: (keyword-only) ``"cpu"``, ``"gpu"``, ``"tpu"``, ...; default
        ``jax.default_backend()``.

    Returns:
      the block size b.

    Raises:
      TypeError: ``backend`` is not a string.

    Example:
      >>> jrelu.samplers.sample_block(backend="cpu"), jrelu.samplers.sample_block(backend="gpu")
      (512, 8192)

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    if backend is None:
        backend = jax.default_backend()
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string such as 'cpu', 'gpu' or 'tpu', got "
                        f"{_checks.type_name(backend)}: {backend!r:.80}")
    return SAMPLE_BLOCK if backend == "cpu" else ACCELERATOR_SAMPLE_BLOCK


def _per_point_keys(key, index):
    return jax.vmap(lambda i: jax.random.fold_in(key, i))(index)


def _blocked_points(sampler, key, index, dtype):
    """``sampler._points`` over fixed blocks of :func:`sample_block` indices (``lax.map``,
    at least two blocks, so XLA compiles the block as a loop body of its own in every
    context)."""
    n, b = index.shape[0], sample_block()
    nb = max(2, -(-n // b))
    padded = jnp.concatenate([index, jnp.zeros(nb * b - n, index.dtype)]).reshape(nb, b)
    out = jax.lax.map(lambda ib: sampler._points(key, ib, dtype), padded)
    return out.reshape((nb * b,) + out.shape[2:])[:n]


@functools.partial(jax.jit, static_argnums=(0, 3))
def _jit_points(sampler, key, index, dtype):
    return _blocked_points(sampler, key, index, dtype)


def _check_fits(name: str, values, dtype) -> None:
    """ValueError if a finite float64 parameter overflows the sampling dtype."""
    v = np.asarray(values, np.float64)
    with np.errstate(over="ignore"):
        ok = np.all(np.isfinite(v.astype(dtype)))
    if not ok:
        raise ValueError(f"{name} = {v.tolist()} does not fit in {np.dtype(dtype).name} "
                         f"(largest {float(np.finfo(dtype).max):.4g}); sample in a wider dtype")


def _scaled_norm(v: np.ndarray) -> float:
    """The Euclidean norm of a float64 vector without spurious overflow or underflow
    (``inf`` only if the true norm exceeds the float64 range)."""
    m = float(np.max(np.abs(v))) if v.size else 0.0
    if m == 0:
        return 0.0
    with np.errstate(over="ignore"):
        return float(m * np.sqrt(np.sum((v / m) ** 2)))


@dataclasses.dataclass(frozen=True)
class Sampler:
    r"""Base class of the samplers: a deterministic map (key, global point indices) → points.

    Subclasses implement :meth:`points`; ``sampler(key, n)`` is
    ``sampler.points(key, jnp.arange(n))``. Point :math:`x_i` depends only on
    ``(key, i)``.

    Args:
      dim: the dimension :math:`d` of the points (an integer >= 1).

    Raises:
      TypeError: ``dim`` is not an integer.
      ValueError: ``dim`` < 1.

    Example:
      >>> s = jrelu.samplers.Gaussian(3)
      >>> s(jax.random.key(0), 5).shape, s.points(jax.random.key(0), jnp.array([7, 2])).shape
      ((5, 3), (2, 3))
      >>> s.describe()
      {'sampler': 'Gaussian', 'dim': 3, 'mean': (0.0, 0.0, 0.0), 'std': 1.0}
    """

    dim: int

    #: Number of points the sampler has (a tensor grid), or None if unbounded.
    size = None

    #: False for the deterministic samplers (their points ignore the key; None is fine).
    uses_key: ClassVar[bool] = True

    def __post_init__(self):
        object.__setattr__(self, "dim", _checks.size("dim", self.dim))

    def points(self, key: ArrayLike, index: ArrayLike, *, dtype=None) -> jax.Array:
        r"""The points :math:`x_i` for the global indices ``index``.

        The points are computed in fixed blocks of :func:`sample_block` indices by one
        compiled program, so on a given backend :math:`x_i` is bitwise the same for any
        ``index`` array that contains i, eagerly or under ``jit``.

        Args:
          key: a PRNG key (unused by the deterministic samplers; None is then fine).
          index: integer array, shape ``(n,)``.
          dtype: the float dtype of the points (default: JAX's default float dtype).

        Returns:
          shape ``(n, dim)``.

        Raises:
          TypeError: ``index`` is not an integer array.
          ValueError: ``index`` is not 1-d, or a parameter of the sampler does not fit in
            ``dtype``.
        """
        index = jnp.asarray(index)
        if not jnp.issubdtype(index.dtype, jnp.integer):
            raise TypeError(f"index must be an integer array, got dtype {index.dtype}")
        if index.ndim != 1:
            raise ValueError(f"index must have shape (n,), got shape {index.shape}")
        if self.uses_key:
            _checks.prng_key("key", key)
        dtype = _checks.default_float_dtype(dtype)
        try:
            hash(self)
        except TypeError:  # an unhashable subclass: the same blocks, traced inline
            return _blocked_points(self, key, index, dtype)
        return _jit_points(self, key, index, dtype)

    def _points(self, key, index: jax.Array, dtype) -> jax.Array:
        """What a subclass implements: :meth:`points` with an index array and a dtype."""
        raise NotImplementedError

    def __call__(self, key: ArrayLike, n: int, *, dtype=None) -> jax.Array:
        r"""The points :math:`x_0,\dots,x_{n-1}`, shape ``(n, dim)``.

        Point i is bitwise the point :math:`x_i` of :meth:`points` and of
        :func:`jrelu.error_sweep` (with ``dtype`` the network's), eagerly or under ``jit``.

        Args:
          key: a PRNG key (unused by the deterministic samplers; None is then fine).
          n: the number of points (an integer >= 0).
          dtype: the float dtype of the points (default: JAX's default float dtype).

        Raises:
          TypeError: ``n`` is not an integer.
          ValueError: ``n`` < 0.
        """
        n = _checks.integer("n", n, min=0)
        return self.points(key, jnp.arange(n), dtype=dtype)

    def radial_edges(self) -> np.ndarray | None:
        r"""Default shell edges of :math:`\|x\|_2` for the sweep's radial profile, or None."""
        return None

    def describe(self) -> dict:
        """A JSON-able description (class name and parameters), used in reports and checkpoints."""
        return {"sampler": type(self).__name__, **dataclasses.asdict(self)}


@dataclasses.dataclass(frozen=True)
class UniformBox(Sampler):
    r"""Uniform points on the box :math:`\prod_j[\mathrm{low}_j,\mathrm{high}_j]`.

    .. math::
        x_i=\mathrm{low}+(\mathrm{high}-\mathrm{low})\odot U_i,

    :math:`U_i` uniform on :math:`[0,1)^d`, drawn from ``fold_in(key, i)``.

    Args:
      dim: the dimension d.
      low, high: the corners, scalars or shape ``(dim,)``, with ``low <= high``.

    Raises:
      TypeError: ``dim`` is not an integer or a corner is not numeric.
      ValueError: ``dim`` < 1, a corner of the wrong shape or not finite, or
        ``low > high`` in some coordinate.

    Example:
      >>> x = jrelu.samplers.UniformBox(2, low=-1.0, high=(1.0, 3.0))(jax.random.key(0), 100)
      >>> x.shape, bool(jnp.all(x[:, 1] >= -1.0) & jnp.all(x[:, 1] < 3.0))
      ((100, 2), True)
    """

    _: dataclasses.KW_ONLY
    low: float | tuple = 0.0
    high: float | tuple = 1.0

    def __post_init__(self):
        super().__post_init__()
        lo = _as_float_tuple("low", self.low, self.dim)
        hi = _as_float_tuple("high", self.high, self.dim)
        if any(h < lo_ for lo_, h in zip(lo, hi)):
            raise ValueError(f"low, high: a box needs low <= high in every coordinate, "
                             f"got low={lo}, high={hi}")
        object.__setattr__(self, "low", lo)
        object.__setattr__(self, "high", hi)

    def _points(self, key, index, dtype):
        _check_fits("low, high", self.low + self.high, dtype)
        u = jax.vmap(lambda k: jax.random.uniform(k, (self.dim,), dtype))(
            _per_point_keys(key, index))
        lo, hi = jnp.asarray(self.low, dtype), jnp.asarray(self.high, dtype)
        return lo + (hi - lo) * u

    def radial_edges(self) -> np.ndarray | None:
        r"""13 log-spaced edges from :math:`r/2^{12}` to r, the largest :math:`\|x\|_2` in the
        box (at most the largest float64)."""
        r = _scaled_norm(np.maximum(np.abs(self.low), np.abs(self.high)))
        r = min(r, float(np.finfo(np.float64).max))
        return None if r == 0 else np.geomspace(r / 2**12, r, 13)


@dataclasses.dataclass(frozen=True)
class Gaussian(Sampler):
    r"""Normal points :math:`x_i\sim\mathcal N(\mathrm{mean},\mathrm{std}^2I_d)`.

    .. math::
        x_i=\mathrm{mean}+\mathrm{std}\cdot Z_i,\qquad Z_i\sim\mathcal N(0,I_d)
        \text{ from } \mathrm{fold\_in}(\mathrm{key}, i).

    Args:
      dim: the dimension d.
      mean: a scalar or shape ``(dim,)``.
      std: the standard deviation, > 0.

    Raises:
      TypeError: a parameter of the wrong type.
      ValueError: ``dim`` < 1, ``mean`` of the wrong shape or not finite, ``std <= 0``.

    Example:
      >>> x = jrelu.samplers.Gaussian(2, mean=(5.0, -5.0), std=0.5)(jax.random.key(0), 4000)
      >>> [round(float(m)) for m in x.mean(0)]
      [5, -5]
    """

    _: dataclasses.KW_ONLY
    mean: float | tuple = 0.0
    std: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "mean", _as_float_tuple("mean", self.mean, self.dim))
        object.__setattr__(self, "std", _checks.positive("std", self.std))

    def _points(self, key, index, dtype):
        _check_fits("mean, std", self.mean + (self.std,), dtype)
        z = jax.vmap(lambda k: jax.random.normal(k, (self.dim,), dtype))(
            _per_point_keys(key, index))
        return jnp.asarray(self.mean, dtype) + jnp.asarray(self.std, dtype) * z


@dataclasses.dataclass(frozen=True)
class RadialShells(Sampler):
    r"""Points on spheres of log-spaced radii, so that a global error sweep probes far away.

    With :math:`m` = ``num_shells``, the radii are

    .. math::
        r_j=r_{\min}\,(r_{\max}/r_{\min})^{j/(m-1)},\qquad j=0,\dots,m-1,

    and point :math:`i` is :math:`x_i=r_{i\bmod m}\,Z_i/\|Z_i\|_2` with
    :math:`Z_i\sim\mathcal N(0,I_d)` from ``fold_in(key, i)``: a uniformly distributed
    direction, and every shell gets the same number of points (up to one). The default
    radial profile of a sweep has one bin per shell.

    Args:
      dim: the dimension d.
      r_max: the largest radius, finite and >= ``r_min``.
      num_shells: m >= 1 (m = 1 needs ``r_min == r_max``).
      r_min: the smallest radius, > 0.

    Raises:
      TypeError: a parameter of the wrong type.
      ValueError: ``dim`` < 1, radii not ``0 < r_min <= r_max < inf``, ``num_shells`` < 1,
        or one shell with two different radii.

    Example:
      >>> s = jrelu.samplers.RadialShells(3, r_max=100.0, num_shells=3, r_min=1.0)
      >>> s.radii().tolist()
      [1.0, 10.0, 100.0]
      >>> [round(float(r)) for r in jnp.linalg.norm(s(jax.random.key(0), 4), axis=-1)]
      [1, 10, 100, 1]

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """

    _: dataclasses.KW_ONLY
    r_max: float = 1000.0
    num_shells: int = 16
    r_min: float = 0.01

    def __post_init__(self):
        super().__post_init__()
        r_max = _checks.positive("r_max", self.r_max)
        r_min = _checks.positive("r_min", self.r_min)
        if r_min > r_max:
            raise ValueError(f"r_min must be <= r_max, got r_min={r_min}, r_max={r_max}")
        m = _checks.size("num_shells", self.num_shells)
        if m == 1 and r_min != r_max:
            raise ValueError(f"num_shells = 1 needs r_min == r_max, got r_min={r_min}, "
                             f"r_max={r_max}")
        object.__setattr__(self, "r_max", r_max)
        object.__setattr__(self, "r_min", r_min)
        object.__setattr__(self, "num_shells", m)

    def radii(self) -> np.ndarray:
        r"""The shell radii :math:`r_0<\dots<r_{m-1}` (float64)."""
        return np.geomspace(self.r_min, self.r_max, self.num_shells)

    def _points(self, key, index, dtype):
        radii = self.radii()
        _check_fits("r_max", self.r_max, dtype)
        if np.any(radii.astype(dtype) == 0):
            raise ValueError(f"r_min = {self.r_min} underflows to 0 in {np.dtype(dtype).name}; "
                             "sample in a wider dtype")
        z = jax.vmap(lambda k: jax.random.normal(k, (self.dim,), dtype))(
            _per_point_keys(key, index))
        u = z / jnp.linalg.norm(z, axis=-1, keepdims=True)
        r = jnp.asarray(radii, dtype)[index % self.num_shells]
        return r[:, None] * u

    def radial_edges(self) -> np.ndarray:
        r"""One bin per shell: edges at the geometric means :math:`\sqrt{r_{j-1}}\sqrt{r_j}`
        of neighbouring radii, :math:`r_0/2` and :math:`2r_{m-1}` (an end edge that is not a
        positive finite float64 is left out: its shell then reaches 0 or infinity)."""
        r = self.radii()
        mids = np.sqrt(r[1:]) * np.sqrt(r[:-1])  # no overflow for any float64 radii
        with np.errstate(over="ignore"):
            ends = [r[0] / 2], [r[-1] * 2]
        edges = np.concatenate([ends[0], mids, ends[1]])
        return edges[np.isfinite(edges) & (edges > 0)]


def _first_primes(n: int) -> list[int]:
    primes, c = [], 2
    while len(primes) < n:
        if all(c % p for p in primes if p * p <= c):
            primes.append(c)
        c += 1
    return primes


@dataclasses.dataclass(frozen=True)
class Halton(Sampler):
    r"""The Halton sequence in the box :math:`\prod_j[\mathrm{low}_j,\mathrm{high}_j]`.

    Coordinate j of point i is the radical inverse of :math:`i+1` in the j-th prime base
    :math:`p_j` (the shift by one skips the origin), mapped affinely to the box:

    .. math::
        \phi_p\Bigl(\sum_k a_kp^k\Bigr)=\sum_k a_kp^{-k-1},\qquad
        x_{i,j}=\mathrm{low}_j+(\mathrm{high}_j-\mathrm{low}_j)\,\phi_{p_j}(i+1).

    With ``scramble=True`` the sequence is shifted modulo 1 (Cranley–Patterson rotation)
    by a uniform vector drawn from ``key``; otherwise the key is unused. Halton points are
    well spread for small d; in high d the coordinates of large bases are strongly
    correlated for the first points, so prefer random samplers there.

    Args:
      dim: the dimension d.
      low, high: the corners, scalars or shape ``(dim,)``.
      scramble: apply a random shift from ``key``.

    Raises:
      TypeError: a parameter of the wrong type.
      ValueError: ``dim`` < 1, a corner of the wrong shape or not finite.

    Example:
      >>> jrelu.samplers.Halton(2)(None, 3).tolist()
      [[0.5, 0.333...], [0.25, 0.666...], [0.75, 0.111...]]
    """

    uses_key: ClassVar[bool] = False

    _: dataclasses.KW_ONLY
    low: float | tuple = 0.0
    high: float | tuple = 1.0
    scramble: bool = False

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "low", _as_float_tuple("low", self.low, self.dim))
        object.__setattr__(self, "high", _as_float_tuple("high", self.high, self.dim))
        object.__setattr__(self, "scramble", bool(self.scramble))

    def _points(self, key, index, dtype):
        _check_fits("low, high", self.low + self.high, dtype)
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

    With :math:`m` = ``num_per_axis``, axis j takes the values

    .. math::
        \mathrm{low}_j+k\,h_j,\qquad h_j=\frac{\mathrm{high}_j-\mathrm{low}_j}{m-1},
        \qquad k=0,\dots,m-1

    (m = 1: the midpoint). Point i has the base-m digits of i as its k's, the last axis
    fastest (C order, like ``meshgrid(indexing="ij")`` raveled). :attr:`size` is
    :math:`m^d`, so ``grid(None, grid.size)`` is the whole grid; the key is unused. Dyadic
    ``low``, ``high`` and m − 1 a power of two give exactly representable points.

    Args:
      dim: the dimension d.
      num_per_axis: m >= 1.
      low, high: the corners, scalars or shape ``(dim,)``.

    Raises:
      TypeError: a parameter of the wrong type.
      ValueError: ``dim`` < 1, ``num_per_axis`` < 1, a corner of the wrong shape or not
        finite, or more than :math:`2^{62}` points.

    Example:
      >>> g = jrelu.samplers.TensorGrid(2, num_per_axis=3, low=-1.0, high=1.0)
      >>> g.size, g(None, g.size)[:4].tolist()
      (9, [[-1.0, -1.0], [-1.0, 0.0], [-1.0, 1.0], [0.0, -1.0]])
    """

    uses_key: ClassVar[bool] = False

    _: dataclasses.KW_ONLY
    num_per_axis: int = 2
    low: float | tuple = 0.0
    high: float | tuple = 1.0

    def __post_init__(self):
        super().__post_init__()
        m = _checks.positive_int("num_per_axis", self.num_per_axis)
        object.__setattr__(self, "num_per_axis", m)
        object.__setattr__(self, "low", _as_float_tuple("low", self.low, self.dim))
        object.__setattr__(self, "high", _as_float_tuple("high", self.high, self.dim))
        if self.size > 2**62:
            raise ValueError(f"num_per_axis: a tensor grid with {m}^{self.dim} points is "
                             "too large")

    @property
    def size(self) -> int:
        r"""The number of grid points, :math:`m^d`."""
        return self.num_per_axis**self.dim

    def _points(self, key, index, dtype):
        _check_fits("low, high", self.low + self.high, dtype)
        m = self.num_per_axis
        cap = int(jnp.iinfo(index.dtype).max)  # a divisor > every index gives digit 0 anyway
        div = jnp.asarray([min(m ** (self.dim - 1 - j), cap) for j in range(self.dim)],
                          index.dtype)
        k = (index[:, None] // div) % m
        lo = np.asarray(self.low)
        h = (np.asarray(self.high) - lo) / (m - 1) if m > 1 else np.zeros(self.dim)
        start = lo if m > 1 else (lo + np.asarray(self.high)) / 2
        return jnp.asarray(start, dtype) + k.astype(dtype) * jnp.asarray(h, dtype)


@dataclasses.dataclass(frozen=True)
class FromFunction(Sampler):
    r"""A user-defined random sampler: point i is ``fn(fold_in(key, i))``.

    .. math::
        x_i=\mathrm{fn}\bigl(\mathrm{fold\_in}(\mathrm{key},i)\bigr)\in\mathbb R^d.

    ``fn`` maps one PRNG key to one point of shape ``(dim,)``; it is vmapped, so write it
    in ``jnp``. ``name`` labels the sampler in reports and checkpoints (a sweep
    checkpoint also stores a hash of the first points, so a changed ``fn`` is detected).

    Args:
      dim: the dimension d.
      fn: ``fn(key) -> (dim,)``.
      name: a label for reports.

    Raises:
      TypeError: ``dim`` is not an integer or ``fn`` is not callable.
      ValueError: ``dim`` < 1; when sampling, ``fn`` returns the wrong shape.

    Example:
      >>> s = jrelu.samplers.FromFunction(2, lambda k: jax.random.laplace(k, (2,)), name="laplace")
      >>> s(jax.random.key(0), 5).shape, s.describe()["name"]
      ((5, 2), 'laplace')
    """

    fn: Callable
    _: dataclasses.KW_ONLY
    name: str = ""

    def __post_init__(self):
        super().__post_init__()
        _checks.callable_("fn", self.fn)

    def _points(self, key, index, dtype):
        x = jax.vmap(self.fn)(_per_point_keys(key, index))
        if x.shape != index.shape + (self.dim,):
            raise ValueError(f"fn must return shape ({self.dim},), got {x.shape[1:]}")
        return x.astype(dtype)

    def describe(self) -> dict:
        """A JSON-able description: class name, ``dim``, the name of ``fn`` and ``name``."""
        fn = getattr(self.fn, "__qualname__", type(self.fn).__name__)
        return {"sampler": "FromFunction", "dim": self.dim, "fn": fn, "name": self.name}
