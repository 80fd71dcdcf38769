r"""Training costs and their generalized gradient (MATH.md §3, [DDJW]).

Costs
-----
For a network :math:`\Phi` with parameters :math:`\theta\in\mathbb R^d` (flattened by
:func:`jrelu.flatten`: layer by layer, ``A_k`` row-major, then ``b_k``), data
:math:`(x_m,y_m)_{m=1}^M` and nonnegative masses :math:`w_m` (default :math:`w_m=1/M`),

.. math::
    \mathcal L(\theta)=\int\mathfrak L(N^\theta(x),y)\,\mu(dx,dy)
    =\sum_{m=1}^M w_m\,\mathfrak L(N^\theta(x_m),y_m),
    \qquad \mu=\sum_m w_m\delta_{(x_m,y_m)} .

So ``weights`` are the masses of the finite measure μ, used as given (not renormalized);
without weights, μ is the empirical measure and :math:`\mathcal L` is the empirical risk
:math:`\frac1M\sum_m\mathfrak L(N^\theta(x_m),y_m)`. The per-sample losses
:math:`\mathfrak L(p,y)`, :math:`p\in\mathbb R^{N_L}`, all C¹ in p:

* ``"mse"``: :math:`\frac1{N_L}\|p-y\|^2` (mean over output components, as
  ``torch.nn.MSELoss``), :math:`\nabla_1\mathfrak L=\frac2{N_L}(p-y)`;
* ``"huber"``: :math:`\frac1{N_L}\sum_i h(p_i-y_i)`, :math:`h(a)=a^2/2` for
  :math:`|a|\le1`, :math:`|a|-\frac12` otherwise (``torch.nn.HuberLoss``, δ = 1),
  :math:`\nabla_1\mathfrak L=\frac1{N_L}\mathrm{clip}(p-y,-1,1)`;
* ``"softmax_cross_entropy"``: :math:`\log\sum_je^{p_j}-\langle y,p\rangle` with ``y``
  either class indices (integer array of shape ``(M,)``) or probability / one-hot
  vectors (shape ``(M, N_L)``), :math:`\nabla_1\mathfrak L=\mathrm{softmax}(p)-y`;
* a callable ``loss(p, y) -> scalar`` for one sample (``p`` of shape ``(N_L,)``), C¹ in
  ``p``; its :math:`\nabla_1` is taken with ``jax.grad``.

The generalized gradient
------------------------
:math:`G(\theta)` is backpropagation with :math:`\mathrm{ReLU}'=\mathbf 1_{(0,\infty)}`:

.. math::
    z^k=A_kh^{k-1}+b_k,\quad h^k=\varrho(z^k),\quad
    \delta^L=w\,\nabla_1\mathfrak L(z^L,y),\quad
    \delta^k=\mathbf 1_{(0,\infty)}(z^k)\odot A_{k+1}^T\delta^{k+1},\\
    G_{A_k}=\sum_m\delta^k_m(h^{k-1}_m)^T,\qquad G_{b_k}=\sum_m\delta^k_m .

It is what PyTorch, TensorFlow and ``jax.grad`` through :data:`jrelu.relu` compute.
[DDJW] prove: (i) G(θ) is a limiting Fréchet subgradient of ℒ at every θ; (ii) G = ∇ℒ on
every open set where ℒ is C¹; (iii) G(θ) = lim ∇ℒ_r(θ) for an appropriate smoothing
:math:`R_r\to\mathrm{ReLU}`. :func:`smoothed_gradient` and :func:`convergence_study`
make (iii) checkable and show which families are admissible;
:func:`limiting_subgradient_certificate` exhibits (i) constructively;
:func:`differentiability_report` says where (ii) applies.

References: S. Dereich, T. Do, A. Jentzen, F. Weber, *Mathematical analysis of the
gradients in deep learning*, arXiv:2501.15646 (2025).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .activations import Activation, relu
from .derivative import kink_report
from .network import Network, flatten, preactivations, unflatten

__all__ = [
    "LOSSES",
    "empirical_risk",
    "empirical_risk_flat",
    "generalized_gradient",
    "generalized_gradient_flat",
    "ShiftedSoftplus",
    "ScaledSoftplus",
    "C1Blend",
    "SMOOTHING_FAMILIES",
    "smoothing_family",
    "smoothed_gradient",
    "ConvergenceStudy",
    "convergence_study",
    "SubgradientCertificate",
    "limiting_subgradient_certificate",
    "KinkLocation",
    "DifferentiabilityReport",
    "differentiability_report",
]

LOSSES = ("mse", "huber", "softmax_cross_entropy")


# -- losses ---------------------------------------------------------------------


class _Loss(NamedTuple):
    """A per-sample loss: ``value(pred, ys) -> (M,)`` and ``grad(pred, ys) -> (M, N_L)``."""

    name: str
    value: Callable
    grad: Callable
    class_indices_ok: bool


def _mse_value(p, y):
    return jnp.mean((p - y) ** 2, axis=-1)


def _mse_grad(p, y):
    return 2.0 * (p - y) / p.shape[-1]


def _huber_value(p, y):
    a = jnp.abs(p - y)
    return jnp.mean(jnp.where(a <= 1.0, 0.5 * a * a, a - 0.5), axis=-1)


def _huber_grad(p, y):
    return jnp.clip(p - y, -1.0, 1.0) / p.shape[-1]


def _as_probabilities(p, y):
    """``y`` as probability vectors of p's shape (class indices become one-hot)."""
    if y.ndim == p.ndim - 1:
        return jax.nn.one_hot(y, p.shape[-1], dtype=p.dtype)
    return y.astype(p.dtype)


def _ce_value(p, y):
    q = _as_probabilities(p, y)
    return jax.nn.logsumexp(p, axis=-1) - jnp.sum(q * p, axis=-1)


def _ce_grad(p, y):
    return jax.nn.softmax(p, axis=-1) - _as_probabilities(p, y)


_NAMED_LOSSES = {
    "mse": _Loss("mse", _mse_value, _mse_grad, False),
    "huber": _Loss("huber", _huber_value, _huber_grad, False),
    "softmax_cross_entropy": _Loss("softmax_cross_entropy", _ce_value, _ce_grad, True),
}


