r"""High-dimensional Kolmogorov PDEs with closed forms, and two ReLU-network solvers.

A Kolmogorov PDE with constant-in-time coefficients

.. math::
    \partial_t u(t,x)=\tfrac12\operatorname{Tr}\bigl(\sigma(x)\sigma(x)^{\mathsf T}
    \nabla_x^2u(t,x)\bigr)+\langle\mu(x),\nabla_xu(t,x)\rangle,\qquad u(0,\cdot)=\varphi,

has the Feynman–Kac representation :math:`u(T,x)=\mathbb E[\varphi(X_T^x)]`. Every problem
here has an *exact* sampler of :math:`X_T^x` of the form

.. math::
    X_T^x = s(Z)\odot x + c(Z),\qquad Z\sim\mathcal N(0,I_d),

(additive for the heat equation, multiplicative for Black–Scholes), and closed forms of
:math:`u(T,\cdot)` and :math:`\nabla_xu(T,\cdot)` in every dimension d:

* :class:`HeatSquare` — :math:`\varphi(x)=\|x\|^2`, :math:`\sigma=\sqrt2I`, :math:`\mu=0`:
  :math:`u(T,x)=\|x\|^2+2Td`, :math:`\nabla u(T,x)=2x`.
* :class:`HeatCosine` — :math:`\varphi(x)=\sum_i\cos x_i`, :math:`\sigma=\sqrt2I`:
  since :math:`\mathbb E\cos(a+bZ)=e^{-b^2/2}\cos a`,
  :math:`u(T,x)=e^{-T}\sum_i\cos x_i` and :math:`\nabla u(T,x)=-e^{-T}\sin x`.
* :class:`BlackScholesGeometric` — a call on the geometric average of d correlated
  geometric Brownian motions, closed-form price and delta (see the class docstring).

Every problem has a ``box = (a, b)``: the interval whose cube :math:`[a,b]^d` carries the
training points and the reported relative errors (a pair of corners, as everywhere in
jrelu, here given by the scalars a and b).

Solvers:

* learning (Beck et al.): minimize :math:`\mathbb E[(N(\xi)-\varphi(X_T^\xi))^2]` over
  :math:`\xi\sim\mathcal U([a,b]^d)`, with fresh Feynman–Kac samples every step
  (:func:`feynman_kac_data`, :func:`solve_learning`, using :func:`jrelu.train`);
* constructive: the Monte-Carlo averaging network
  :math:`\frac1n\sum_{i=1}^nR\Phi_\varphi(s_i\odot x+c_i)` built with
  :func:`~jrelu.compose` and :func:`~jrelu.linear_combination`
  (:func:`averaging_network`); by the chain rule its network derivative is exactly
  :math:`\frac1n\sum_iD^N\Phi_\varphi(s_i\odot x+c_i)\operatorname{diag}(s_i)` at every x.

References:
  Beck, Becker, Grohs, Jaafari, Jentzen (2018), *Solving the Kolmogorov PDE by means of
  deep learning*, `arXiv:1806.00421 <https://arxiv.org/abs/1806.00421>`_;
  Berner, Elbrächter, Grohs, Jentzen (2019),
  `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr
from jax.typing import ArrayLike

from . import _checks
from .activations import Activation, ReLU
from .network import Network, compose, linear_combination

__all__ = [
    "Problem",
    "HeatSquare",
    "HeatCosine",
    "BlackScholesGeometric",
    "PROBLEMS",
    "make_problem",
    "feynman_kac_data",
    "solve_learning",
    "path_maps",
    "averaging_network",
    "relative_l2_errors",
    "RelativeL2Errors",
]

_RELU = ReLU()

def _check_points(problem, x, what="x"):
    x = _checks.array(what, x)
    if x.ndim == 0 or x.shape[-1] != problem.dim:
        raise ValueError(f"{what} must have shape ({problem.dim},) or (..., {problem.dim}) for "
                         f"a problem in dimension d = {problem.dim}, got shape {x.shape}")
    return x


def _check_problem(name, problem):
    if not isinstance(problem, Problem):
        raise TypeError(f"{name} must be a jrelu.pde.Problem such as jrelu.pde.HeatSquare(), "
                        f"got {type(problem).__name__}: {problem!r:.80}")
    return problem


def _check_scalar_network(net, problem, what="the network"):
    _checks.network("net", net)
    if net.input_dim != problem.dim or net.output_dim != 1:
        raise ValueError(f"net: {what} must map R^{problem.dim} to R (d = {problem.dim}), got "
                         f"widths {net.widths}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Problem:
    r"""Base class of a Kolmogorov problem with an exact Feynman–Kac sampler.

    .. math::
        \partial_tu=\tfrac12\operatorname{Tr}(\sigma\sigma^{\mathsf T}\nabla_x^2u)
        +\langle\mu,\nabla_xu\rangle,\quad u(0,\cdot)=\varphi,\qquad
        u(t,x)=\mathbb E[\varphi(X_t^x)],\quad X_t^x=s\odot x+c.

    Fields common to all problems (keyword-only): ``dim`` (d ≥ 1), ``T`` (the time
    horizon, > 0) and ``box = (a, b)`` with a < b, the interval whose cube
    :math:`[a,b]^d` carries the learning solver's :math:`\xi` and the reported relative
    errors.

    Subclasses implement :meth:`phi`, :meth:`value` (:math:`u(t,x)` for any t ≥ 0),
    :meth:`value_grad`, :meth:`generator` and ``_scale_shift``; everything else follows.
    All methods take a point ``(d,)`` or a batch ``(..., d)`` and are jit/vmap/grad
    compatible (a problem is hashable, so it can be a static argument).

    Raises:
      TypeError: ``dim`` is not an integer, ``T`` or an end of ``box`` not a number.
      ValueError: ``dim`` < 1, ``T`` ≤ 0 or not finite, ``box`` not a pair with a < b.

    Example:
      >>> p = jrelu.pde.HeatSquare(dim=3, T=0.5, box=(0.0, 1.0))
      >>> (p.dim, p.T, p.box)
      (3, 0.5, (0.0, 1.0))

    References:
      Beck, Becker, Grohs, Jaafari, Jentzen (2018),
      `arXiv:1806.00421 <https://arxiv.org/abs/1806.00421>`_.
    """

    dim: int
    T: float
    box: tuple[float, float]

    def __post_init__(self):
        object.__setattr__(self, "dim", _checks.size("dim", self.dim))
        object.__setattr__(self, "T", _checks.positive("T", self.T))
        try:
            a, b = self.box
        except (TypeError, ValueError):
            raise ValueError(f"box must be a pair (a, b), got {self.box!r}") from None
        a, b = _checks.real("box[0]", a), _checks.real("box[1]", b)
        if not a < b:
            raise ValueError(f"box must have box[0] < box[1], got {(a, b)}")
        object.__setattr__(self, "box", (a, b))

    # -- to implement ------------------------------------------------------------------
    def phi(self, x: ArrayLike) -> jax.Array:
        r"""The initial condition :math:`\varphi(x)`; ``x`` ``(..., d)``, result ``(...,)``."""
        raise NotImplementedError

    def value(self, t, x: ArrayLike) -> jax.Array:
        r""":math:`u(t,x)=\mathbb E[\varphi(X_t^x)]` for a time t ≥ 0; shape ``(...,)``."""
        raise NotImplementedError

    def value_grad(self, t, x: ArrayLike) -> jax.Array:
        r""":math:`\nabla_xu(t,x)` for a time t ≥ 0; shape ``(..., d)``."""
        raise NotImplementedError

    def _scale_shift(self, t, z):
        raise NotImplementedError

    def generator(self, x: ArrayLike):
        r"""The coefficients :math:`(\mu(x),\sigma(x))` of the generator, shapes ``(d,)``
        and ``(d, d)``, for a single point ``x`` of shape ``(d,)`` (to check the PDE)."""
        raise NotImplementedError

    # -- derived -----------------------------------------------------------------------
    def solution(self, x: ArrayLike) -> jax.Array:
        r""":math:`u(T,x)`; ``x`` shape ``(d,)`` or ``(..., d)``, result ``(...,)``.

        Raises ValueError if the last axis of ``x`` is not d.
        """
        return self.value(self.T, _check_points(self, x))

    def solution_grad(self, x: ArrayLike) -> jax.Array:
        r""":math:`\nabla_xu(T,x)`; ``x`` shape ``(d,)`` or ``(..., d)``, result ``(..., d)``."""
        return self.value_grad(self.T, _check_points(self, x))

    def scale_shift(self, z: ArrayLike, *, t=None):
        r"""The maps of Feynman–Kac paths: :math:`X_t^x=s\odot x+c` for the standard normal
        draws ``z`` (shape ``(..., d)``); returns ``(s, c)``, each shaped like ``z``.

        ``t`` defaults to the horizon T.
        """
        return self._scale_shift(self.T if t is None else t, jnp.asarray(z))

    def terminal(self, x: ArrayLike, *, key) -> jax.Array:
        r"""Exact samples of :math:`X_T^x=s(Z)\odot x+c(Z)`, one independent path per point.

        ``x`` has shape ``(d,)`` or ``(..., d)``; ``key`` is a PRNG key; ``Z`` is drawn
        with ``jax.random.normal(key, x.shape)``. Returns an array shaped like ``x``.
        TypeError if ``key`` is not a PRNG key.
        """
        x = _check_points(self, x)
        _checks.prng_key("key", key)
        z = jax.random.normal(key, x.shape, x.dtype)
        s, c = self.scale_shift(z)
        return s * x + c

    def sample_box(self, key, n: int, *, dtype=None) -> jax.Array:
        r""":math:`n` points uniform on :math:`[a,b]^d`, shape ``(n, d)``.

        ``dtype`` defaults to JAX's default float dtype. TypeError if ``key`` is not a PRNG
        key or ``n`` not an integer; ValueError if ``n`` < 1.
        """
        _checks.prng_key("key", key)
        n = _checks.size("n", n)
        dtype = _checks.default_float_dtype(dtype)
        a, b = self.box
        return jax.random.uniform(key, (n, self.dim), dtype, a, b)


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Heat(Problem):
    r"""Heat equations :math:`\partial_tu=\Delta u`: :math:`\mu=0`, :math:`\sigma=\sqrt2I`,
    so :math:`X_t^x=x+\sqrt{2t}Z`."""

    def _scale_shift(self, t, z):
        return jnp.ones_like(z), jnp.sqrt(2.0 * t) * z

    def generator(self, x: ArrayLike):
        r""":math:`\mu(x)=0` and :math:`\sigma(x)=\sqrt2I`, shapes ``(d,)`` and ``(d, d)``."""
        d = self.dim
        return jnp.zeros(d, x.dtype), jnp.sqrt(2.0) * jnp.eye(d, dtype=x.dtype)


@dataclasses.dataclass(frozen=True, kw_only=True)
class HeatSquare(_Heat):
    r"""Heat equation :math:`\partial_tu=\Delta u` with :math:`\varphi(x)=\|x\|^2`.

    :math:`\sigma=\sqrt2I`, :math:`\mu=0` and :math:`X_t^x=x+\sqrt{2t}Z`, so

    .. math::
        u(t,x)=\mathbb E\|x+\sqrt{2t}Z\|^2=\|x\|^2+2td,\qquad \nabla_xu(t,x)=2x.

    Args:
      dim: d ≥ 1 (default 10).
      T: the time horizon, > 0 (default 1).
      box: ``(a, b)`` with a < b (default ``(0, 1)``).

    Raises:
      TypeError, ValueError: as :class:`Problem`.

    Example:
      >>> p = jrelu.pde.HeatSquare(dim=3, T=0.5)
      >>> float(p.solution(jnp.array([0.5, -1.0, 2.0])))  # 0.25 + 1 + 4 + 2·0.5·3
      8.25
      >>> p.solution_grad(jnp.array([0.5, -1.0, 2.0])).tolist()
      [1.0, -2.0, 4.0]

    References:
      Beck, Becker, Grohs, Jaafari, Jentzen (2018),
      `arXiv:1806.00421 <https://arxiv.org/abs/1806.00421>`_.
    """

    dim: int = 10
    T: float = 1.0
    box: tuple[float, float] = (0.0, 1.0)
    name = "heat_square"

    def phi(self, x: ArrayLike) -> jax.Array:
        r""":math:`\varphi(x)=\|x\|^2`; shape ``(...,)``."""
        x = _check_points(self, x)
        return jnp.sum(x * x, axis=-1)

    def value(self, t, x: ArrayLike) -> jax.Array:
        r""":math:`u(t,x)=\|x\|^2+2td`; shape ``(...,)``."""
        return jnp.sum(x * x, axis=-1) + 2.0 * t * self.dim

    def value_grad(self, t, x: ArrayLike) -> jax.Array:
        r""":math:`\nabla_xu(t,x)=2x`; shape ``(..., d)``."""
        return 2.0 * x


@dataclasses.dataclass(frozen=True, kw_only=True)
class HeatCosine(_Heat):
    r"""Heat equation :math:`\partial_tu=\Delta u` with :math:`\varphi(x)=\sum_{i=1}^d\cos x_i`.

    With :math:`X_t^x=x+\sqrt{2t}Z` and :math:`\mathbb E\cos(a+bZ)=e^{-b^2/2}\cos a`
    (the real part of :math:`e^{ia}\mathbb Ee^{ibZ}`),

    .. math::
        u(t,x)=e^{-t}\sum_i\cos x_i,\qquad \nabla_xu(t,x)=-e^{-t}\sin x.

    (Indeed :math:`\partial_tu=-u=\Delta u`.) φ and u are bounded, so the Feynman–Kac
    targets have bounded noise, and the solution is not a polynomial.

    Args:
      dim: d ≥ 1 (default 10).
      T: the time horizon, > 0 (default 1).
      box: ``(a, b)`` with a < b (default ``(-π, π)``).

    Raises:
      TypeError, ValueError: as :class:`Problem`.

    Example:
      >>> p = jrelu.pde.HeatCosine(dim=2, T=1.0)
      >>> round(float(p.solution(jnp.zeros(2))), 6)  # 2 e^{-1}
      0.735759

    References:
      Beck, Becker, Grohs, Jaafari, Jentzen (2018),
      `arXiv:1806.00421 <https://arxiv.org/abs/1806.00421>`_.
    """

    dim: int = 10
    T: float = 1.0
    box: tuple[float, float] = (-math.pi, math.pi)
    name = "heat_cosine"

    def phi(self, x: ArrayLike) -> jax.Array:
        r""":math:`\varphi(x)=\sum_i\cos x_i`; shape ``(...,)``."""
        x = _check_points(self, x)
        return jnp.sum(jnp.cos(x), axis=-1)

    def value(self, t, x: ArrayLike) -> jax.Array:
        r""":math:`u(t,x)=e^{-t}\sum_i\cos x_i`; shape ``(...,)``."""
        return jnp.exp(-t) * jnp.sum(jnp.cos(x), axis=-1)

    def value_grad(self, t, x: ArrayLike) -> jax.Array:
        r""":math:`\nabla_xu(t,x)=-e^{-t}\sin x`; shape ``(..., d)``."""
        return -jnp.exp(-t) * jnp.sin(x)


@dataclasses.dataclass(frozen=True, kw_only=True)
class BlackScholesGeometric(Problem):
    r"""Black–Scholes model with a call on the geometric average of d correlated assets.

    Prices :math:`x\in(0,\infty)^d` follow
    :math:`dX^i=rX^i\,dt+\sigma_iX^i\,dW^i` with :math:`d\langle W^i,W^j\rangle=\rho_{ij}dt`,
    i.e. :math:`\mu(x)=rx`, :math:`\sigma(x)=\operatorname{diag}(x)L` where
    :math:`LL^{\mathsf T}=\Sigma`, :math:`\Sigma_{ij}=\sigma_i\sigma_j\rho_{ij}`. Exact sampler:

    .. math::
        X_t^{x,i}=x_i\exp\bigl((r-\tfrac12\sigma_i^2)t+\sqrt t\,(LZ)_i\bigr).

    The payoff is discounted at the fixed maturity T:
    :math:`\varphi(x)=e^{-rT}\max(G(x)-K,0)` with :math:`G(x)=(\prod_ix_i)^{1/d}`, so
    :math:`u(T,x)=\mathbb E[\varphi(X_T^x)]` is the option price (Beck et al.'s convention;
    :math:`u(t,\cdot)` solves the Kolmogorov PDE with the generator above and
    :math:`u(0,\cdot)=\varphi`).

    **Closed form.** :math:`\log G(X_t^x)` is Gaussian (a linear function of Z) with mean
    :math:`m_t=\frac1d\sum_i\log x_i+(r-\frac1{2d}\sum_i\sigma_i^2)t` and variance
    :math:`v_t=\frac t{d^2}\mathbf 1^{\mathsf T}\Sigma\mathbf 1`. With
    :math:`d_2=(m_t-\log K)/\sqrt{v_t}`, :math:`d_1=d_2+\sqrt{v_t}` and Φ the normal cdf,

    .. math::
        u(t,x)=e^{-rT}\bigl(e^{m_t+v_t/2}\Phi(d_1)-K\Phi(d_2)\bigr),\qquad
        \frac{\partial u}{\partial x_j}(t,x)=e^{-rT}e^{m_t+v_t/2}\Phi(d_1)\,\frac1{d\,x_j},

    since :math:`\partial_m\mathbb E[(e^Y-K)^+]=\mathbb E[e^Y\mathbf 1_{Y>\log K}]
    =e^{m+v/2}\Phi(d_1)` for :math:`Y\sim\mathcal N(m,v)`, and
    :math:`\partial m_t/\partial x_j=1/(dx_j)`. For d = 1 this is the Black–Scholes call.

    Args:
      dim: d ≥ 1 (default 10).
      T: the maturity, > 0 (default 1).
      box: ``(a, b)`` with 0 < a < b (default ``(90, 110)``).
      rate: r (default 0.05).
      volatility: :math:`\sigma_i > 0`, one number (all equal) or d numbers (default 0.2).
      correlation: :math:`\rho`, one number (all pairwise correlations equal, which needs
        :math:`-1/(d-1)<\rho<1`) or a d×d symmetric positive definite matrix with unit
        diagonal (default 0).
      strike: K > 0 (default 100).

    Raises:
      TypeError: a parameter of the wrong type.
      ValueError: as :class:`Problem`; a box reaching 0 or below; a volatility or strike
        ≤ 0; a correlation outside the range above, or a matrix that is not a
        correlation matrix; d volatilities expected.

    Example:
      >>> p = jrelu.pde.BlackScholesGeometric(dim=1, T=0.75, rate=0.04, volatility=0.3,
      ...                                     strike=95.0)
      >>> round(float(p.solution(jnp.array([95.0]))), 2)  # the Black–Scholes call
      11.14

    References:
      Beck, Becker, Grohs, Jaafari, Jentzen (2018),
      `arXiv:1806.00421 <https://arxiv.org/abs/1806.00421>`_.
    """

    dim: int = 10
    T: float = 1.0
    box: tuple[float, float] = (90.0, 110.0)
    rate: float = 0.05
    volatility: float | tuple[float, ...] = 0.2
    correlation: float | tuple[tuple[float, ...], ...] = 0.0
    strike: float = 100.0
    name = "black_scholes_geometric"

    def __post_init__(self):
        super().__post_init__()
        d = self.dim
        if self.box[0] <= 0:
            raise ValueError(f"box must lie in (0, ∞) for asset prices, got {self.box}")
        object.__setattr__(self, "rate", _checks.real("rate", self.rate))
        object.__setattr__(self, "strike", _checks.positive("strike", self.strike))
        vol = self.volatility
        if np.ndim(vol) == 0:
            vol = _checks.positive("volatility", vol)
        else:
            vol = tuple(_checks.positive(f"volatility[{i}]", v) for i, v in enumerate(vol))
            if len(vol) != d:
                raise ValueError(f"volatility must be one number or {d} numbers (d = {d}), "
                                 f"got {len(vol)}")
        object.__setattr__(self, "volatility", vol)
        rho = self.correlation
        if np.ndim(rho) == 0:
            rho = _checks.real("correlation", rho)
            lo = -1.0 / (d - 1) if d > 1 else -math.inf
            if not lo < rho < 1.0 and not (d == 1):
                raise ValueError(f"correlation ρ = {rho} must satisfy {lo:.6g} < ρ < 1 for an "
                                 f"equicorrelation matrix in dimension d = {d} to be positive "
                                 "definite")
        else:
            mat = np.asarray(rho, dtype=np.float64)
            if mat.shape != (d, d):
                raise ValueError(f"correlation must be a number or a {d}×{d} matrix, got shape "
                                 f"{mat.shape}")
            if not np.all(np.isfinite(mat)) or not np.allclose(mat, mat.T, atol=0, rtol=0) \
                    or not np.all(np.diag(mat) == 1.0):
                raise ValueError("correlation matrix must be finite, symmetric, with unit diagonal")
            if np.linalg.eigvalsh(mat).min() <= 0:
                raise ValueError("correlation matrix must be positive definite")
            rho = tuple(tuple(float(v) for v in row) for row in mat)
        object.__setattr__(self, "correlation", rho)

    # -- model data --------------------------------------------------------------------
    def vols(self, *, dtype=None) -> jax.Array:
        r""":math:`(\sigma_1,\dots,\sigma_d)`, shape ``(d,)``."""
        dtype = _checks.default_float_dtype(dtype)
        return jnp.broadcast_to(jnp.asarray(self.volatility, dtype), (self.dim,))

    def correlation_matrix(self, *, dtype=None) -> jax.Array:
        r""":math:`\rho`, shape ``(d, d)``."""
        dtype = _checks.default_float_dtype(dtype)
        if np.ndim(self.correlation) == 0:
            d = self.dim
            return (jnp.full((d, d), self.correlation, dtype)
                    + (1.0 - self.correlation) * jnp.eye(d, dtype=dtype))
        return jnp.asarray(self.correlation, dtype)

    def cholesky(self, *, dtype=None) -> jax.Array:
        r"""L with :math:`LL^{\mathsf T}=\Sigma=\operatorname{diag}(\sigma)\rho
        \operatorname{diag}(\sigma)`, lower triangular, shape ``(d, d)``."""
        s = self.vols(dtype=dtype)
        cov = s[:, None] * self.correlation_matrix(dtype=dtype) * s[None, :]
        return jnp.linalg.cholesky(cov)

    def _moments(self, t, x):
        d = self.dim
        s = self.vols(dtype=x.dtype)
        cov = s[:, None] * self.correlation_matrix(dtype=x.dtype) * s[None, :]
        m = jnp.mean(jnp.log(x), axis=-1) + (self.rate - 0.5 * jnp.mean(s * s)) * t
        v = t * jnp.sum(cov) / d**2
        return m, v

    def phi(self, x: ArrayLike) -> jax.Array:
        r""":math:`\varphi(x)=e^{-rT}\max(G(x)-K,0)`; shape ``(...,)``."""
        x = _check_points(self, x)
        g = jnp.exp(jnp.mean(jnp.log(x), axis=-1))
        return jnp.exp(-self.rate * self.T) * jnp.maximum(g - self.strike, 0.0)

    def value(self, t, x: ArrayLike) -> jax.Array:
        r""":math:`u(t,x)=e^{-rT}(e^{m_t+v_t/2}\Phi(d_1)-K\Phi(d_2))`; shape ``(...,)``."""
        m, v = self._moments(t, x)
        sv = jnp.sqrt(v)
        d2 = (m - jnp.log(self.strike)) / sv
        d1 = d2 + sv
        return jnp.exp(-self.rate * self.T) * (jnp.exp(m + 0.5 * v) * ndtr(d1)
                                               - self.strike * ndtr(d2))

    def value_grad(self, t, x: ArrayLike) -> jax.Array:
        r""":math:`\partial_{x_j}u(t,x)=e^{-rT}e^{m_t+v_t/2}\Phi(d_1)/(dx_j)`; shape
        ``(..., d)``."""
        m, v = self._moments(t, x)
        sv = jnp.sqrt(v)
        d1 = (m - jnp.log(self.strike)) / sv + sv
        scale = jnp.exp(-self.rate * self.T) * jnp.exp(m + 0.5 * v) * ndtr(d1)
        return scale[..., None] / (self.dim * x)

    def _scale_shift(self, t, z):
        s = self.vols(dtype=z.dtype)
        w = z @ self.cholesky(dtype=z.dtype).T
        return jnp.exp((self.rate - 0.5 * s * s) * t + jnp.sqrt(t) * w), jnp.zeros_like(z)

    def generator(self, x: ArrayLike):
        r""":math:`\mu(x)=rx` and :math:`\sigma(x)=\operatorname{diag}(x)L`, shapes ``(d,)``
        and ``(d, d)``."""
        return self.rate * x, x[:, None] * self.cholesky(dtype=x.dtype)


#: The problems by name (the ``problem.name`` of a ``jrelu run`` config).
PROBLEMS: dict[str, type[Problem]] = {
    "heat_square": HeatSquare,
    "heat_cosine": HeatCosine,
    "black_scholes_geometric": BlackScholesGeometric,
}


def make_problem(name: str, **params) -> Problem:
    r"""The problem called ``name`` (a key of :data:`PROBLEMS`) with the given fields.

    .. math::
        \text{name}\mapsto\bigl(\varphi,\mu,\sigma\bigr)\ \text{of}\quad
        \partial_tu=\tfrac12\operatorname{Tr}(\sigma\sigma^{\mathsf T}\nabla_x^2u)
        +\langle\mu,\nabla_xu\rangle.

    Args:
      name: ``"heat_square"``, ``"heat_cosine"`` or ``"black_scholes_geometric"``.
      **params: the problem's fields (``dim``, ``T``, ``box``, ...), by keyword.

    Returns:
      the :class:`Problem`.

    Raises:
      ValueError: an unknown name or parameter, or an invalid value.
      TypeError: a parameter of the wrong type.

    Example:
      >>> jrelu.pde.make_problem("heat_square", dim=4, T=0.5)
      HeatSquare(dim=4, T=0.5, box=(0.0, 1.0))

    References:
      Beck, Becker, Grohs, Jaafari, Jentzen (2018),
      `arXiv:1806.00421 <https://arxiv.org/abs/1806.00421>`_.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a problem name (a string), one of {sorted(PROBLEMS)}, "
                        f"got {type(name).__name__}: {name!r:.80}")
    if name not in PROBLEMS:
        raise ValueError(f"name must be one of {sorted(PROBLEMS)}: unknown problem {name!r}")
    cls = PROBLEMS[name]
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - fields)
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} for problem {name!r}; "
                         f"allowed: {sorted(fields)}")
    return cls(**params)


