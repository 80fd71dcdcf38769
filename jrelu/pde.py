r"""High-dimensional Kolmogorov PDEs with closed forms, and two ReLU-network solvers (MATH.md §5).

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

Solvers:

* learning [Beck et al.]: minimize :math:`\mathbb E[(N(\xi)-\varphi(X_T^\xi))^2]` over
  :math:`\xi\sim\mathcal U([a,b]^d)`, with fresh Feynman–Kac samples every step
  (:func:`feynman_kac_data`, :func:`solve_learning`, using :func:`jrelu.train.train`);
* constructive: the Monte-Carlo averaging network
  :math:`\frac1n\sum_{i=1}^nR\Phi_\varphi(s_i\odot x+c_i)` built with
  :func:`~jrelu.compose` and :func:`~jrelu.linear_combination`
  (:func:`averaging_network`); by the chain rule its network derivative is exactly
  :math:`\frac1n\sum_iD^N\Phi_\varphi(s_i\odot x+c_i)\operatorname{diag}(s_i)` at every x.

References: Beck, Becker, Grohs, Jaafari, Jentzen, *Solving the Kolmogorov PDE by means of
deep learning*, arXiv:1806.00421; [BEGJ] arXiv:1905.04992, §5 of MATH.md.
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

from .activations import Activation, _check_finite, relu
from .derivative import derivative
from .network import Network, compose, linear_combination, realize

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
]


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _finite(name, value, positive=False):
    value = _check_finite(name, value)
    if positive and value <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return value


def _check_points(problem, x, what="x"):
    x = jnp.asarray(x)
    if x.ndim == 0 or x.shape[-1] != problem.dim:
        raise ValueError(f"{what} must have shape ({problem.dim},) or (..., {problem.dim}) for "
                         f"a problem in dimension d = {problem.dim}, got shape {x.shape}")
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(jnp.result_type(float))
    return x


@dataclasses.dataclass(frozen=True)
class Problem:
    r"""Base class of a Kolmogorov problem with an exact Feynman–Kac sampler.

    Fields common to all problems: ``dim`` (d), ``T`` (the time horizon, > 0) and
    ``box = (a, b)``, the cube :math:`[a,b]^d` on which the learning solver draws
    :math:`\xi` and on which relative errors are reported.

    Subclasses implement :meth:`phi`, :meth:`value` (:math:`u(t,x)` for any t ≥ 0),
    :meth:`value_grad` and :meth:`_scale_shift`; everything else follows. All methods take
    a point ``(d,)`` or a batch ``(..., d)`` and are jit/vmap/grad compatible (a problem is
    hashable, so it can be a static argument).
    """

    dim: int
    T: float
    box: tuple[float, float]

    def __post_init__(self):
        object.__setattr__(self, "dim", _positive_int("dim (the dimension d)", self.dim))
        object.__setattr__(self, "T", _finite("T (the time horizon)", self.T, positive=True))
        try:
            a, b = self.box
        except (TypeError, ValueError):
            raise ValueError(f"box must be a pair (a, b), got {self.box!r}") from None
        a, b = _finite("box[0]", a), _finite("box[1]", b)
        if not a < b:
            raise ValueError(f"box must have box[0] < box[1], got {(a, b)}")
        object.__setattr__(self, "box", (a, b))

    # -- to implement ------------------------------------------------------------------
    def phi(self, x) -> jax.Array:
        r"""The initial condition :math:`\varphi(x)`, shape ``(...,)``."""
        raise NotImplementedError

    def value(self, t, x) -> jax.Array:
        r""":math:`u(t,x)=\mathbb E[\varphi(X_t^x)]`, shape ``(...,)``."""
        raise NotImplementedError

    def value_grad(self, t, x) -> jax.Array:
        r""":math:`\nabla_xu(t,x)`, shape ``(..., d)``."""
        raise NotImplementedError

    def _scale_shift(self, t, z):
        raise NotImplementedError

    def generator(self, x):
        r"""The coefficients :math:`(\mu(x),\sigma(x))` of the generator, shapes ``(d,)``
        and ``(d, d)``, for a single point ``x`` (used to check the PDE)."""
        raise NotImplementedError

    # -- derived -----------------------------------------------------------------------
    def solution(self, x) -> jax.Array:
        r""":math:`u(T,x)`, shape ``(...,)``."""
        return self.value(self.T, _check_points(self, x))

    def solution_grad(self, x) -> jax.Array:
        r""":math:`\nabla_xu(T,x)`, shape ``(..., d)``."""
        return self.value_grad(self.T, _check_points(self, x))

    def scale_shift(self, z, t=None):
        r"""The maps of one Feynman–Kac path: :math:`X_t^x=s\odot x+c` for the standard
        normal draw ``z`` (shape ``(..., d)``); returns ``(s, c)``, each shaped like ``z``."""
        return self._scale_shift(self.T if t is None else t, jnp.asarray(z))

    def terminal(self, key, x) -> jax.Array:
        r"""Exact samples of :math:`X_T^x`, one independent path per point of ``x``.

        Args:
          key: a PRNG key.
          x: shape ``(d,)`` or ``(..., d)``.

        Returns:
          an array shaped like ``x``.
        """
        x = _check_points(self, x)
        z = jax.random.normal(key, x.shape, x.dtype)
        s, c = self.scale_shift(z)
        return s * x + c

    def sample_box(self, key, n: int, dtype=None) -> jax.Array:
        r""":math:`n` points uniform on :math:`[a,b]^d`, shape ``(n, d)``."""
        dtype = jnp.result_type(float) if dtype is None else jnp.dtype(dtype)
        a, b = self.box
        return jax.random.uniform(key, (n, self.dim), dtype, a, b)


@dataclasses.dataclass(frozen=True)
class _Heat(Problem):
    r"""Heat equations :math:`\partial_tu=\Delta u`: :math:`\mu=0`, :math:`\sigma=\sqrt2I`,
    so :math:`X_t^x=x+\sqrt{2t}Z`."""

    def _scale_shift(self, t, z):
        return jnp.ones_like(z), jnp.sqrt(2.0 * t) * z

    def generator(self, x):
        d = self.dim
        return jnp.zeros(d, x.dtype), jnp.sqrt(2.0) * jnp.eye(d, dtype=x.dtype)


@dataclasses.dataclass(frozen=True)
class HeatSquare(_Heat):
    r"""Heat equation :math:`\partial_tu=\Delta u` (:math:`\sigma=\sqrt2I`, :math:`\mu=0`)
    with :math:`\varphi(x)=\|x\|^2`.

    :math:`X_t^x=x+\sqrt{2t}Z`, so :math:`u(t,x)=\mathbb E\|x+\sqrt{2t}Z\|^2=\|x\|^2+2td`
    and :math:`\nabla_xu(t,x)=2x`.
    """

    dim: int = 10
    T: float = 1.0
    box: tuple[float, float] = (0.0, 1.0)
    name = "heat_square"

    def phi(self, x):
        x = _check_points(self, x)
        return jnp.sum(x * x, axis=-1)

    def value(self, t, x):
        return jnp.sum(x * x, axis=-1) + 2.0 * t * self.dim

    def value_grad(self, t, x):
        return 2.0 * x


@dataclasses.dataclass(frozen=True)
class HeatCosine(_Heat):
    r"""Heat equation :math:`\partial_tu=\Delta u` with the non-polynomial
    :math:`\varphi(x)=\sum_{i=1}^d\cos x_i`.

    With :math:`X_t^x=x+\sqrt{2t}Z` and :math:`\mathbb E\cos(a+bZ)=e^{-b^2/2}\cos a`
    (the real part of :math:`e^{ia}\mathbb Ee^{ibZ}`), :math:`u(t,x)=e^{-t}\sum_i\cos x_i`
    and :math:`\nabla_xu(t,x)=-e^{-t}\sin x`. (Indeed
    :math:`\partial_tu=-u=\Delta u`.) φ and u are bounded, so the Feynman–Kac targets have
    bounded noise, and the solution is not a polynomial.
    """

    dim: int = 10
    T: float = 1.0
    box: tuple[float, float] = (-math.pi, math.pi)
    name = "heat_cosine"

    def phi(self, x):
        x = _check_points(self, x)
        return jnp.sum(jnp.cos(x), axis=-1)

    def value(self, t, x):
        return jnp.exp(-t) * jnp.sum(jnp.cos(x), axis=-1)

    def value_grad(self, t, x):
        return -jnp.exp(-t) * jnp.sin(x)


@dataclasses.dataclass(frozen=True)
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
      dim, T, box: as in :class:`Problem`; the box must lie in :math:`(0,\infty)`.
      rate: r.
      volatility: :math:`\sigma_i > 0`, one number (all equal) or d numbers.
      correlation: :math:`\rho`, one number (all pairwise correlations equal, which needs
        :math:`-1/(d-1)<\rho<1`) or a d×d symmetric positive definite matrix with unit
        diagonal.
      strike: K > 0.
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
        object.__setattr__(self, "rate", _finite("rate", self.rate))
        object.__setattr__(self, "strike", _finite("strike", self.strike, positive=True))
        vol = self.volatility
        if np.ndim(vol) == 0:
            vol = _finite("volatility", vol, positive=True)
        else:
            vol = tuple(_finite(f"volatility[{i}]", v, positive=True) for i, v in enumerate(vol))
            if len(vol) != d:
                raise ValueError(f"volatility must be one number or {d} numbers (d = {d}), "
                                 f"got {len(vol)}")
        object.__setattr__(self, "volatility", vol)
        rho = self.correlation
        if np.ndim(rho) == 0:
            rho = _finite("correlation", rho)
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
    def vols(self, dtype=None) -> jax.Array:
        r""":math:`(\sigma_1,\dots,\sigma_d)`."""
        dtype = jnp.result_type(float) if dtype is None else dtype
        return jnp.broadcast_to(jnp.asarray(self.volatility, dtype), (self.dim,))

    def correlation_matrix(self, dtype=None) -> jax.Array:
        r""":math:`\rho`, shape ``(d, d)``."""
        dtype = jnp.result_type(float) if dtype is None else dtype
        if np.ndim(self.correlation) == 0:
            d = self.dim
            return (jnp.full((d, d), self.correlation, dtype)
                    + (1.0 - self.correlation) * jnp.eye(d, dtype=dtype))
        return jnp.asarray(self.correlation, dtype)

    def cholesky(self, dtype=None) -> jax.Array:
        r"""L with :math:`LL^{\mathsf T}=\Sigma=\operatorname{diag}(\sigma)\rho
        \operatorname{diag}(\sigma)`, lower triangular."""
        s = self.vols(dtype)
        cov = s[:, None] * self.correlation_matrix(dtype) * s[None, :]
        return jnp.linalg.cholesky(cov)

    def _moments(self, t, x):
        d = self.dim
        s = self.vols(x.dtype)
        cov = s[:, None] * self.correlation_matrix(x.dtype) * s[None, :]
        m = jnp.mean(jnp.log(x), axis=-1) + (self.rate - 0.5 * jnp.mean(s * s)) * t
        v = t * jnp.sum(cov) / d**2
        return m, v

    def phi(self, x):
        x = _check_points(self, x)
        g = jnp.exp(jnp.mean(jnp.log(x), axis=-1))
        return jnp.exp(-self.rate * self.T) * jnp.maximum(g - self.strike, 0.0)

    def value(self, t, x):
        m, v = self._moments(t, x)
        sv = jnp.sqrt(v)
        d2 = (m - jnp.log(self.strike)) / sv
        d1 = d2 + sv
        return jnp.exp(-self.rate * self.T) * (jnp.exp(m + 0.5 * v) * ndtr(d1)
                                               - self.strike * ndtr(d2))

    def value_grad(self, t, x):
        m, v = self._moments(t, x)
        sv = jnp.sqrt(v)
        d1 = (m - jnp.log(self.strike)) / sv + sv
        scale = jnp.exp(-self.rate * self.T) * jnp.exp(m + 0.5 * v) * ndtr(d1)
        return scale[..., None] / (self.dim * x)

    def _scale_shift(self, t, z):
        s = self.vols(z.dtype)
        w = z @ self.cholesky(z.dtype).T
        return jnp.exp((self.rate - 0.5 * s * s) * t + jnp.sqrt(t) * w), jnp.zeros_like(z)

    def generator(self, x):
        return self.rate * x, x[:, None] * self.cholesky(x.dtype)


PROBLEMS: dict[str, type[Problem]] = {
    "heat_square": HeatSquare,
    "heat_cosine": HeatCosine,
    "black_scholes_geometric": BlackScholesGeometric,
}


def make_problem(name: str, **params) -> Problem:
    """The problem ``name`` (a key of :data:`PROBLEMS`) with the given fields."""
    if name not in PROBLEMS:
        raise ValueError(f"unknown problem {name!r}; available: {sorted(PROBLEMS)}")
    cls = PROBLEMS[name]
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - fields)
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} for problem {name!r}; "
                         f"allowed: {sorted(fields)}")
    return cls(**params)


# -- learning solver ------------------------------------------------------------------------


def feynman_kac_data(problem: Problem, dtype=None) -> Callable:
    r"""The Beck et al. data stream: ``data(key, batch_size) -> (xi, y)``.

    :math:`\xi\sim\mathcal U([a,b]^d)` of shape ``(batch_size, d)`` and
    :math:`y=\varphi(X_T^\xi)` of shape ``(batch_size, 1)``, one fresh Feynman–Kac path per
    point. The minimizer of :math:`\mathbb E[(N(\xi)-y)^2]` over all measurable N is
    :math:`\mathbb E[\varphi(X_T^\xi)\mid\xi]=u(T,\xi)`. Pure and jit-traceable.

    The same ``(problem, dtype)`` returns the same function object, so
    :func:`jrelu.train.train` reuses its compiled program across training segments.
    """
    dtype = jnp.result_type(float) if dtype is None else jnp.dtype(dtype)
    return _feynman_kac_data(problem, dtype)


@functools.lru_cache(maxsize=64)
def _feynman_kac_data(problem: Problem, dtype) -> Callable:
    def data(key, batch_size):
        k_xi, k_path = jax.random.split(key)
        xi = problem.sample_box(k_xi, batch_size, dtype)
        y = problem.phi(problem.terminal(k_path, xi))
        return xi, y[:, None]

    return data


def solve_learning(problem: Problem, net: Network, optimizer, steps: int, batch_size: int,
                   key, **train_kwargs):
    r"""Train ``net`` on :func:`feynman_kac_data` with :func:`jrelu.train.train` (MSE loss).

    Minimizes :math:`\mathbb E[(N(\xi)-\varphi(X_T^\xi))^2]` by SGD-type steps with
    ``optimizer`` (an optax ``GradientTransformation``), ``batch_size`` fresh samples per
    step; step i uses ``fold_in(key, start_step + i)``, so a run split into segments
    (``opt_state=..., start_step=...`` in ``train_kwargs``) reproduces the unsplit run.

    Returns:
      ``(net, history)`` as :func:`jrelu.train.train` returns them.
    """
    from .train import train

    if net.input_dim != problem.dim or net.output_dim != 1:
        raise ValueError(f"the network must map R^{problem.dim} to R (d = {problem.dim}), got "
                         f"widths {net.widths}")
    data = feynman_kac_data(problem, net.dtype)
    return train(net, data, optimizer, steps, batch_size, key, loss="mse", **train_kwargs)


# -- constructive solver --------------------------------------------------------------------


def path_maps(problem: Problem, key, n: int, dtype=None):
    r"""n Feynman–Kac paths as maps :math:`x\mapsto s_i\odot x+c_i`, ``(s, c)`` each ``(n, d)``.

    The same paths are used for every x (common random numbers), so
    :math:`\frac1n\sum_i\varphi(s_i\odot x+c_i)` is an unbiased estimate of
    :math:`u(T,x)` that is a deterministic function of x.
    """
    n = _positive_int("n (number of paths)", n)
    dtype = jnp.result_type(float) if dtype is None else jnp.dtype(dtype)
    z = jax.random.normal(key, (n, problem.dim), dtype)
    return problem.scale_shift(z)


def averaging_network(phi_net: Network, scales, shifts) -> Network:
    r"""The Monte-Carlo averaging network :math:`\frac1n\sum_{i=1}^nR\Phi_\varphi(s_i\odot x+c_i)`.

    Built as :func:`~jrelu.linear_combination` with coefficients 1/n of the compositions
    :math:`\Phi_\varphi\circ((\operatorname{diag}s_i,c_i))`. By the chain rule for network
    derivatives (exact at every x, MATH.md §2, fact 2) and the parallelization rule,

    .. math::
        D^N\Bigl(\tfrac1n\textstyle\sum_i\Phi_\varphi\circ W_i\Bigr)(x)
        =\tfrac1n\textstyle\sum_iD^N\Phi_\varphi(s_i\odot x+c_i)\operatorname{diag}(s_i),

    so if :math:`\Phi_\varphi` approximates φ in :math:`W^{1,\infty}`, the network
    approximates u(T,·) and its D^N approximates ∇u(T,·) (the delta).

    Args:
      phi_net: :math:`\Phi_\varphi`, widths ``(d, ..., 1)``.
      scales, shifts: shape ``(n, d)`` each, e.g. from :func:`path_maps`.

    Returns:
      a network of widths ``(d, n·N_1, ..., n·N_{L-1}, 1)``; its matrices are dense
      (block-diagonal after the first layer), so memory grows like :math:`n^2`.
    """
    scales, shifts = jnp.asarray(scales), jnp.asarray(shifts)
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


@functools.partial(jax.jit, static_argnames=("problem", "activation"))
def _error_sums(net, x, problem, activation):
    v = realize(net, x, activation)[:, 0]
    g = derivative(net, x, activation)[:, 0, :]
    u, gu = problem.solution(x), problem.solution_grad(x)
    ev, eg = v - u, jnp.sqrt(jnp.sum((g - gu) ** 2, axis=-1))
    return (jnp.sum(ev**2), jnp.sum(u**2), jnp.sum(eg**2), jnp.sum(gu**2),
            jnp.max(jnp.abs(ev)), jnp.max(eg))


def relative_l2_errors(net: Network, problem: Problem, xs, activation: Activation = relu,
                       chunk_size: int = 8192) -> dict:
    r"""Relative :math:`L^2` errors of ``net`` against :math:`u(T,\cdot)` and its gradient
    on the sample ``xs`` (shape ``(n, d)``):

    .. math::
        e_u=\Bigl(\frac{\sum_j(R\Phi(x_j)-u(T,x_j))^2}{\sum_ju(T,x_j)^2}\Bigr)^{1/2},\quad
        e_{\nabla u}=\Bigl(\frac{\sum_j\|D^N\Phi(x_j)-\nabla u(T,x_j)\|^2}
        {\sum_j\|\nabla u(T,x_j)\|^2}\Bigr)^{1/2}.

    With ``xs`` uniform on the box these are Monte-Carlo estimates of the relative
    :math:`L^2(\mathcal U([a,b]^d))` errors. Also returns the maximum absolute errors on
    the sample. Evaluated in chunks of ``chunk_size`` points.
    """
    xs = _check_points(problem, xs, "xs")
    if xs.ndim != 2:
        raise ValueError(f"xs must have shape (n, {problem.dim}), got {xs.shape}")
    if net.input_dim != problem.dim or net.output_dim != 1:
        raise ValueError(f"the network must map R^{problem.dim} to R, got widths {net.widths}")

    acc = np.zeros(6)
    for i in range(0, xs.shape[0], chunk_size):
        part = np.asarray(jax.device_get(_error_sums(net, xs[i:i + chunk_size], problem,
                                                     activation)), np.float64)
        acc[:4] += part[:4]
        acc[4:] = np.maximum(acc[4:], part[4:])
    return {
        "value_rel_l2": float(np.sqrt(acc[0] / acc[1])),
        "grad_rel_l2": float(np.sqrt(acc[2] / acc[3])),
        "value_max_abs": float(acc[4]),
        "grad_max_abs": float(acc[5]),
        "points": int(xs.shape[0]),
    }