def _resolve_loss(loss) -> _Loss:
    if isinstance(loss, _Loss):
        return loss
    if isinstance(loss, str):
        if loss not in _NAMED_LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose one of {list(_NAMED_LOSSES)} or "
                             "pass a callable loss(pred, y) -> scalar")
        return _NAMED_LOSSES[loss]
    if callable(loss):
        return _callable_loss(loss)
    raise TypeError(f"loss must be one of {list(_NAMED_LOSSES)} or a callable, "
                    f"got {type(loss).__name__}")


@functools.lru_cache(maxsize=64)
def _callable_loss(loss) -> _Loss:
    """The :class:`_Loss` of a user callable (cached, so jit caches stay warm)."""
    value = jax.vmap(loss)
    grad = jax.vmap(jax.grad(loss))

    def checked_value(p, y):
        out = value(p, y)
        if out.shape != p.shape[:1]:
            raise ValueError(f"a callable loss must return a scalar per sample; "
                             f"loss(pred, y) returned shape {out.shape[1:]}")
        return out

    name = "callable:" + getattr(loss, "__name__", "loss")
    return _Loss(name, checked_value, grad, True)


# -- input checks ---------------------------------------------------------------


def _is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def _first_nonfinite(name: str, arr) -> str | None:
    """A message naming the first non-finite entry of a concrete float array, else None."""
    if not _is_concrete(arr) or not jnp.issubdtype(arr.dtype, jnp.inexact):
        return None
    a = np.asarray(arr)
    bad = np.argwhere(~np.isfinite(a))
    if not bad.size:
        return None
    idx = tuple(int(i) for i in bad[0])
    where = f"row {idx[0]}" + (f", column {idx[1]}" if len(idx) > 1 else "")
    return (f"{name} has a non-finite value {a[idx]} at {where} "
            f"({len(bad)} non-finite entr{'y' if len(bad) == 1 else 'ies'} in all)")


def _check_data(net: Network, xs, ys, loss: _Loss, weights=None, *, where: str = ""):
    r"""Validate ``(xs, ys, weights)`` against ``net`` and the loss; return arrays.

    ``xs``: (M, N_0); ``ys``: (M, N_L), or (M,) integer class indices for a loss that
    accepts them; ``weights``: (M,) nonnegative. Non-finite values are reported with their
    position when the arrays are concrete (outside ``jit``).
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a jrelu.Network, got {type(net).__name__}")
    pre = f"{where}: " if where else ""
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    n0, nl = net.input_dim, net.output_dim
    if xs.ndim != 2 or xs.shape[1] != n0:
        raise ValueError(f"{pre}xs must have shape (M, N_0) = (M, {n0}) for a network with "
                         f"widths {net.widths}, got shape {xs.shape}")
    M = xs.shape[0]
    if M == 0:
        raise ValueError(f"{pre}the data set is empty (xs has shape {xs.shape})")
    if ys.shape[:1] != (M,):
        raise ValueError(f"{pre}xs and ys must have the same number of samples: xs has shape "
                         f"{xs.shape} ({M} samples), ys has shape {ys.shape}")
    integer_ys = jnp.issubdtype(ys.dtype, jnp.integer)
    if loss.name == "softmax_cross_entropy" and ys.ndim == 1:
        if not integer_ys:
            raise ValueError(f"{pre}ys of shape (M,) are class indices and must be integers, "
                             f"got dtype {ys.dtype}")
        if _is_concrete(ys):
            y_np = np.asarray(ys)
            bad = np.flatnonzero((y_np < 0) | (y_np >= nl))
            if bad.size:
                raise ValueError(f"{pre}class index ys[{bad[0]}] = {y_np[bad[0]]} is out of "
                                 f"range for N_L = {nl} classes")
    elif loss.name in _NAMED_LOSSES and (ys.ndim != 2 or ys.shape[1] != nl):
        hint = (" (class indices must be an integer array of shape (M,))"
                if loss.class_indices_ok else "")
        raise ValueError(f"{pre}ys must have shape (M, N_L) = ({M}, {nl}) for a network with "
                         f"widths {net.widths}, got shape {ys.shape}{hint}")
    for name, arr in (("xs", xs), ("ys", ys)):
        msg = _first_nonfinite(name, arr)
        if msg:
            raise ValueError(pre + msg)
    xs = xs.astype(net.dtype)
    if not integer_ys or loss.name in ("mse", "huber"):
        ys = ys.astype(net.dtype)
    if weights is not None:
        weights = jnp.asarray(weights)
        if weights.shape != (M,):
            raise ValueError(f"{pre}weights must have shape (M,) = ({M},), got {weights.shape}")
        if not jnp.issubdtype(weights.dtype, jnp.inexact):
            weights = weights.astype(net.dtype)
        msg = _first_nonfinite("weights", weights)
        if msg:
            raise ValueError(pre + msg)
        if _is_concrete(weights) and bool(np.any(np.asarray(weights) < 0)):
            i = int(np.flatnonzero(np.asarray(weights) < 0)[0])
            raise ValueError(f"{pre}weights are the masses of a finite measure and must be "
                             f"nonnegative; weights[{i}] = {float(weights[i])}")
    return xs, ys, weights


def _masses(weights, M: int, dtype):
    return jnp.full((M,), 1.0 / M, dtype) if weights is None else weights.astype(dtype)


# -- costs ----------------------------------------------------------------------


def _risk_and_preacts(net, xs, ys, loss: _Loss, activation, weights):
    """ℒ and the pre-activations of the same forward pass (no input checks)."""
    zs = preactivations(net, xs, activation)
    per_sample = loss.value(zs[-1], ys)
    return jnp.sum(_masses(weights, xs.shape[0], per_sample.dtype) * per_sample), zs


@functools.partial(jax.jit, static_argnames=("loss", "activation"))
def _risk_jit(net, xs, ys, weights, loss, activation):
    return _risk_and_preacts(net, xs, ys, loss, activation, weights)[0]


@functools.partial(jax.jit, static_argnames=("loss", "activation"))
def _autodiff_grad_jit(net, xs, ys, weights, loss, activation):
    """``jax.grad`` of ℒ through the activation's custom JVP."""
    return jax.grad(lambda n: _risk_and_preacts(n, xs, ys, loss, activation, weights)[0])(net)


