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

Both combine (methods of ``jrelu run``, see the documentation's "Methods and their errors"):

* ensembles: M networks trained side by side as one parallel network
  (:func:`ensemble_init`, :func:`solve_learning` with ``members``), averaged into one
  scalar network whose :math:`D^N` is exactly the mean of the members'
  (:func:`ensemble_average`);
* the semigroup split :math:`u(T,x)=\mathbb E[u(T-\tau,X_\tau^x)]`: learn
  :math:`u(T-\tau,\cdot)` on an enlarged box (``horizon``, ``box`` of
  :func:`solve_learning`), then average it over n paths of the last τ (antithetic and
  moment-matched, :func:`path_maps`), held in structured form by
  :class:`AveragingNetwork` (the base network and the path maps, evaluated path by path;
  its :math:`D^N` is exactly that of the dense :func:`averaging_network`).

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

from . import _checks, _random
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
    "AveragingNetwork",
    "ensemble_init",
    "ensemble_members",
    "ensemble_average",
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
        z = _random.normal(key, x.shape, x.dtype)
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
        return _random.uniform(key, (n, self.dim), dtype, a, b)


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


def feynman_kac_data(problem: Problem, *, dtype=None, horizon: float | None = None,
                     box: tuple[float, float] | None = None, inputs: str = "box",
                     paths: int = 1, antithetic: bool = False) -> Callable:
    r"""The Beck et al. data stream ``data(key, batch_size) -> (xi, y)``.

    .. math::
        \xi\sim\mathcal U([a,b]^d),\qquad y=\varphi(X_t^\xi),\qquad
        \operatorname*{arg\,min}_N\mathbb E[(N(\xi)-y)^2]=\mathbb E[\varphi(X_t^\xi)\mid\xi]
        =u(t,\xi),

    with one fresh Feynman–Kac path per point, :math:`t` = ``horizon`` (default T) and
    :math:`[a,b]` = ``box`` (default the problem's box). A shorter horizon
    :math:`t=T-\tau` and a larger box serve the semigroup split
    :math:`u(T,x)=\mathbb E[u(T-\tau,X_\tau^x)]` (:class:`AveragingNetwork`): the learned
    :math:`u(T-\tau,\cdot)` is then evaluated at :math:`X_\tau^x`, which leaves the box.
    With ``inputs="paths"`` the inputs are exactly those points: :math:`\zeta=X_{T-t}^\xi`,
    the end of a path of the first :math:`T-t` started at :math:`\xi`, and
    :math:`y=\varphi(X_t^\zeta)`; the regression then learns :math:`u(t,\cdot)` in
    :math:`L^2` of the law of :math:`X_{T-t}^\xi`, and by Jensen's inequality

    .. math::
        \mathbb E_\xi\bigl|\mathbb E[N(X_{T-t}^\xi)\mid\xi]-u(T,\xi)\bigr|^2
        \le\mathbb E\bigl|N(X_{T-t}^\xi)-u(t,X_{T-t}^\xi)\bigr|^2,

    so the averaging network's error on the box is at most the training error.
    With ``paths`` = K > 1 the target is the mean over K independent paths from the same
    input, :math:`y=\frac1K\sum_{k=1}^K\varphi(X_t^{\xi,(k)})` (antithetic pairs
    :math:`(Z,-Z)` if ``antithetic``): the same conditional mean u(t, ξ) with a smaller
    variance, at the cost of K evaluations of φ (no extra network evaluations).
    Pure and jit-traceable. The same arguments return the same function object, so
    :func:`jrelu.train` reuses its compiled program across training segments.

    Args:
      problem: the :class:`Problem`.
      dtype: the float dtype of the samples (default: JAX's default float dtype).
      horizon: the time t of the targets, 0 < t ≤ T (default T).
      box: ``(a, b)`` with a < b, the training interval (default ``problem.box``).
      inputs: ``"box"`` (ξ uniform on the box, the default) or ``"paths"`` (the inputs are
        :math:`X_{T-t}^\xi`; needs t < T).
      paths: K ≥ 1, Feynman–Kac paths per input averaged in the target (default 1).
      antithetic: draw the K paths in pairs (Z, −Z) (K even).

    Returns:
      ``data(key, batch_size)`` returning ``xi`` of shape ``(batch_size, d)`` and ``y`` of
      shape ``(batch_size, 1)``.

    Raises:
      TypeError: ``problem`` is not a :class:`Problem`, ``dtype`` not a float dtype, or
        ``horizon`` or an end of ``box`` not a number, or ``inputs`` not a string.
      ValueError: ``horizon`` not in (0, T], ``box`` not a pair with a < b, ``inputs``
        not ``"box"``/``"paths"`` (``"paths"`` with t = T), ``paths`` < 1, or an odd
        ``paths`` with ``antithetic``.

    Example:
      >>> p = jrelu.pde.HeatSquare(dim=3, T=0.1)
      >>> xi, y = jrelu.pde.feynman_kac_data(p)(jax.random.key(0), 8)
      >>> xi.shape, y.shape
      ((8, 3), (8, 1))
      >>> xi, _ = jrelu.pde.feynman_kac_data(p, horizon=0.05, box=(-1.0, 2.0))(
      ...     jax.random.key(0), 64)
      >>> bool(xi.min() >= -1.0), bool(xi.max() <= 2.0), bool(xi.min() < 0.0)
      (True, True, True)
      >>> zeta, _ = jrelu.pde.feynman_kac_data(p, horizon=0.05, inputs="paths")(
      ...     jax.random.key(0), 64)
      >>> bool(zeta.min() < 0.0), bool(zeta.max() > 1.0)
      (True, True)
      >>> _, y8 = jrelu.pde.feynman_kac_data(p, paths=8, antithetic=True)(jax.random.key(0), 4)
      >>> y8.shape
      (4, 1)

    References:
      Beck, Becker, Grohs, Jaafari, Jentzen (2018),
      `arXiv:1806.00421 <https://arxiv.org/abs/1806.00421>`_.
    """
    _check_problem("problem", problem)
    horizon, box = _horizon_box(problem, horizon, box)
    inputs = _check_inputs(inputs, horizon)
    paths, antithetic = _check_target_paths(paths, antithetic)
    return _feynman_kac_data(problem, _checks.default_float_dtype(dtype), horizon, box, inputs,
                             paths, antithetic)


def _check_target_paths(paths, antithetic):
    """``paths`` ≥ 1 and ``antithetic`` checked (``paths`` even when antithetic)."""
    paths = _checks.size("paths", paths)
    antithetic = _checks.boolean("antithetic", antithetic)
    if antithetic and paths % 2:
        raise ValueError(f"paths must be even with antithetic=True (pairs Z, −Z), got {paths}")
    return paths, antithetic


def _check_inputs(inputs, horizon) -> str:
    """``inputs`` checked: ``"paths"`` needs a horizon shorter than T (not None)."""
    inputs = _checks.one_of("inputs", inputs, ("box", "paths"))
    if inputs == "paths" and horizon is None:
        raise ValueError('inputs="paths" needs a horizon t < T (the inputs are the ends of '
                         'paths of the first T − t), got t = T')
    return inputs


def _horizon_box(problem, horizon, box):
    """``horizon`` and ``box`` checked, None for the problem's own (the cache key)."""
    if horizon is not None:
        horizon = _checks.positive("horizon", horizon)
        if horizon > problem.T:
            raise ValueError(f"horizon must be in (0, T] = (0, {problem.T:g}], got {horizon:g}")
        if horizon == problem.T:
            horizon = None
    if box is not None:
        try:
            a, b = box
        except (TypeError, ValueError):
            raise ValueError(f"box must be a pair (a, b), got {box!r:.80}") from None
        a, b = _checks.real("box[0]", a), _checks.real("box[1]", b)
        if not a < b:
            raise ValueError(f"box must have box[0] < box[1], got {(a, b)}")
        box = None if (a, b) == problem.box else (a, b)
    return horizon, box


@functools.lru_cache(maxsize=64)
def _feynman_kac_data(problem: Problem, dtype, horizon=None, box=None,
                      inputs: str = "box", paths: int = 1, antithetic: bool = False) -> Callable:
    if paths > 1 or inputs == "paths":
        return _feynman_kac_data_general(problem, dtype, horizon, box, inputs, paths,
                                         antithetic)
    if horizon is None and box is None:
        def data(key, batch_size):
            k_xi, k_path = jax.random.split(key)
            xi = problem.sample_box(k_xi, batch_size, dtype=dtype)
            y = problem.phi(problem.terminal(xi, key=k_path))
            return xi, y[:, None]

        return data
    t = problem.T if horizon is None else horizon
    a, b = problem.box if box is None else box

    def data_split(key, batch_size):
        k_xi, k_path = jax.random.split(key)
        xi = _random.uniform(k_xi, (batch_size, problem.dim), dtype, a, b)
        s, c = problem.scale_shift(_random.normal(k_path, xi.shape, dtype), t=t)
        return xi, problem.phi(s * xi + c)[:, None]

    return data_split


def _feynman_kac_data_general(problem, dtype, horizon, box, inputs, paths, antithetic):
    """The data stream with inputs at the ends of paths and/or targets averaged over paths."""
    t = problem.T if horizon is None else horizon
    a, b = problem.box if box is None else box
    draws = paths // 2 if antithetic else paths

    def data(key, batch_size):
        k_xi, k_first, k_path = jax.random.split(key, 3)
        x = _random.uniform(k_xi, (batch_size, problem.dim), dtype, a, b)
        if inputs == "paths":
            s0, c0 = problem.scale_shift(_random.normal(k_first, x.shape, dtype),
                                         t=problem.T - t)
            x = s0 * x + c0
        z = _random.normal(k_path, (draws, *x.shape), dtype)
        if antithetic:
            z = jnp.concatenate([z, -z])
        s, c = problem.scale_shift(z, t=t)
        return x, jnp.mean(problem.phi(s * x + c), axis=0)[:, None]

    return data


def solve_learning(problem: Problem, net: Network, *, optimizer, steps: int, batch_size: int,
                   key, activation: Activation = _RELU, count_kinks: bool = True,
                   opt_state=None, start_step: int = 0, members: int = 1,
                   horizon: float | None = None, box: tuple[float, float] | None = None,
                   inputs: str = "box", paths: int = 1, antithetic: bool = False,
                   data: Callable | None = None):
    r"""Train ``net`` on :func:`feynman_kac_data` with :func:`jrelu.train` (MSE loss).

    .. math::
        \min_\theta\ \mathbb E\bigl[(R\Phi_\theta(\xi)-\varphi(X_t^\xi))^2\bigr],
        \qquad \xi\sim\mathcal U([a,b]^d),

    by steps of ``optimizer`` on ``batch_size`` fresh samples each (t = ``horizon``,
    default T; [a, b] = ``box``, default the problem's); step i uses
    ``fold_in(key, start_step + i)``, so a run split into segments (passing the returned
    ``history.opt_state`` and ``start_step``) reproduces the unsplit run bit for bit.

    **Ensembles** (``members`` = M > 1): ``net`` is the parallelization
    :math:`P(\Phi^1,\dots,\Phi^M)` of M networks of equal widths (:func:`ensemble_init`,
    :func:`jrelu.parallel`; output dimension M). Each member m is trained on its own loss
    :math:`\mathbb E[(R\Phi^m(\xi_m)-\varphi(X_t^{\xi_m}))^2]` with its own samples
    (``fold_in`` of the step's key by m), all members in one vmapped program (the
    block-diagonal zeros are never formed or trained), and the result is again
    :math:`P(\Phi^1,\dots,\Phi^M)`; :func:`ensemble_average` makes it one scalar network
    whose :math:`D^N` is exactly the mean of the members' :math:`D^N`. The loss recorded
    is the mean of the members' losses; ``opt_state`` is then the optimizer state of the
    members stacked along a leading axis (pass it back as it was returned).

    Args:
      problem: the :class:`Problem`.
      net: the initial network, widths ``(d, ..., 1)`` (``(d, ..., M)`` for an
        ensemble); its dtype is the training dtype.
      optimizer: an ``optax.GradientTransformation``.
      steps: the number of steps, ≥ 1.
      batch_size: samples per step (per member), ≥ 1.
      key: a PRNG key.
      activation: ϱ (default ``ReLU()``).
      count_kinks: record per step how many pre-activations sit exactly at a kink.
      opt_state: optimizer state to continue from (default ``optimizer.init(net)``).
      start_step: the global index of the first step.
      members: M ≥ 1, the number of ensemble members in ``net``.
      horizon: the time t of the targets, 0 < t ≤ T (default T).
      box: the training interval ``(a, b)`` (default ``problem.box``).
      inputs: ``"box"`` or ``"paths"``, the training inputs (:func:`feynman_kac_data`).
      paths: K, Feynman–Kac paths per input averaged in the target (default 1).
      antithetic: the K paths in pairs (Z, −Z).
      data: a data stream ``data(key, batch_size) -> (x, y)`` (shapes ``(batch_size, d)``
        and ``(batch_size, 1)``) to train on instead of :func:`feynman_kac_data` (for
        example one in standardized coordinates); then ``horizon``, ``box``, ``inputs``,
        ``paths`` and ``antithetic`` must be left at their defaults. Pass the same function
        object to every segment of a run, so the compiled program is reused.

    Returns:
      ``(net, history)``: the trained network and its :class:`jrelu.TrainHistory`.

    Raises:
      TypeError: ``problem`` is not a :class:`Problem`, ``net`` not a Network, or
        ``members`` not an integer, or ``data`` not callable.
      ValueError: ``data`` together with ``horizon``/``box``/``inputs``/``paths``/
        ``antithetic``; the network does not map :math:`\mathbb R^d` to :math:`\mathbb R`
        (:math:`\mathbb R^M` for an ensemble, which must be block-diagonal), or an invalid
        ``steps``/``batch_size``/``start_step``/``members``/``horizon``/``box``.

    Example:
      >>> import optax
      >>> p = jrelu.pde.HeatSquare(dim=2, T=0.1)
      >>> net0 = jrelu.init(jax.random.key(0), (2, 8, 1))
      >>> net, hist = jrelu.pde.solve_learning(p, net0, optimizer=optax.adam(1e-2), steps=5,
      ...                                      batch_size=16, key=jax.random.key(1))
      >>> hist.loss.shape
      (5,)
      >>> ens0 = jrelu.pde.ensemble_init(jax.random.key(0), (2, 8, 1), members=3)
      >>> ens, hist = jrelu.pde.solve_learning(p, ens0, optimizer=optax.adam(1e-2), steps=5,
      ...                                      batch_size=16, key=jax.random.key(1), members=3)
      >>> ens.widths, jrelu.pde.ensemble_average(ens, members=3).widths
      ((2, 24, 3), (2, 24, 1))

    References:
      Beck, Becker, Grohs, Jaafari, Jentzen (2018),
      `arXiv:1806.00421 <https://arxiv.org/abs/1806.00421>`_;
      Lakshminarayanan, Pritzel, Blundell (2017), *Simple and scalable predictive
      uncertainty estimation using deep ensembles*,
      `arXiv:1612.01474 <https://arxiv.org/abs/1612.01474>`_.
    """
    from .train import TrainHistory, train

    _check_problem("problem", problem)
    members = _checks.size("members", members)
    if data is None:
        data = feynman_kac_data(problem,
                                dtype=net.dtype if isinstance(net, Network) else None,
                                horizon=horizon, box=box, inputs=inputs, paths=paths,
                                antithetic=antithetic)
    elif not callable(data):
        raise TypeError(f"data must be a callable data(key, batch_size) -> (x, y), got "
                        f"{type(data).__name__}")
    elif (horizon, box, inputs, paths, antithetic) != (None, None, "box", 1, False):
        raise ValueError("data: pass either a data stream or horizon/box/inputs/paths/"
                         "antithetic (they describe the default stream), not both")
    if members == 1:
        _check_scalar_network(net, problem)
        return train(net, data, optimizer=optimizer, steps=steps, batch_size=batch_size,
                     key=key, loss="mse", activation=activation, count_kinks=count_kinks,
                     opt_state=opt_state, start_step=start_step)
    _checks.network("net", net)
    if net.input_dim != problem.dim or net.output_dim != members:
        raise ValueError(f"net: an ensemble of members = {members} networks must map "
                         f"R^{problem.dim} to R^{members} (the members' outputs side by "
                         f"side, as jrelu.parallel makes it), got widths {net.widths}")
    stacked = _stack_members(net, members)
    steps = _checks.size("steps", steps)
    batch_size = _checks.size("batch_size", batch_size)
    start_step = _checks.size("start_step", start_step, min=0)
    count_kinks = _checks.boolean("count_kinks", count_kinks)
    _checks.prng_key("key", key)
    _checks.activation("activation", activation)
    if opt_state is None:
        opt_state = optimizer.init(stacked)
    run = _ensemble_runner(optimizer, activation, count_kinks, data, batch_size, members)
    step_ids = start_step + jnp.arange(steps, dtype=jnp.int32)
    (stacked, opt_state), (losses, kinks) = run(stacked, opt_state, key, step_ids)
    per_step = members * batch_size * int(sum(stacked.layers[k][1].shape[1]
                                              for k in range(len(stacked.layers) - 1)))
    return (_unstack_members(stacked),
            TrainHistory(losses, kinks, opt_state, step_ids, per_step))


@functools.lru_cache(maxsize=16)
def _ensemble_runner(optimizer, activation, count_kinks, data, batch_size, members):
    """The jitted scan of vmapped member steps (cached on its static pieces)."""
    import optax

    from .network import preactivations

    def member_loss(p, xb, yb):
        zs = preactivations(p, xb, activation=activation)
        kinks = jnp.zeros((), jnp.int32)
        if count_kinks:
            for z in zs[:-1]:
                kinks = kinks + jnp.sum(activation.kink_mask(z), dtype=jnp.int32)
        return jnp.mean((zs[-1] - yb) ** 2), kinks

    def objective(stacked, xb, yb):
        risks, kinks = jax.vmap(member_loss)(stacked, xb, yb)
        return jnp.sum(risks), (jnp.mean(risks), jnp.sum(kinks))

    value_and_grad = jax.value_and_grad(objective, has_aux=True)
    ids = jnp.arange(members)

    @jax.jit
    def run(stacked, opt_state, key, step_ids):
        dtype = stacked.layers[0][0].dtype

        def body(carry, i):
            params, state = carry
            k = jax.random.fold_in(key, i)
            xb, yb = jax.vmap(lambda m: data(jax.random.fold_in(k, m), batch_size))(ids)
            (_, (risk, kinks)), grads = value_and_grad(params, xb.astype(dtype),
                                                       yb.astype(dtype))
            updates, state = optimizer.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), (risk, kinks)

        return jax.lax.scan(body, (stacked, opt_state), step_ids)

    return run