# -- learning solver ------------------------------------------------------------------------


def feynman_kac_data(problem: Problem, *, dtype=None) -> Callable:
    r"""The Beck et al. data stream ``data(key, batch_size) -> (xi, y)``.

    .. math::
        \xi\sim\mathcal U([a,b]^d),\qquad y=\varphi(X_T^\xi),\qquad
        \operatorname*{arg\,min}_N\mathbb E[(N(\xi)-y)^2]=\mathbb E[\varphi(X_T^\xi)\mid\xi]
        =u(T,\xi),

    with one fresh Feynman–Kac path per point. Pure and jit-traceable. The same
    ``(problem, dtype)`` returns the same function object, so :func:`jrelu.train` reuses
    its compiled program across training segments.

    Args:
      problem: the :class:`Problem`.
      dtype: the float dtype of the samples (default: JAX's default float dtype).

    Returns:
      ``data(key, batch_size)`` returning ``xi`` of shape ``(batch_size, d)`` and ``y`` of
      shape ``(batch_size, 1)``.

    Raises:
      TypeError: ``problem`` is not a :class:`Problem`, or ``dtype`` not a float dtype.

    Example:
      >>> p = jrelu.pde.HeatSquare(dim=3, T=0.1)
      >>> xi, y = jrelu.pde.feynman_kac_data(p)(jax.random.key(0), 8)
      >>> xi.shape, y.shape
      ((8, 3), (8, 1))

    References:
      Beck, Becker, Grohs, Jaafari, Jentzen (2018),
      `arXiv:1806.00421 <https://arxiv.org/abs/1806.00421>`_.
    """
    _check_problem("problem", problem)
    return _feynman_kac_data(problem, _checks.default_float_dtype(dtype))