@functools.partial(jax.jit, static_argnames=("activation",))
def _hidden_preacts_jit(net, xs, activation):
    return preactivations(net, xs, activation)[:-1]


def empirical_risk(net: Network, xs, ys, loss="mse", activation: Activation = relu,
                   weights=None) -> jax.Array:
    r"""The cost :math:`\mathcal L(\theta)=\sum_m w_m\,\mathfrak L(N^\theta(x_m),y_m)`.

    Args:
      net: the network :math:`\Phi` (its weights are θ).
      xs: inputs, shape ``(M, N_0)``.
      ys: targets, shape ``(M, N_L)``; for ``"softmax_cross_entropy"`` also integer class
        indices of shape ``(M,)``.
      loss: ``"mse"``, ``"huber"``, ``"softmax_cross_entropy"`` or a callable
        ``loss(pred, y) -> scalar`` (one sample, C¹ in ``pred``); see the module docstring.
      activation: ϱ (default :data:`jrelu.relu`).
      weights: optional nonnegative masses ``(M,)`` of the measure μ; default ``1/M`` each
        (the empirical risk). Used as given, not renormalized.

    Returns:
      a scalar. Differentiable with ``jax.grad``: through :data:`jrelu.relu` that gives
      exactly :func:`generalized_gradient`.

    Raises:
      ValueError: for shapes that do not fit the network, an empty data set, non-finite data
        (with its position) or negative weights, before any work.
    """
    loss = _resolve_loss(loss)
    xs, ys, weights = _check_data(net, xs, ys, loss, weights)
    return _risk_jit(net, xs, ys, weights, loss, activation)


def empirical_risk_flat(theta, widths: Sequence[int], xs, ys, loss="mse",
                        activation: Activation = relu, weights=None) -> jax.Array:
    r""":func:`empirical_risk` as a function of the flat parameter vector
    :math:`\theta\in\mathbb R^d` (layout of :func:`jrelu.flatten`) for architecture
    ``widths`` = :math:`(N_0,\dots,N_L)`."""
    return empirical_risk(unflatten(theta, widths), xs, ys, loss, activation, weights)


# -- the generalized gradient ------------------------------------------------------


def _backprop(net: Network, xs, ys, loss: _Loss, activation: Activation, weights,
              deriv: Callable | None = None) -> Network:
    r"""Explicit backpropagation (MATH.md §3), independent of JAX autodiff of the network.

    ``deriv`` is the derivative used at hidden layers (default ``activation.deriv``).
    """
    deriv = activation.deriv if deriv is None else deriv
    hs, zs = [xs], []
    for k, (A, b) in enumerate(net.layers):
        z = jnp.matmul(hs[-1], A.T) + b
        zs.append(z)
        if k < len(net.layers) - 1:
            hs.append(activation.value(z))
    w = _masses(weights, xs.shape[0], zs[-1].dtype)
    delta = w[:, None] * loss.grad(zs[-1], ys).astype(zs[-1].dtype)  # δ^L, (M, N_L)
    grads = [None] * len(net.layers)
    for k in range(len(net.layers) - 1, -1, -1):
        A, _ = net.layers[k]
        grads[k] = (jnp.matmul(delta.T, hs[k]), jnp.sum(delta, axis=0))  # G_{A_k}, G_{b_k}
        if k > 0:
            delta = deriv(zs[k - 1]).astype(delta.dtype) * jnp.matmul(delta, A)
    return Network(grads)


@functools.partial(jax.jit, static_argnames=("loss", "activation"))
def _backprop_jit(net, xs, ys, weights, loss, activation):
    return _backprop(net, xs, ys, loss, activation, weights)


def generalized_gradient(net: Network, xs, ys, loss="mse", activation: Activation = relu,
                         weights=None) -> Network:
    r"""The generalized gradient :math:`G(\theta)` as a Network-shaped pytree [DDJW].

    .. math::
        \delta^L_m=w_m\nabla_1\mathfrak L(z^L_m,y_m),\quad
        \delta^k_m=D\varrho(z^k_m)\odot A_{k+1}^T\delta^{k+1}_m,\quad
        G_{A_k}=\sum_m\delta^k_m(h^{k-1}_m)^T,\quad G_{b_k}=\sum_m\delta^k_m,

    with :math:`D\varrho=\mathbf 1_{(0,\infty)}` for :data:`jrelu.relu` (kink value 0), the
    convention of PyTorch, TensorFlow and ``jax.nn.relu``. Computed by an explicit
    backward pass (not by JAX autodiff), so it is an independent check of ``jax.grad`` of
    :func:`empirical_risk`. Another activation uses its chosen :math:`D\varrho`.

    Args: as :func:`empirical_risk`.

    Returns:
      a :class:`~jrelu.Network` whose ``layers[k]`` is :math:`(G_{A_{k+1}},G_{b_{k+1}})`,
      same shapes as ``net``. G equals :math:`\nabla\mathcal L` wherever ℒ is C¹ (e.g. no
      hidden pre-activation on the data is 0: :func:`differentiability_report`).
    """
    loss = _resolve_loss(loss)
    xs, ys, weights = _check_data(net, xs, ys, loss, weights)
    return _backprop_jit(net, xs, ys, weights, loss, activation)


def generalized_gradient_flat(theta, widths: Sequence[int], xs, ys, loss="mse",
                              activation: Activation = relu, weights=None) -> jax.Array:
    r""":math:`G(\theta)\in\mathbb R^d` for a flat θ (layout of :func:`jrelu.flatten`)."""
    return flatten(generalized_gradient(unflatten(theta, widths), xs, ys, loss, activation,
                                        weights))


# -- smoothing families --------------------------------------------------------------


def _check_r(r) -> float:
    try:
        r = float(r)
    except (TypeError, ValueError):
        raise ValueError(f"the smoothing parameter r must be a real number, got {r!r}") from None
    if not (math.isfinite(r) and r > 0):
        raise ValueError(f"the smoothing parameter r must be finite and > 0, got {r!r}")
    return r