def ensemble_members(net: Network, *, members: int) -> list[Network]:
    r"""The M members of a parallel network :math:`P(\Phi^1,\dots,\Phi^M)` of equal widths.

    .. math::
        P(\Phi^1,\dots,\Phi^M)\mapsto(\Phi^1,\dots,\Phi^M),\qquad
        A_1=\begin{pmatrix}A_1^1\\\vdots\\A_1^M\end{pmatrix},\quad
        A_k=\operatorname{diag}(A_k^1,\dots,A_k^M)\ (k\ge2),

    the inverse of :func:`jrelu.parallel` for M networks of equal widths (exact copies of
    the blocks).

    Args:
      net: a network of widths :math:`(N_0, MN_1, \dots, MN_L)` whose layers after the
        first are block-diagonal with M equal blocks.
      members: M ≥ 1.

    Returns:
      the list of the M member networks, widths :math:`(N_0, N_1, \dots, N_L)`.

    Raises:
      TypeError: ``net`` not a Network or ``members`` not an integer.
      ValueError: ``members`` < 1, widths not divisible by M, or (concrete weights) a
        nonzero entry off the diagonal blocks.

    Example:
      >>> a, b = jrelu.init(jax.random.key(0), (2, 3, 1)), jrelu.init(jax.random.key(1), (2, 3, 1))
      >>> m = jrelu.pde.ensemble_members(jrelu.parallel(a, b), members=2)
      >>> bool(jnp.all(jrelu.flatten(m[1]) == jrelu.flatten(b)))
      True

    References:
      Petersen, Voigtlaender (2017), `arXiv:1709.05289 <https://arxiv.org/abs/1709.05289>`_.
    """
    _checks.network("net", net)
    members = _checks.size("members", members)
    stacked = _stack_members(net, members)
    return [jax.tree_util.tree_map(lambda a, m=m: a[m], stacked) for m in range(members)]