@functools.lru_cache(maxsize=64)
def _feynman_kac_data(problem: Problem, dtype) -> Callable:
    def data(key, batch_size):
        k_xi, k_path = jax.random.split(key)
        xi = problem.sample_box(k_xi, batch_size, dtype=dtype)
        y = problem.phi(problem.terminal(xi, key=k_path))
        return xi, y[:, None]

    return data


def solve_learning(problem: Problem, net: Network, *, optimizer, steps: int, batch_size: int,
                   key, activation: Activation = _RELU, count_kinks: bool = True,
                   opt_state=None, start_step: int = 0):
    r"""Train ``net`` on :func:`feynman_kac_data` with :func:`jrelu.train` (MSE loss).

    .. math::
        \min_\theta\ \mathbb E\bigl[(R\Phi_\theta(\xi)-\varphi(X_T^\xi))^2\bigr],
        \qquad \xi\sim\mathcal U([a,b]^d),

    by steps of ``optimizer`` on ``batch_size`` fresh samples each; step i uses
    ``fold_in(key, start_step + i)``, so a run split into segments (passing the returned
    ``history.opt_state`` and ``start_step``) reproduces the unsplit run bit for bit.

    Args:
      problem: the :class:`Problem`.
      net: the initial network, widths ``(d, ..., 1)``; its dtype is the training dtype.
      optimizer: an ``optax.GradientTransformation``.
      steps: the number of steps, ≥ 1.
      batch_size: samples per step, ≥ 1.
      key: a PRNG key.
      activation: ϱ (default ``ReLU()``).
      count_kinks: record per step how many pre-activations sit exactly at a kink.
      opt_state: optimizer state to continue from (default ``optimizer.init(net)``).
      start_step: the global index of the first step.

    Returns:
      ``(net, history)``: the trained network and its :class:`jrelu.TrainHistory`.

    Raises:
      TypeError: ``problem`` is not a :class:`Problem` or ``net`` not a Network.
      ValueError: the network does not map :math:`\mathbb R^d` to :math:`\mathbb R`, or
        an invalid ``steps``/``batch_size``/``start_step``.

    Example:
      >>> import optax
      >>> p = jrelu.pde.HeatSquare(dim=2, T=0.1)
      >>> net0 = jrelu.init(jax.random.key(0), (2, 8, 1))
      >>> net, hist = jrelu.pde.solve_learning(p, net0, optimizer=optax.adam(1e-2), steps=5,
      ...                                      batch_size=16, key=jax.random.key(1))
      >>> hist.loss.shape
      (5,)

    References:
      Beck, Becker, Grohs, Jaafari, Jentzen (2018),
      `arXiv:1806.00421 <https://arxiv.org/abs/1806.00421>`_.
    """
    from .train import train

    _check_problem("problem", problem)
    _check_scalar_network(net, problem)
    data = feynman_kac_data(problem, dtype=net.dtype)
    return train(net, data, optimizer=optimizer, steps=steps, batch_size=batch_size, key=key,
                 loss="mse", activation=activation, count_kinks=count_kinks,
                 opt_state=opt_state, start_step=start_step)