def _shifted_softplus_value(z, r):
    u = r * z - jnp.log(r)
    return jnp.logaddexp(u, jnp.zeros_like(u)) / r


def _shifted_softplus_deriv(z, r):
    return jax.nn.sigmoid(r * z - jnp.log(r))


def _softplus_value(z, r):
    u = r * z
    return jnp.logaddexp(u, jnp.zeros_like(u)) / r


def _softplus_deriv(z, r):
    return jax.nn.sigmoid(r * z)


def _c1_blend_value(z, r):
    t = jnp.clip(r * z, 0.0, 1.0)
    inner = (2.0 * t * t - t * t * t) / r
    return jnp.where(t >= 1.0, z, jnp.where(t <= 0.0, jnp.zeros_like(z), inner))


def _c1_blend_deriv(z, r):
    t = jnp.clip(r * z, 0.0, 1.0)
    return jnp.where(t >= 1.0, 1.0, jnp.where(t <= 0.0, 0.0, 4.0 * t - 3.0 * t * t)
                     ).astype(jnp.result_type(z))


#: name -> (R_r(z), R_r'(z)) as functions of (z, r); r may be traced.
_FAMILY_FORMULAS = {
    "shifted_softplus": (_shifted_softplus_value, _shifted_softplus_deriv),
    "softplus": (_softplus_value, _softplus_deriv),
    "c1_blend": (_c1_blend_value, _c1_blend_deriv),
}


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _family_apply(name: str, z, r):
    """R_r(z) of a named family with a *traced* r (one compilation for all r); the JVP
    in z is R_r'(z)·dz. r is a parameter here, never differentiated (stop_gradient)."""
    return _FAMILY_FORMULAS[name][0](z, r)


@_family_apply.defjvp
def _family_apply_jvp(name, primals, tangents):
    z, r = primals
    dz, _ = tangents
    return _family_apply(name, z, r), _FAMILY_FORMULAS[name][1](z, r).astype(z.dtype) * dz


class _TracedFamily:
    """Callable ϱ = R_r for :func:`jrelu.preactivations` inside ``jit`` with traced r."""

    def __init__(self, name, r):
        self.name, self.r = name, r

    def __call__(self, z):
        return _family_apply(self.name, z, jax.lax.stop_gradient(self.r).astype(z.dtype))


@dataclasses.dataclass(frozen=True)
class ShiftedSoftplus(Activation):
    r""":math:`R_r(x)=\mathrm{softplus}(rx-\ln r)/r`, :math:`R_r'(x)=\sigma(rx-\ln r)`.

    C^∞, :math:`|R_r-\mathrm{ReLU}|\le(\ln r+\ln2)/r` for r ≥ 1, with
    :math:`0<R_r(x)-x+\frac{\ln r}{r}\le e^{-rx}` for x > 0, and
    :math:`R_r'\to\mathbf 1_{(0,\infty)}` pointwise (:math:`R_r'(0)=1/(1+r)`).
    **Not admissible** in general: in deep networks at degenerate θ the offset
    :math:`-\ln r/r` of active neurons pushes a downstream pre-activation that is 0 under
    ReLU to :math:`\approx c\ln r/r>0`, where :math:`R_r'\to1`; ∇ℒ_r then converges to
    something other than G — in :func:`jrelu.examples.degenerate_deep_example`, to the other
    one-sided derivative.
    Computed with ``logaddexp``, stable for large r.
    """

    r: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "r", _check_r(self.r))

    def value(self, z):
        return _shifted_softplus_value(z, jnp.asarray(self.r, jnp.result_type(z)))

    def deriv(self, z):
        return _shifted_softplus_deriv(z, jnp.asarray(self.r, jnp.result_type(z)))


@dataclasses.dataclass(frozen=True)
class ScaledSoftplus(Activation):
    r""":math:`R_r(x)=\mathrm{softplus}(rx)/r`, :math:`R_r'(x)=\sigma(rx)`.

    C^∞, :math:`0<R_r-\mathrm{ReLU}\le\ln2/r`, but :math:`R_r'(0)=\frac12` for every r,
    so the derivatives do not converge to :math:`\mathbf 1_{(0,\infty)}` at 0. **Not
    admissible**: at a kink hit by the data ∇ℒ_r tends to the average of the one-sided
    slopes (0.45 instead of 0 in the degenerate example). Stable for large r.
    """

    r: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "r", _check_r(self.r))

    def value(self, z):
        return _softplus_value(z, jnp.asarray(self.r, jnp.result_type(z)))

    def deriv(self, z):
        return _softplus_deriv(z, jnp.asarray(self.r, jnp.result_type(z)))


@dataclasses.dataclass(frozen=True)
class C1Blend(Activation):
    r"""C¹ smoothing equal to ReLU outside :math:`(0,1/r)`.

    .. math::
        R_r(x)=\begin{cases}0&x\le0\\(2t^2-t^3)/r,\ t=rx&0<x<1/r\\x&x\ge1/r\end{cases},
        \qquad R_r'(x)=\begin{cases}0&x\le0\\4t-3t^2&0<x<1/r\\1&x\ge1/r.\end{cases}

    **Admissible, with exact convergence.** :math:`R_r=\mathrm{ReLU}` and
    :math:`R_r'=\mathbf 1_{(0,\infty)}` on :math:`(-\infty,0]\cup[1/r,\infty)`. Given θ
    and data, let :math:`z_*` be the smallest *positive* hidden pre-activation of the ReLU
    network on the data. For :math:`r\ge1/z_*`, by induction over the layers every
    pre-activation of the :math:`R_r`-network equals the ReLU one (each lies in
    :math:`(-\infty,0]\cup[1/r,\infty)`, where :math:`R_r` and ReLU agree), and so does
    every derivative factor; hence :math:`\nabla\mathcal L_r(\theta)=G(\theta)` exactly, at
    every θ, degenerate ones included. The point is :math:`R_r=\mathrm{ReLU}` on
    :math:`(-\infty,0]`: a zero pre-activation produces exactly 0 and no perturbation
    reaches the next layer, which pointwise convergence of :math:`R_r'` alone does not give.
    """

    r: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "r", _check_r(self.r))

    def value(self, z):
        return _c1_blend_value(z, jnp.asarray(self.r, jnp.result_type(z)))

    def deriv(self, z):
        return _c1_blend_deriv(z, jnp.asarray(self.r, jnp.result_type(z)))