def _stack_members(net: Network, members: int) -> Network:
    """The M diagonal blocks of a parallel network, stacked on a leading axis (a pytree
    shaped like a Network whose leaves carry the member axis)."""
    M = members
    layers = []
    for k, (A, b) in enumerate(net.layers):
        rows, cols = A.shape
        if rows % M or (k and cols % M):
            raise ValueError(f"net: widths {net.widths} are not those of a parallel network "
                             f"of members = {M} equal networks")
        r, c = rows // M, cols // M
        if k == 0:
            blocks = A.reshape(M, r, cols)
        else:
            blocks = jnp.stack([A[m * r:(m + 1) * r, m * c:(m + 1) * c] for m in range(M)])
            if _checks.is_concrete(A):
                full = jax.scipy.linalg.block_diag(*blocks)
                if not bool(jnp.all(full == A)):
                    raise ValueError(f"net: layer {k + 1} is not block-diagonal with {M} "
                                     "blocks, so net is not a parallel network of "
                                     f"members = {M} networks")
        layers.append((blocks, b.reshape(M, r)))
    return Network.tree_unflatten(None, (tuple(layers),))


def _unstack_members(stacked: Network) -> Network:
    M = stacked.layers[0][0].shape[0]
    from .network import parallel

    return parallel(*[jax.tree_util.tree_map(lambda a, m=m: a[m], stacked) for m in range(M)])