# -- constructive solver --------------------------------------------------------------------


def path_maps(problem: Problem, n: int, *, key, dtype=None):
    r"""n Feynman–Kac paths as affine maps :math:`x\mapsto s_i\odot x+c_i`.

    .. math::
        X_T^{x,(i)}=s_i\odot x+c_i,\quad (s_i,c_i)=\text{the maps of }Z_i\sim\mathcal
        N(0,I_d),\qquad \frac1n\sum_{i=1}^n\varphi(s_i\odot x+c_i)\approx u(T,x).

    The same paths serve every x (common random numbers), so the average is an unbiased
    estimate of :math:`u(T,x)` that is a deterministic function of x.

    Args:
      problem: the :class:`Problem`.
      n: the number of paths, ≥ 1.
      key: a PRNG key.
      dtype: float dtype (default: JAX's default float dtype).

    Returns:
      ``(s, c)``, each of shape ``(n, d)``.

    Raises:
      TypeError: ``n`` not an integer or ``problem`` not a :class:`Problem`.
      ValueError: ``n`` < 1.

    Example:
      >>> s, c = jrelu.pde.path_maps(jrelu.pde.HeatSquare(dim=3), 4, key=jax.random.key(0))
      >>> s.shape, c.shape, bool((s == 1).all())
      ((4, 3), (4, 3), True)

    References:
      Beck, Becker, Grohs, Jaafari, Jentzen (2018),
      `arXiv:1806.00421 <https://arxiv.org/abs/1806.00421>`_.
    """
    _check_problem("problem", problem)
    n = _checks.size("n", n)
    _checks.prng_key("key", key)
    dtype = _checks.default_float_dtype(dtype)
    z = jax.random.normal(key, (n, problem.dim), dtype)
    return problem.scale_shift(z)