#: The named smoothing families: name -> (r -> R_r).
SMOOTHING_FAMILIES: dict[str, Callable[[float], Activation]] = {
    "shifted_softplus": ShiftedSoftplus,
    "softplus": ScaledSoftplus,
    "c1_blend": C1Blend,
}


def smoothing_family(family) -> Callable[[float], Activation]:
    r"""Resolve a family: a name in :data:`SMOOTHING_FAMILIES` or a callable
    ``r -> Activation`` (a user family, which should be C¹ with :math:`R_r\to` ReLU).

    Admissibility (what :func:`convergence_study` demonstrates): ``"c1_blend"`` — any C¹
    family with :math:`R_r=\mathrm{ReLU}` on :math:`(-\infty,0]` and on
    :math:`[\epsilon_r,\infty)`, :math:`\epsilon_r\to0` — gives
    :math:`\nabla\mathcal L_r(\theta)\to G(\theta)` at every θ (exactly, for r large).
    ``"shifted_softplus"`` and ``"softplus"`` converge to G only where ℒ is C¹ near θ
    (no hidden pre-activation exactly 0 on the data); at degenerate θ in deep networks
    they may converge to something else.
    """
    if isinstance(family, str):
        if family not in SMOOTHING_FAMILIES:
            raise ValueError(f"unknown smoothing family {family!r}; choose one of "
                             f"{list(SMOOTHING_FAMILIES)} or pass a callable r -> Activation")
        return SMOOTHING_FAMILIES[family]
    if callable(family):
        return family
    raise TypeError(f"family must be a name in {list(SMOOTHING_FAMILIES)} or a callable "
                    f"r -> Activation, got {type(family).__name__}")


def _smoothed_activation(family, r) -> Activation:
    act = smoothing_family(family)(r)
    if not isinstance(act, Activation):
        raise TypeError(f"the smoothing family must return a jrelu.Activation for r={r}, "
                        f"got {type(act).__name__}")
    return act


def smoothed_gradient(net: Network, xs, ys, r, family="c1_blend", loss="mse",
                      weights=None) -> Network:
    r""":math:`\nabla\mathcal L_r(\theta)`, the gradient of the cost with ReLU replaced by
    the C¹ function :math:`R_r` of ``family`` (see :func:`smoothing_family`).

    ℒ_r is C¹ in θ, so this is an honest gradient (``jax.grad`` of
    :func:`empirical_risk` with ``activation=R_r``). Returns a Network-shaped pytree.
    """
    r = _check_r(r)
    loss = _resolve_loss(loss)
    xs, ys, weights = _check_data(net, xs, ys, loss, weights)
    return _smoothed_gradient_checked(net, xs, ys, weights, r, family, loss)


@functools.partial(jax.jit, static_argnames=("loss", "name"))
def _named_family_grad_jit(net, xs, ys, weights, r, loss, name):
    act = _TracedFamily(name, jnp.asarray(r, net.dtype))
    return jax.grad(lambda n: _risk_and_preacts(n, xs, ys, loss, act, weights)[0])(net)


def _smoothed_gradient_checked(net, xs, ys, weights, r, family, loss):
    if isinstance(family, str) and family in _FAMILY_FORMULAS:
        return _named_family_grad_jit(net, xs, ys, weights, r, loss, family)
    act = _smoothed_activation(family, r)
    return _autodiff_grad_jit(net, xs, ys, weights, loss, act)


class ConvergenceStudy(NamedTuple):
    r"""The table :math:`\|\nabla\mathcal L_r(\theta)-G(\theta)\|_2` against r.

    Attributes:
      family: the family's name (or repr of the callable).
      rs: ``(n,)`` the smoothing parameters.
      errors: ``(n,)`` :math:`\|\nabla\mathcal L_r-G\|_2` over all of θ.
      gradients: ``(n, d)`` the flat :math:`\nabla\mathcal L_r(\theta)`.
      generalized_gradient: ``(d,)`` the flat G(θ).
      rate: least-squares slope of log(error) against log(r) over the entries with
        error > 0 (NaN if fewer than two): the observed order, error ≈ C r^rate.
      exact_from: the smallest tabulated r from which on every error is exactly 0, or None.
      converged: True if the last error is ≤ ``tol`` (relative to max(1, ‖G‖)).
    """

    family: str
    rs: np.ndarray
    errors: np.ndarray
    gradients: np.ndarray
    generalized_gradient: np.ndarray
    rate: float
    exact_from: float | None
    converged: bool

    def table(self) -> str:
        """The table as text."""
        lines = [f"family {self.family}: ‖∇ℒ_r − G‖₂ against r", f"{'r':>12} {'error':>12}"]
        lines += [f"{r:12.4g} {e:12.4e}" for r, e in zip(self.rs, self.errors)]
        lines.append(f"observed rate (log-log slope): {self.rate:.3g}; exact from r = "
                     f"{self.exact_from}; converged: {self.converged}")
        return "\n".join(lines)