def ensemble_init(key, widths, *, members: int, dtype=None) -> Network:
    r"""M random networks of widths ``widths`` side by side: :math:`P(\Phi^1,\dots,\Phi^M)`.

    .. math::
        RP(\Phi^1,\dots,\Phi^M)(x)=(R\Phi^1(x),\dots,R\Phi^M(x)),\qquad
        \Phi^m=\mathrm{init}(\mathrm{fold\_in}(key,m),\ \text{widths}),

    the initial network of an ensemble for :func:`solve_learning` (``members=M``); its
    first layer stacks the members', later layers are block-diagonal
    (:func:`jrelu.parallel`).

    Args:
      key: a PRNG key.
      widths: one member's widths ``(N_0, ..., N_L)``.
      members: M ≥ 1.
      dtype: float dtype (default: JAX's default float dtype).

    Returns:
      a :class:`jrelu.Network` of widths :math:`(N_0, MN_1, \dots, MN_L)`.

    Raises:
      TypeError: ``members`` not an integer, or as :func:`jrelu.init`.
      ValueError: ``members`` < 1, or as :func:`jrelu.init`.

    Example:
      >>> jrelu.pde.ensemble_init(jax.random.key(0), (3, 4, 4, 1), members=2).widths
      (3, 8, 8, 2)

    References:
      Lakshminarayanan, Pritzel, Blundell (2017),
      `arXiv:1612.01474 <https://arxiv.org/abs/1612.01474>`_.
    """
    from .network import init, parallel

    members = _checks.size("members", members)
    _checks.prng_key("key", key)  # before fold_in, which would raise JAX's own error
    return parallel(*[init(jax.random.fold_in(key, m), widths, dtype=dtype)
                      for m in range(members)])