def averaging_network(phi_net: Network, scales: ArrayLike, shifts: ArrayLike) -> Network:
    r"""The Monte-Carlo averaging network :math:`\frac1n\sum_{i=1}^nR\Phi_\varphi(s_i\odot x+c_i)`.

    Built as :func:`~jrelu.linear_combination` with coefficients 1/n of the compositions
    :math:`\Phi_\varphi\circ((\operatorname{diag}s_i,c_i))`. By the chain rule for network
    derivatives (exact at every x) and the parallelization rule,

    .. math::
        D^N\Bigl(\tfrac1n\textstyle\sum_i\Phi_\varphi\circ W_i\Bigr)(x)
        =\tfrac1n\textstyle\sum_iD^N\Phi_\varphi(s_i\odot x+c_i)\operatorname{diag}(s_i),

    so if :math:`\Phi_\varphi` approximates φ in :math:`W^{1,\infty}`, the network
    approximates u(T,·) and its D^N approximates ∇u(T,·) (the delta).

    Args:
      phi_net: :math:`\Phi_\varphi`, widths ``(d, ..., 1)``.
      scales: :math:`s_i`, shape ``(n, d)``, e.g. from :func:`path_maps`.
      shifts: :math:`c_i`, shape ``(n, d)``.

    Returns:
      a network of widths ``(d, n·N_1, ..., n·N_{L-1}, 1)``; its matrices are dense
      (block-diagonal after the first layer), so memory grows like :math:`n^2`.

    Raises:
      TypeError: ``phi_net`` is not a Network.
      ValueError: ``scales`` and ``shifts`` are not both of shape ``(n, d)``.

    Example:
      >>> phi = jrelu.init(jax.random.key(0), (3, 4, 1))
      >>> s, c = jrelu.pde.path_maps(jrelu.pde.HeatSquare(dim=3), 2, key=jax.random.key(1))
      >>> jrelu.pde.averaging_network(phi, s, c).widths
      (3, 8, 1)

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_;
      Beck, Becker, Grohs, Jaafari, Jentzen (2018),
      `arXiv:1806.00421 <https://arxiv.org/abs/1806.00421>`_.
    """
    _checks.network("phi_net", phi_net)
    scales, shifts = _checks.array("scales", scales), _checks.array("shifts", shifts)
    d = phi_net.input_dim
    if scales.ndim != 2 or scales.shape[1] != d or shifts.shape != scales.shape:
        raise ValueError(f"scales and shifts must both have shape (n, {d}) for a network with "
                         f"N_0 = {d}, got {scales.shape} and {shifts.shape}")
    dtype = jnp.result_type(phi_net.dtype, scales.dtype, shifts.dtype)
    n = scales.shape[0]
    nets = [compose(phi_net, Network([(jnp.diag(s.astype(dtype)), c.astype(dtype))]))
            for s, c in zip(scales, shifts)]
    return linear_combination(jnp.full((n,), 1.0 / n, dtype), nets)