def convergence_study(net: Network, xs, ys, family="c1_blend", rs=None, loss="mse",
                      weights=None, tol: float = 1e-6) -> ConvergenceStudy:
    r"""Tabulate :math:`\|\nabla\mathcal L_r(\theta)-G(\theta)\|_2` for r in ``rs``.

    Args:
      net, xs, ys, loss, weights: as :func:`empirical_risk`.
      family: a smoothing family (:func:`smoothing_family`). Admissible at every θ:
        ``"c1_blend"`` (exact for :math:`r\ge1/z_*`, :math:`z_*` the smallest positive
        hidden pre-activation); the softplus families only where ℒ is C¹ near θ.
      rs: increasing smoothing parameters (default :math:`10^1,\dots,10^6`, half decades).
      tol: the ``converged`` threshold on the last error, relative to max(1, ‖G‖₂).

    Returns:
      a :class:`ConvergenceStudy` (``.table()`` prints it). Where no hidden pre-activation
      on the data is 0, ``"softplus"`` converges exponentially fast (error
      :math:`\lesssim e^{-r\min|z|}`) and ``"shifted_softplus"`` like :math:`\ln r/r`
      (log-log slope ≈ −1); at a kink hit by the data they may converge to something
      else (:func:`jrelu.examples.degenerate_deep_example`). ``"c1_blend"`` is exact from
      :math:`r=1/z_*` on. The log-log ``rate`` is a summary of the table, not a law.
    """
    loss_obj = _resolve_loss(loss)
    xs, ys, weights = _check_data(net, xs, ys, loss_obj, weights)
    rs = np.logspace(1, 6, 11) if rs is None else np.asarray(rs, dtype=float)
    if rs.ndim != 1 or rs.size == 0:
        raise ValueError(f"rs must be a non-empty 1-d sequence, got shape {rs.shape}")
    for r in rs:
        _check_r(r)
    if np.any(np.diff(rs) <= 0):
        raise ValueError(f"rs must be strictly increasing, got {rs.tolist()}")
    smoothing_family(family)  # unknown names fail here, before any work
    g = np.asarray(flatten(_backprop_jit(net, xs, ys, weights, loss_obj, relu)))
    grads = np.stack([np.asarray(flatten(_smoothed_gradient_checked(
        net, xs, ys, weights, float(r), family, loss_obj))) for r in rs])
    errors = np.linalg.norm(grads - g, axis=1)
    pos = errors > 0
    rate = float(np.polyfit(np.log(rs[pos]), np.log(errors[pos]), 1)[0]) if pos.sum() >= 2 \
        else float("nan")
    exact_from = None
    zero_tail = np.flatnonzero(~np.flip(errors == 0))
    n_tail = len(errors) if zero_tail.size == 0 else int(zero_tail[0])
    if n_tail:
        exact_from = float(rs[len(errors) - n_tail])
    name = family if isinstance(family, str) else repr(family)
    converged = bool(errors[-1] <= tol * max(1.0, float(np.linalg.norm(g))))
    return ConvergenceStudy(name, rs, errors, grads, g, rate, exact_from, converged)


# -- the limiting-subgradient certificate ------------------------------------------


class SubgradientCertificate(NamedTuple):
    r"""The constructive proof that G(θ) is a limiting Fréchet subgradient of ℒ at θ.

    Row n of every array belongs to :math:`\theta_n`, θ with the hidden biases lowered,
    :math:`b_k\mapsto b_k-\varepsilon_k^{(n)}` (k = 1, …, L−1).

    Attributes:
      shifts: ``(num, L-1)`` the :math:`\varepsilon_k^{(n)}`, hierarchical
        (:math:`\varepsilon_1\ll\dots\ll\varepsilon_{L-1}`) and decreasing in n.
      distance: ``(num,)`` :math:`\|\theta_n-\theta\|_2`.
      min_abs_preactivation: ``(num,)`` the smallest :math:`|z|` over all hidden
        pre-activations of the data at :math:`\theta_n`; > 0 proves ℒ is C¹ near
        :math:`\theta_n` (finitely many continuous pre-activations keep their signs
        nearby), so :math:`\nabla\mathcal L(\theta_n)` is its (unique) Fréchet subgradient.
      pattern_matches: ``(num,)`` :math:`\mathbf 1_{(0,\infty)}(z(\theta_n))=
        \mathbf 1_{(0,\infty)}(z(\theta))` on every hidden neuron and data point, i.e.
        :math:`\nabla\mathcal L(\theta_n)` is backprop with G(θ)'s activation pattern.
      grad_error: ``(num,)`` :math:`\|\nabla\mathcal L(\theta_n)-G(\theta)\|_2`.
      loss_gap: ``(num,)`` :math:`|\mathcal L(\theta_n)-\mathcal L(\theta)|`.
      verdicts: one sentence per n.
      kinks_at_theta: number of (point, neuron) pairs with pre-activation exactly 0 at θ.
      certified: True if the last ≥ 2 rows all have min |z| > 0 and the pattern of G,
        ``distance`` decreases strictly and ``grad_error`` and ``loss_gap`` are
        non-increasing over them (up to 64 ulps of rounding).
      verdict: the overall verdict in words.
    """

    shifts: np.ndarray
    distance: np.ndarray
    min_abs_preactivation: np.ndarray
    pattern_matches: np.ndarray
    grad_error: np.ndarray
    loss_gap: np.ndarray
    verdicts: tuple
    kinks_at_theta: int
    certified: bool
    verdict: str

    def table(self) -> str:
        """The certificate as text."""
        lines = [f"{'n':>3} {'‖θn−θ‖':>11} {'min|z|':>11} {'pattern':>7} "
                 f"{'‖∇ℒ(θn)−G‖':>11} {'|ℒ(θn)−ℒ|':>11}"]
        for n in range(len(self.distance)):
            lines.append(f"{n + 1:3d} {self.distance[n]:11.3e} "
                         f"{self.min_abs_preactivation[n]:11.3e} "
                         f"{'same' if self.pattern_matches[n] else 'DIFF':>7} "
                         f"{self.grad_error[n]:11.3e} {self.loss_gap[n]:11.3e}")
        lines.append(f"kinks at θ: {self.kinks_at_theta}; {self.verdict}")
        return "\n".join(lines)


def _default_shifts(zs_hidden, num: int, dtype) -> np.ndarray:
    r""":math:`\varepsilon_k^{(n)}=s\,t_n^{L-k}` with :math:`t_n` geometric from 1/16 down
    to the smallest t for which :math:`\varepsilon_1` stays ≳ 1000 ulps of the data scale."""
    n_hidden = len(zs_hidden)
    abs_all = np.concatenate([np.abs(np.asarray(z)).ravel() for z in zs_hidden])
    nonzero = abs_all[abs_all > 0]
    s = 0.5 * float(nonzero.min()) if nonzero.size else 0.5
    s = min(s, 1.0)
    scale = max(1.0, float(abs_all.max()) if abs_all.size else 1.0)
    resolution = 1e3 * float(jnp.finfo(dtype).eps) * scale / s
    t_min = min(resolution ** (1.0 / n_hidden), 1.0 / 32)
    ts = np.geomspace(1.0 / 16, t_min, num) if num > 1 else np.array([1.0 / 16])
    powers = np.arange(n_hidden, 0, -1)  # ε_1 = s t^{L-1}, …, ε_{L-1} = s t
    return s * ts[:, None] ** powers[None, :]