def ensemble_average(net: Network, *, members: int) -> Network:
    r"""The mean of the M outputs of a parallel network, as one scalar ReLU network.

    .. math::
        \bar\Phi=((\tfrac1M\mathbf 1^{\mathsf T},0))\circ P(\Phi^1,\dots,\Phi^M),\qquad
        R\bar\Phi=\tfrac1M\textstyle\sum_mR\Phi^m,\qquad
        D^N\bar\Phi=\tfrac1M\textstyle\sum_mD^N\Phi^m

    at every x (chain rule for network derivatives: the last layer is affine). The
    layers are those of ``net`` except the last, :math:`\frac1M\mathbf 1^{\mathsf T}A_L`.

    Args:
      net: :math:`P(\Phi^1,\dots,\Phi^M)`, widths ``(d, ..., M)`` (e.g. trained by
        :func:`solve_learning` with ``members=M``).
      members: M, the output dimension of ``net``.

    Returns:
      a :class:`jrelu.Network` of widths ``(d, ..., 1)``.

    Raises:
      TypeError: ``net`` not a Network or ``members`` not an integer.
      ValueError: ``members`` < 1 or not ``net``'s output dimension.

    Example:
      >>> ens = jrelu.pde.ensemble_init(jax.random.key(0), (2, 4, 1), members=2)
      >>> avg = jrelu.pde.ensemble_average(ens, members=2)
      >>> x = jnp.array([0.5, -0.25])
      >>> bool(jnp.allclose(jrelu.realize(avg, x), jrelu.realize(ens, x).mean()))
      True

    References:
      Lakshminarayanan, Pritzel, Blundell (2017),
      `arXiv:1612.01474 <https://arxiv.org/abs/1612.01474>`_.
    """
    _checks.network("net", net)
    members = _checks.size("members", members)
    if net.output_dim != members:
        raise ValueError(f"members must be net's output dimension {net.output_dim}, got "
                         f"{members}")
    dtype = net.dtype
    mean = Network([(jnp.full((1, members), 1.0 / members, dtype), jnp.zeros(1, dtype))])
    return compose(mean, net)


# -- constructive solver --------------------------------------------------------------------