# -- evaluation -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RelativeL2Errors:
    r"""Relative :math:`L^2` and maximum absolute errors of a network against u(T,·).

    Fields: ``value_rel_l2`` (:math:`e_u`), ``grad_rel_l2`` (:math:`e_{\nabla u}`),
    ``value_max_abs`` (:math:`\max_j|R\Phi(x_j)-u(T,x_j)|`), ``grad_max_abs``
    (:math:`\max_j\|D^N\Phi(x_j)-\nabla u(T,x_j)\|`) and ``points`` (the sample size);
    see :func:`relative_l2_errors`.
    """

    value_rel_l2: float
    grad_rel_l2: float
    value_max_abs: float
    grad_max_abs: float
    points: int

    def to_dict(self) -> dict:
        """The fields as a JSON-able dict."""
        return dataclasses.asdict(self)


@functools.partial(jax.jit, static_argnames=("problem", "activation"))
def _error_sums(net, x, problem, activation):
    from .sweep import pointwise_errors

    u, gu = problem.solution(x), problem.solution_grad(x)
    err = pointwise_errors(net, problem.solution, x, target_grad=problem.solution_grad,
                           activation=activation)
    ev, eg = err.value_error, err.derivative_error
    return (jnp.sum(ev**2), jnp.sum(u**2), jnp.sum(eg**2), jnp.sum(gu**2),
            jnp.max(ev), jnp.max(eg))