def limiting_subgradient_certificate(net: Network, xs, ys, loss="mse", num: int = 8,
                                     weights=None, shifts=None) -> SubgradientCertificate:
    r"""Exhibit :math:`\theta_n\to\theta` with ℒ differentiable at :math:`\theta_n`,
    :math:`\mathcal L(\theta_n)\to\mathcal L(\theta)` and
    :math:`\nabla\mathcal L(\theta_n)\to G(\theta)` — the proof, for this (θ, data), that
    G(θ) is a limiting Fréchet subgradient [DDJW, Theorem (i)].

    Construction (MATH.md §3). Lower the hidden biases of layer k by
    :math:`\varepsilon_k`, :math:`\varepsilon_1\ll\varepsilon_2\ll\dots\ll
    \varepsilon_{L-1}\to0`. A pre-activation that is 0 at θ becomes
    :math:`\le-\varepsilon_k+(\text{perturbation from layers}<k)<0`, since the
    perturbation is :math:`O(\varepsilon_{k-1})\ll\varepsilon_k`; nonzero ones keep their
    sign for small ε. As ReLU(0) = ReLU(negative) = 0, :math:`\theta_n` has G(θ)'s
    activation pattern and no pre-activation at 0, so ℒ is C¹ near :math:`\theta_n`
    and :math:`\nabla\mathcal L(\theta_n)` is backprop with that pattern, a polynomial in
    :math:`\theta_n` converging to G(θ). Each step of this argument is *checked* on the
    data, not assumed: ``min_abs_preactivation`` > 0 and ``pattern_matches``.

    Args:
      net, xs, ys, loss, weights: as :func:`empirical_risk` (activation ReLU, G with
        :math:`\mathrm{ReLU}'(0)=0`).
      num: number of points :math:`\theta_n`.
      shifts: optional ``(num, L-1)`` array of :math:`\varepsilon_k^{(n)}` to use instead
        of the default :math:`\varepsilon_k^{(n)}=s\,t_n^{L-k}` (s = half the smallest
        nonzero |pre-activation| capped at 1, :math:`t_n` geometric from 1/16 down to
        the smallest value the dtype resolves for :math:`\varepsilon_1`).

    Returns:
      a :class:`SubgradientCertificate` (``.table()`` prints it). When a shift is below the
      float resolution and a pre-activation stays exactly 0, or a shift flips a sign,
      the row's verdict says so (layer, neuron, data index) and that row does not count.
    """
    loss_obj = _resolve_loss(loss)
    xs, ys, weights = _check_data(net, xs, ys, loss_obj, weights)
    num = int(num)
    if num < 1:
        raise ValueError(f"num must be ≥ 1, got {num}")
    L = len(net.layers)
    risk = lambda n: _risk_jit(n, xs, ys, weights, loss_obj, relu)
    grad = lambda n: _autodiff_grad_jit(n, xs, ys, weights, loss_obj, relu)
    zs = _hidden_preacts_jit(net, xs, relu)
    g = np.asarray(flatten(_backprop_jit(net, xs, ys, weights, loss_obj, relu)))
    loss0 = float(risk(net))
    kinks0 = int(sum(int(jnp.sum(relu.at_kink(z))) for z in zs))
    if L == 1:
        empty = np.zeros(num)
        verdict = "no hidden layer: ℒ is C¹ everywhere and G = ∇ℒ; nothing to certify"
        return SubgradientCertificate(np.zeros((num, 0)), empty, np.full(num, np.inf),
                                      np.ones(num, bool), empty, empty, (verdict,) * num,
                                      0, True, verdict)
    if shifts is None:
        shifts = _default_shifts(zs, num, net.dtype)
    shifts = np.asarray(shifts, dtype=float)
    if shifts.shape != (num, L - 1):
        raise ValueError(f"shifts must have shape (num, L-1) = ({num}, {L - 1}), "
                         f"got {shifts.shape}")
    if not np.all(np.isfinite(shifts)) or np.any(shifts <= 0):
        raise ValueError("shifts must be finite and > 0")
    pattern0 = [np.asarray(z) > 0 for z in zs]
    rows = {k: [] for k in ("dist", "minabs", "match", "gerr", "lgap", "verdict")}
    for eps in shifts:
        layers = [(A, b - jnp.asarray(e, b.dtype)) for (A, b), e in zip(net.layers[:-1], eps)]
        net_n = Network(layers + [net.layers[-1]])
        zs_n = [np.asarray(z) for z in _hidden_preacts_jit(net_n, xs, relu)]
        dist = float(np.linalg.norm(np.asarray(flatten(net_n)) - np.asarray(flatten(net))))
        minabs, where = np.inf, None
        for k, z in enumerate(zs_n):
            i = np.unravel_index(np.argmin(np.abs(z)), z.shape)
            if abs(z[i]) < minabs:
                minabs, where = float(abs(z[i])), (k, i)
        mismatch = None
        for k, (z, p) in enumerate(zip(zs_n, pattern0)):
            bad = np.argwhere((z > 0) != p)
            if bad.size:
                mismatch = (k, tuple(int(j) for j in bad[0]))
                break
        gerr = float(np.linalg.norm(np.asarray(flatten(grad(net_n))) - g))
        lgap = abs(float(risk(net_n)) - loss0)
        if minabs == 0:
            k, (m, i) = where
            text = (f"NOT separated: layer {k + 1}, neuron {i}, data point {m} still has "
                    f"pre-activation exactly 0 (shift ε_{k + 1} = {eps[k]:.3g} is below the "
                    f"float resolution there)")
        elif mismatch is not None:
            k, (m, i) = mismatch
            text = (f"pattern differs from G's at layer {k + 1}, neuron {i}, data point {m}: "
                    f"the shifts are too large or not hierarchical enough")
        else:
            text = (f"ℒ is C¹ near θ_n (min |z| = {minabs:.3g} > 0) and θ_n has G's "
                    f"activation pattern")
        for key, val in zip(rows, (dist, minabs, mismatch is None, gerr, lgap, text)):
            rows[key].append(val)
    valid = np.array([m > 0 and ok for m, ok in zip(rows["minabs"], rows["match"])])
    tail = len(valid) - (np.flatnonzero(~valid)[-1] + 1 if (~valid).any() else 0)
    gerr, lgap = np.array(rows["gerr"]), np.array(rows["lgap"])
    slack = 64 * float(jnp.finfo(net.dtype).eps) * max(1.0, float(np.linalg.norm(g)), loss0)
    monotone = bool(np.all(np.diff(gerr[-tail:]) <= slack) and
                    np.all(np.diff(lgap[-tail:]) <= slack)) if tail else False
    dist = np.array(rows["dist"])
    approaching = bool(np.all(np.diff(dist[-tail:]) < 0)) if tail else False
    certified = tail >= 2 and monotone and approaching
    if certified:
        verdict = (f"certified: at the last {tail} points θ_n → θ, ℒ is differentiable with "
                   f"G's activation pattern, and ‖∇ℒ(θ_n) − G(θ)‖ ({gerr[-1]:.3g}) and "
                   f"|ℒ(θ_n) − ℒ(θ)| ({lgap[-1]:.3g}) decrease monotonically with ‖θ_n − θ‖; "
                   "G(θ) is a limiting Fréchet subgradient of ℒ at θ")
    elif tail < 2:
        verdict = (f"NOT certified: only {tail} of the last points separate every "
                   "pre-activation from 0 with G's pattern (see the per-point verdicts)")
    elif not approaching:
        verdict = "NOT certified: ‖θ_n − θ‖ does not decrease along the given shifts"
    else:
        verdict = "NOT certified: the errors do not decrease monotonically along θ_n"
    return SubgradientCertificate(shifts, np.array(rows["dist"]), np.array(rows["minabs"]),
                                  np.array(rows["match"]), gerr, lgap, tuple(rows["verdict"]),
                                  kinks0, bool(certified), verdict)