def path_maps(problem: Problem, n: int, *, key, dtype=None, t: float | None = None,
              antithetic: bool = False, moment_matching: bool = False):
    r"""n Feynman–Kac paths as affine maps :math:`x\mapsto s_i\odot x+c_i`.

    .. math::
        X_t^{x,(i)}=s_i\odot x+c_i,\quad (s_i,c_i)=\text{the maps of }Z_i\sim\mathcal
        N(0,I_d),\qquad \frac1n\sum_{i=1}^n\varphi(s_i\odot x+c_i)\approx u(t,x).

    The same paths serve every x (common random numbers), so the average is an unbiased
    estimate of :math:`u(t,x)` that is a deterministic function of x. With
    ``antithetic=True`` the draws come in pairs :math:`(Z_j,-Z_j)` (paths 2j and 2j + 1),
    which cancels the Monte-Carlo error of the average's odd part (for the heat equation,
    the first-order term :math:`\nabla f(x)\cdot\sqrt{2t}\,\frac1n\sum_iZ_i` vanishes).
    With ``moment_matching=True`` the draws are then centred (unless antithetic, where
    their mean is already 0) and whitened,

    .. math::
        Z_i\leftarrow S^{-1/2}(Z_i-\bar Z),\qquad S=\frac1n\sum_i(Z_i-\bar Z)
        (Z_i-\bar Z)^{\mathsf T},

    so that :math:`\frac1n\sum_iZ_i=0` and :math:`\frac1n\sum_iZ_iZ_i^{\mathsf T}=I`
    hold exactly (up to rounding): the average is then exact for every quadratic
    function of Z (for the heat equation: for every quadratic f, the whole Monte-Carlo
    error of :math:`\frac1n\sum_if(x+c_i)` vanishes). Needs n > d (n ≥ 2d if antithetic).

    Args:
      problem: the :class:`Problem`.
      n: the number of paths, ≥ 1 (even if ``antithetic``).
      key: a PRNG key.
      dtype: float dtype (default: JAX's default float dtype).
      t: the time span of the paths, > 0 (default T).
      antithetic: draw the pairs :math:`(Z_j,-Z_j)`.
      moment_matching: match the first two moments of the draws exactly.

    Returns:
      ``(s, c)``, each of shape ``(n, d)``.

    Raises:
      TypeError: ``n`` not an integer, ``problem`` not a :class:`Problem`, ``t`` not a
        number or ``antithetic`` not a bool.
      ValueError: ``n`` < 1, ``t`` ≤ 0, ``n`` odd with ``antithetic``, or too few paths
        for ``moment_matching``.

    Example:
      >>> s, c = jrelu.pde.path_maps(jrelu.pde.HeatSquare(dim=3), 4, key=jax.random.key(0))
      >>> s.shape, c.shape, bool((s == 1).all())
      ((4, 3), (4, 3), True)
      >>> s, c = jrelu.pde.path_maps(jrelu.pde.HeatSquare(dim=3), 4, key=jax.random.key(0),
      ...                            t=0.5, antithetic=True)
      >>> bool((c[0] == -c[1]).all()), bool((c[2] == -c[3]).all())
      (True, True)

    References:
      Beck, Becker, Grohs, Jaafari, Jentzen (2018),
      `arXiv:1806.00421 <https://arxiv.org/abs/1806.00421>`_;
      Glasserman (2003), *Monte Carlo Methods in Financial Engineering*, §4.2 and §4.5.
    """
    _check_problem("problem", problem)
    n = _checks.size("n", n)
    _checks.prng_key("key", key)
    dtype = _checks.default_float_dtype(dtype)
    antithetic = _checks.boolean("antithetic", antithetic)
    t = None if t is None else _checks.positive("t", t)
    if antithetic:
        if n % 2:
            raise ValueError(f"n must be even for antithetic paths (pairs Z, -Z), got {n}")
        z = _random.normal(key, (n // 2, problem.dim), dtype)
        z = jnp.stack([z, -z], axis=1).reshape(n, problem.dim)
    else:
        z = _random.normal(key, (n, problem.dim), dtype)
    if _checks.boolean("moment_matching", moment_matching):
        distinct = n // 2 if antithetic else n - 1
        if distinct < problem.dim:
            need = f"≥ {2 * problem.dim} (antithetic)" if antithetic else f"> {problem.dim}"
            raise ValueError(f"n must be {need} for moment matching in d = {problem.dim} (an "
                             f"invertible sample covariance), got {n}")
        z = _whiten(z, centre=not antithetic)
    return problem.scale_shift(z, t=t)


def _whiten(z, centre):
    """``z`` centred (if ``centre``) and mapped by :math:`S^{-1/2}` (eigh, in float64 on
    the host: a one-off n × d computation)."""
    zz = np.asarray(z, np.float64)
    if centre:
        zz = zz - zz.mean(axis=0)
    w, V = np.linalg.eigh(zz.T @ zz / zz.shape[0])
    return jnp.asarray(zz @ (V / np.sqrt(w)) @ V.T, z.dtype)


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


_BLOCK = 1024  # points per evaluation block of an AveragingNetwork


@jax.tree_util.register_pytree_node_class
class AveragingNetwork:
    r"""The averaging network :math:`\frac1n\sum_iR\Phi(s_i\odot x+c_i)`, stored structured.

    .. math::
        R\Psi(x)=\frac1n\sum_{i=1}^nR\Phi(s_i\odot x+c_i),\qquad
        D^N\Psi(x)=\frac1n\sum_{i=1}^nD^N\Phi(s_i\odot x+c_i)\operatorname{diag}(s_i).

    The same ReLU network as :func:`averaging_network` (:meth:`to_network` builds it),
    with the same realization and the same network derivative :math:`D^N` (by the chain
    rule, exact at every x), but held as the base network Φ and the n path maps
    :math:`(s_i,c_i)` instead of n copies of Φ in dense block-diagonal matrices: memory
    grows like n, not :math:`n^2`. Used with the semigroup split
    :math:`u(T,x)=\mathbb E[u(T-\tau,X_\tau^x)]`: Φ learns :math:`u(T-\tau,\cdot)`
    (:func:`solve_learning` with ``horizon=T-τ``) and the maps are n paths over the last τ
    (:func:`path_maps` with ``t=τ``).

    Evaluation, path by path (a scan, blocks of 1024 points): when every
    :math:`s_i=1` (heat equations), :math:`A_1x` is computed once and each path adds its
    own bias :math:`A_1c_i+b_1`, and the derivative's last factor is applied once,
    :math:`\bigl(\frac1n\sum_ig_i\bigr)A_1`. If Φ is an ensemble
    (``members`` = M > 1: the average of the M outputs of a parallel network,
    :func:`ensemble_average`), its block-diagonal layers are evaluated member by member.
    These are the same sums without the zero terms.

    A pytree (leaves: Φ's arrays, ``scales``, ``shifts``), so it can be an argument of
    ``jit``. Attributes: ``base`` (Φ), ``scales``, ``shifts`` (shape ``(n, d)``),
    ``members``, ``num_paths`` (n), ``dtype``, ``input_dim`` (d), ``output_dim`` (1),
    ``widths`` (those of the dense network: :math:`(d, nN_1,\dots,nN_{L-1}, 1)`),
    ``num_params`` (the stored numbers).

    Args:
      base: Φ, widths ``(d, ..., 1)``, depth ≥ 1.
      scales: :math:`s_i`, shape ``(n, d)``.
      shifts: :math:`c_i`, shape ``(n, d)``.
      members: M ≥ 1 (keyword-only): Φ is :func:`ensemble_average` of M equal networks
        (its hidden layers block-diagonal with M blocks; checked when concrete).

    Raises:
      TypeError: ``base`` not a Network, ``scales``/``shifts`` not real arrays, or
        ``members`` not an integer.
      ValueError: Φ does not map :math:`\mathbb R^d` to :math:`\mathbb R`, ``scales`` and
        ``shifts`` are not both ``(n, d)``, or Φ is not an ensemble of ``members``.

    Example:
      >>> phi = jrelu.init(jax.random.key(0), (3, 8, 1))
      >>> s, c = jrelu.pde.path_maps(jrelu.pde.HeatSquare(dim=3), 4, key=jax.random.key(1))
      >>> avg = jrelu.pde.AveragingNetwork(phi, s, c)
      >>> avg.widths, avg.num_paths
      ((3, 32, 1), 4)
      >>> x = jnp.array([[0.5, 0.25, -1.0]])
      >>> bool(jnp.allclose(avg.realize(x), jrelu.realize(avg.to_network(), x)))
      True

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_;
      Beck, Becker, Grohs, Jaafari, Jentzen (2018),
      `arXiv:1806.00421 <https://arxiv.org/abs/1806.00421>`_.
    """

    __slots__ = ("base", "scales", "shifts", "members", "unit_scales")

    def __init__(self, base: Network, scales: ArrayLike, shifts: ArrayLike, *,
                 members: int = 1):
        _checks.network("base", base)
        members = _checks.size("members", members)
        if base.output_dim != 1:
            raise ValueError(f"base must map R^d to R, got widths {base.widths}")
        scales, shifts = _checks.real_array("scales", scales), _checks.real_array("shifts",
                                                                                  shifts)
        d = base.input_dim
        if scales.ndim != 2 or scales.shape[1] != d or shifts.shape != scales.shape:
            raise ValueError(f"scales and shifts must both have shape (n, {d}) for a base "
                             f"network with N_0 = {d}, got {scales.shape} and {shifts.shape}")
        dtype = jnp.result_type(base.dtype, scales.dtype, shifts.dtype)
        if members > 1:
            if len(base.layers) < 2:
                raise ValueError("base: an ensemble (members > 1) needs depth ≥ 2, got "
                                 f"widths {base.widths}")
            # the hidden layers must be block-diagonal with `members` blocks
            _stack_members(Network(base.layers[:-1]), members)
            if base.layers[-1][0].shape[1] % members:
                raise ValueError(f"base: widths {base.widths} are not those of an ensemble "
                                 f"of members = {members} networks")
        self.base = base
        self.scales = scales.astype(dtype)
        self.shifts = shifts.astype(dtype)
        self.members = members
        self.unit_scales = bool(_checks.is_concrete(self.scales)
                                and bool(jnp.all(self.scales == 1)))

    # -- pytree ------------------------------------------------------------------------
    def tree_flatten(self):
        r"""The pytree protocol: children ``(base, scales, shifts)``; static ``members``.

        .. math:: \Psi\mapsto(\Phi,(s_i)_i,(c_i)_i).

        Returns:
          ``((base, scales, shifts), (members, unit_scales))``.

        Example:
          >>> phi = jrelu.init(jax.random.key(0), (2, 3, 1))
          >>> avg = jrelu.pde.AveragingNetwork(phi, jnp.ones((2, 2)), jnp.zeros((2, 2)))
          >>> len(jax.tree.leaves(avg))
          6
        """
        return (self.base, self.scales, self.shifts), (self.members, self.unit_scales)

    @classmethod
    def tree_unflatten(cls, aux, children):
        r"""The pytree protocol: rebuild from children (no checks).

        .. math:: (\Phi,(s_i)_i,(c_i)_i)\mapsto\Psi.

        Args:
          aux: ``(members, unit_scales)``.
          children: ``(base, scales, shifts)``.

        Returns:
          the :class:`AveragingNetwork`.

        Example:
          >>> phi = jrelu.init(jax.random.key(0), (2, 3, 1))
          >>> avg = jrelu.pde.AveragingNetwork(phi, jnp.ones((2, 2)), jnp.zeros((2, 2)))
          >>> jax.tree.map(lambda a: a, avg).num_paths
          2
        """
        obj = object.__new__(cls)
        obj.base, obj.scales, obj.shifts = children
        obj.members, obj.unit_scales = aux
        return obj

    # -- sizes -------------------------------------------------------------------------
    @property
    def num_paths(self) -> int:
        r"""n, the number of paths."""
        return self.scales.shape[0]

    @property
    def input_dim(self) -> int:
        r"""d, the input dimension :math:`N_0`."""
        return self.base.input_dim

    @property
    def output_dim(self) -> int:
        r"""1, the output dimension."""
        return 1

    @property
    def dtype(self):
        r"""The common dtype of Φ and the path maps."""
        return jnp.result_type(self.base.dtype, self.scales.dtype)

    @property
    def widths(self) -> tuple[int, ...]:
        r"""The widths of the equivalent dense network, :math:`(d,nN_1,\dots,nN_{L-1},1)`."""
        n = self.num_paths
        w = self.base.widths
        return (w[0], *(n * v for v in w[1:-1]), 1)

    @property
    def num_params(self) -> int:
        r"""The numbers stored: Φ's parameters and the 2nd path-map entries."""
        from .network import num_params

        return num_params(self.base) + 2 * int(self.scales.size)

    def __repr__(self) -> str:
        return (f"AveragingNetwork(base widths={self.base.widths}, num_paths={self.num_paths}, "
                f"members={self.members}, dtype={self.dtype})")

    # -- evaluation --------------------------------------------------------------------
    def realize(self, x: ArrayLike, *, activation: Activation = _RELU) -> jax.Array:
        r"""The realization :math:`R\Psi(x)=\frac1n\sum_iR\Phi(s_i\odot x+c_i)`.

        Args:
          x: points, shape ``(d,)`` or ``(..., d)``.
          activation: ϱ (default ``ReLU()``).

        Returns:
          shape ``(..., 1)``.

        Raises:
          TypeError: ``x`` not a real array or ``activation`` not an Activation.
          ValueError: the last axis of ``x`` is not d.

        Example:
          >>> phi = jrelu.Network([(jnp.array([[1.0, 1.0]]), jnp.array([0.0]))])
          >>> avg = jrelu.pde.AveragingNetwork(phi, jnp.ones((2, 2)),
          ...                                  jnp.array([[1.0, 0.0], [-1.0, 0.0]]))
          >>> avg.realize(jnp.array([2.0, 3.0])).tolist()
          [5.0]
        """
        x, batch = self._points(x, activation)
        v = _averaging_eval(self, x, activation, False)[0]
        return v.reshape(batch + (1,))

    def value_and_derivative(self, x: ArrayLike, *, activation: Activation = _RELU):
        r"""The realization and the network derivative, from one pass per path.

        .. math::
            \Bigl(\frac1n\sum_iR\Phi(s_i\odot x+c_i),\ \frac1n\sum_i
            D^N\Phi(s_i\odot x+c_i)\operatorname{diag}(s_i)\Bigr).

        Args:
          x: points, shape ``(d,)`` or ``(..., d)``.
          activation: ϱ (default ``ReLU()``).

        Returns:
          ``(value, jacobian)`` of shapes ``(..., 1)`` and ``(..., 1, d)``.

        Raises:
          TypeError: ``x`` not a real array or ``activation`` not an Activation.
          ValueError: the last axis of ``x`` is not d.

        Example:
          >>> phi = jrelu.Network([(jnp.array([[2.0, 0.0]]), jnp.array([0.0]))])
          >>> avg = jrelu.pde.AveragingNetwork(phi, jnp.array([[1.0, 1.0], [3.0, 1.0]]),
          ...                                  jnp.zeros((2, 2)))
          >>> v, J = avg.value_and_derivative(jnp.array([1.0, 5.0]))
          >>> v.tolist(), J.tolist()
          ([4.0], [[4.0, 0.0]])
        """
        x, batch = self._points(x, activation)
        v, J = _averaging_eval(self, x, activation, True)
        return v.reshape(batch + (1,)), J.reshape(batch + (1, self.input_dim))

    def derivative(self, x: ArrayLike, *, activation: Activation = _RELU) -> jax.Array:
        r"""The network derivative :math:`D^N\Psi(x)=\frac1n\sum_iD^N\Phi(s_i\odot x+c_i)
        \operatorname{diag}(s_i)`, shape ``(..., 1, d)`` (see :meth:`value_and_derivative`).

        Example:
          >>> phi = jrelu.Network([(jnp.array([[2.0, 0.0]]), jnp.array([0.0]))])
          >>> avg = jrelu.pde.AveragingNetwork(phi, jnp.ones((1, 2)), jnp.zeros((1, 2)))
          >>> avg.derivative(jnp.array([1.0, 5.0])).tolist()
          [[2.0, 0.0]]
        """
        return self.value_and_derivative(x, activation=activation)[1]

    def to_network(self) -> Network:
        r"""The dense network :func:`averaging_network` ``(base, scales, shifts)``.

        .. math::
            \Psi=\bigl((\tfrac1n,\dots,\tfrac1n),0\bigr)\circ P\bigl(\Phi\circ
            (\operatorname{diag}s_1,c_1),\dots,\Phi\circ(\operatorname{diag}s_n,c_n)\bigr).

        Its matrices grow like :math:`n^2`: for small n only.

        Returns:
          the :class:`jrelu.Network` of widths :attr:`widths`.

        Example:
          >>> phi = jrelu.init(jax.random.key(0), (2, 3, 1))
          >>> avg = jrelu.pde.AveragingNetwork(phi, jnp.ones((4, 2)), jnp.zeros((4, 2)))
          >>> avg.to_network().widths
          (2, 12, 1)
        """
        return averaging_network(self.base, self.scales, self.shifts)

    def _points(self, x, activation):
        _checks.activation("activation", activation)
        x = _checks.real_array("x", x)
        d = self.input_dim
        if x.ndim == 0 or x.shape[-1] != d:
            raise ValueError(f"x must have shape ({d},) or (..., {d}) for an averaging network "
                             f"with N_0 = {d}, got shape {x.shape}")
        if not jnp.issubdtype(x.dtype, jnp.inexact):
            x = x.astype(self.dtype)
        batch = x.shape[:-1]
        return x.reshape(-1, d), batch


@functools.partial(jax.jit, static_argnames=("activation", "derivative"))
def _averaging_eval(avg: AveragingNetwork, x, activation, derivative):
    """Value ``(P,)`` and (``derivative``) Jacobian ``(P, d)`` at the points ``x (P, d)``."""
    P, d = x.shape
    if P <= _BLOCK:
        return _averaging_block(avg, x, activation, derivative)
    pad = -P % _BLOCK
    xs = jnp.pad(x, ((0, pad), (0, 0))).reshape(-1, _BLOCK, d)
    v, J = jax.lax.map(lambda xb: _averaging_block(avg, xb, activation, derivative), xs)
    v = v.reshape(-1)[:P]
    return v, (J.reshape(-1, d)[:P] if derivative else J)


def _averaging_block(avg: AveragingNetwork, x, activation, derivative):
    base, S, C, M = avg.base, avg.scales, avg.shifts, avg.members
    dtype = jnp.result_type(avg.dtype, x.dtype)
    x = x.astype(dtype)
    B, d = x.shape
    n = S.shape[0]
    layers = [(A.astype(dtype), b.astype(dtype)) for A, b in base.layers]
    A1, b1 = layers[0]
    beta = jnp.matmul(C, A1.T) + b1  # (n, N_1): A_1 c_i + b_1, as compose builds it
    inv_n = jnp.asarray(1.0 / n, dtype)
    unit = avg.unit_scales
    if len(layers) == 1:  # an affine Φ: A_1(s_i x) + (A_1 c_i + b_1)
        vals = jnp.matmul(x[None] * S[:, None, :], A1.T)[..., 0] + beta[:, None, 0]
        v = jnp.sum(vals, axis=0) * inv_n
        J = None
        if derivative:
            J = jnp.broadcast_to(jnp.sum(A1[0] * S, axis=0) * inv_n, (B, d))
        return v, J
    hidden = [_blocks(A, b, M) for A, b in layers[1:-1]]  # (M, r, c), (M, r)
    AL, bL = layers[-1]
    AL = AL.reshape(M, -1)  # (M, N_{L-1}/M)
    N1 = A1.shape[0]
    xa = jnp.matmul(x, A1.T) if unit else None

    def one_path(si, bi):
        z = (xa if unit else jnp.matmul(x * si, A1.T)) + bi
        masks = [activation.deriv(z).astype(dtype).reshape(B, M, -1)]
        h = activation(z).reshape(B, M, -1)
        for Ak, bk in hidden:
            z = jnp.einsum("bmj,mij->bmi", h, Ak) + bk
            masks.append(activation.deriv(z).astype(dtype))
            h = activation(z)
        val = jnp.einsum("bmj,mj->b", h, AL) + bL[0]
        if not derivative:
            return val, None
        g = AL[None] * masks[-1]
        for (Ak, _), m in zip(reversed(hidden), reversed(masks[:-1])):
            g = jnp.einsum("bmi,mij->bmj", g, Ak) * m
        return val, g.reshape(B, N1)

    def body(carry, sc):
        si, bi = sc
        val, g = one_path(si, bi)
        v_acc, g_acc = carry
        v_acc = v_acc + val
        if derivative:
            g_acc = g_acc + (g if unit else jnp.matmul(g, A1) * si)
        return (v_acc, g_acc), None

    g0 = jnp.zeros((B, N1 if unit else d), dtype) if derivative else jnp.zeros((), dtype)
    (v, g), _ = jax.lax.scan(body, (jnp.zeros(B, dtype), g0), (S, beta))
    v = v * inv_n
    if not derivative:
        return v, None
    J = (jnp.matmul(g, A1) if unit else g) * inv_n
    return v, J


def _blocks(A, b, M):
    """The M diagonal blocks of a block-diagonal layer and its bias, shapes (M, r, c), (M, r)."""
    r, c = A.shape[0] // M, A.shape[1] // M
    if M == 1:
        return A[None], b[None]
    return jnp.stack([A[m * r:(m + 1) * r, m * c:(m + 1) * c] for m in range(M)]), b.reshape(M, r)


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
    if isinstance(net, AveragingNetwork):
        v, J = _averaging_eval(net, x, activation, True)
        ev, eg = jnp.abs(v - u), jnp.linalg.norm(J - gu, axis=-1)
    else:
        err = pointwise_errors(net, problem.solution, x, target_grad=problem.solution_grad,
                               activation=activation)
        ev, eg = err.value_error, err.derivative_error
    return (jnp.sum(ev**2), jnp.sum(u**2), jnp.sum(eg**2), jnp.sum(gu**2),
            jnp.max(ev), jnp.max(eg))


def relative_l2_errors(net: Network | AveragingNetwork, problem: Problem, x: ArrayLike, *,
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
      net: the network, widths ``(d, ..., 1)``, or an :class:`AveragingNetwork`
        (evaluated in its structured form).
      problem: the :class:`Problem`.
      x: the sample, shape ``(n, d)``.
      activation: ϱ (default ``ReLU()``).
      chunk_size: points per compiled evaluation, ≥ 1.

    Returns:
      a :class:`RelativeL2Errors`.

    Raises:
      TypeError: ``net`` is not a Network or an :class:`AveragingNetwork`, or ``problem``
        not a :class:`Problem`.
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
    if isinstance(net, AveragingNetwork):
        if net.input_dim != problem.dim:
            raise ValueError(f"net: the averaging network must map R^{problem.dim} to R "
                             f"(d = {problem.dim}), got input dimension {net.input_dim}")
    else:
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