def relative_l2_errors(net: Network, problem: Problem, x: ArrayLike, *,
                       activation: Activation = _RELU,
                       chunk_size: int = 8192) -> RelativeL2Errors:
    r"""Relative :math:`L^2` errors of ``net`` against :math:`u(T,\cdot)` and its gradient.

    On the sample :math:`x_1,\dots,x_n`:

    .. math::
        e_u=\Bigl(\frac{\sum_j(R\Phi(x_j)-u(T,x_j))^2}{\sum_ju(T,x_j)^2}\Bigr)^{1/2},\quad
        e_{\nabla u}=\Bigl(\frac{\sum_j\|D^N\Phi(x_j)-\nabla u(T,x_j)\|^2}
        {\sum_j\|\nabla u(T,x_j)\|^2}\Bigr)^{1/2}.

    With ``x`` uniform on the box (:meth:`Problem.sample_box`) these are Monte-Carlo
    estimates of the relative :math:`L^2(\mathcal U([a,b]^d))` errors. The maximum
    absolute errors on the sample come along. The pointwise errors are those of
    :func:`jrelu.sweep.pointwise_errors` (one forward pass for value and derivative),
    evaluated in chunks of ``chunk_size`` points and summed in float64.

    Args:
      net: the network, widths ``(d, ..., 1)``.
      problem: the :class:`Problem`.
      x: the sample, shape ``(n, d)``.
      activation: ϱ (default ``ReLU()``).
      chunk_size: points per compiled evaluation, ≥ 1.

    Returns:
      a :class:`RelativeL2Errors`.

    Raises:
      TypeError: ``net`` is not a Network or ``problem`` not a :class:`Problem`.
      ValueError: ``x`` is not of shape ``(n, d)``, the network does not map
        :math:`\mathbb R^d` to :math:`\mathbb R`, or ``chunk_size`` < 1.

    Example:
      >>> p = jrelu.pde.HeatSquare(dim=2, T=0.5)
      >>> net = jrelu.Network([(jnp.array([[1.0, 1.0]]), jnp.array([2.0]))])
      >>> e = jrelu.pde.relative_l2_errors(net, p, jnp.array([[0.0, 0.0], [1.0, 0.0]]))
      >>> e.points, round(e.value_rel_l2, 6), round(e.grad_max_abs**2, 6)
      (2, 0.0, 2.0)

    References:
      Beck, Becker, Grohs, Jaafari, Jentzen (2018),
      `arXiv:1806.00421 <https://arxiv.org/abs/1806.00421>`_.
    """
    _check_problem("problem", problem)
    x = _check_points(problem, x, "x")
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n, {problem.dim}), got {x.shape}")
    _check_scalar_network(net, problem)
    _checks.activation("activation", activation)
    chunk_size = _checks.positive_int("chunk_size", chunk_size)

    acc = np.zeros(6)
    for i in range(0, x.shape[0], chunk_size):
        part = np.asarray(jax.device_get(_error_sums(net, x[i:i + chunk_size], problem,
                                                     activation)), np.float64)
        acc[:4] += part[:4]
        acc[4:] = np.maximum(acc[4:], part[4:])
    return RelativeL2Errors(value_rel_l2=float(np.sqrt(acc[0] / acc[1])),
                            grad_rel_l2=float(np.sqrt(acc[2] / acc[3])),
                            value_max_abs=float(acc[4]), grad_max_abs=float(acc[5]),
                            points=int(x.shape[0]))