# -- differentiability report ----------------------------------------------------------


_kink_report_jit = jax.jit(kink_report, static_argnames="activation")


class KinkLocation(NamedTuple):
    """A hidden neuron (1-based layer, 0-based neuron) and the data indices where its
    pre-activation is exactly at a kink."""

    layer: int
    neuron: int
    data_indices: tuple


class DifferentiabilityReport(NamedTuple):
    r"""Whether ℒ is certainly C¹ near θ, and where not.

    Attributes:
      certainly_c1: True if no hidden pre-activation of any data point is exactly at a
        kink. Then, as the finitely many pre-activations are continuous in θ, they keep
        their signs on a neighbourhood of θ, where ℒ is a composition of polynomials and
        the C¹ loss: ℒ is C¹ there and G(θ) = ∇ℒ(θ) [DDJW (ii)]. False does *not* prove
        ℒ is not C¹ (a kink can be hidden by a zero downstream weight).
      locations: the (layer, neuron, data indices) at a kink.
      kink_report: the :class:`jrelu.derivative.KinkReport` of the data.
      num_points_affected: number of data points with some hidden pre-activation at a kink.
    """

    certainly_c1: bool
    locations: tuple
    kink_report: object
    num_points_affected: int

    def __str__(self) -> str:
        if self.certainly_c1:
            return "ℒ is C¹ near θ: no data point has a hidden pre-activation at a kink"
        lines = [f"ℒ may fail to be C¹ near θ: {self.num_points_affected} data point(s) sit "
                 f"on a kink"]
        for loc in self.locations:
            lines.append(f"  layer {loc.layer}, neuron {loc.neuron}: data indices "
                         f"{list(loc.data_indices)}")
        return "\n".join(lines)


def differentiability_report(net: Network, xs, ys=None, activation: Activation = relu
                             ) -> DifferentiabilityReport:
    r"""Is ℒ certainly C¹ near θ? Lists every (layer, neuron, data indices) whose
    pre-activation is exactly at a kink (:meth:`jrelu.Activation.at_kink`, via
    :func:`jrelu.derivative.kink_report`).

    Args:
      net: the network (θ).
      xs: data inputs ``(M, N_0)``; ``ys`` (optional) is only shape-checked — whether ℒ is
        C¹ does not depend on the targets for a loss C¹ in its first argument.
      activation: ϱ (default :data:`jrelu.relu`).

    Returns:
      a :class:`DifferentiabilityReport` (``str()`` gives it in words).
    """
    xs_arr = jnp.asarray(xs)
    if ys is None:
        if xs_arr.ndim != 2 or xs_arr.shape[-1] != net.input_dim or xs_arr.shape[0] == 0:
            raise ValueError(f"xs must have shape (M, N_0) = (M, {net.input_dim}) with M ≥ 1, "
                             f"got {xs_arr.shape}")
        msg = _first_nonfinite("xs", xs_arr)
        if msg:
            raise ValueError(msg)
        xs = xs_arr.astype(net.dtype)
    else:
        xs, _, _ = _check_data(net, xs, ys, _resolve_loss(lambda p, y: 0.0 * jnp.sum(p)))
    report = _kink_report_jit(net, xs, activation=activation)
    zs = _hidden_preacts_jit(net, xs, activation)
    locations = []
    for k, (z, hits) in enumerate(zip(zs, report.neuron_hits), start=1):
        mask = np.asarray(activation.at_kink(z))
        for i in np.flatnonzero(np.asarray(hits)):
            locations.append(KinkLocation(k, int(i), tuple(int(m) for m in
                                                            np.flatnonzero(mask[:, i]))))
    n_aff = int(np.sum(np.asarray(report.affected)))
    return DifferentiabilityReport(not locations, tuple(locations), report, n_aff)
