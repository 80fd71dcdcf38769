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
import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .activations import Activation, relu
from .network import Network, flatten, preactivations, unflatten

__all__ = [
    "LOSSES",
    "empirical_risk",
    "empirical_risk_flat",
    "generalized_gradient",
    "generalized_gradient_flat",
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
    raise TypeError(f"loss must be one of {list(_NAMED_LOSSES)} or a callable, "
                    f"got {type(loss).__name__}")


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
    xs = xs.astype(net.dtype)
    if not integer_ys or loss.name in ("mse", "huber"):
        ys = ys.astype(net.dtype)
    for name, arr in (("xs", xs), ("ys", ys)):
        msg = _first_nonfinite(name, arr)
        if msg:
            raise ValueError(pre + msg)
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
    return _risk_and_preacts(net, xs, ys, loss, activation, weights)[0]


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
    return _backprop(net, xs, ys, loss, activation, weights)


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


@dataclasses.dataclass(frozen=True)
class ShiftedSoftplus(Activation):
    r""":math:`R_r(x)=\mathrm{softplus}(rx-\ln r)/r`, :math:`R_r'(x)=\sigma(rx-\ln r)`.

    C^∞, :math:`R_r\to\mathrm{ReLU}` uniformly (:math:`0<R_r(x)-\mathrm{ReLU}(x)+\frac{\ln
    r}{r}\mathbf 1_{x>0}\le\frac{\ln 2}{r}`… in particular :math:`R_r(x)=x-\frac{\ln r}r+o(1/r)`
    for x > 0) and :math:`R_r'\to\mathbf 1_{(0,\infty)}` pointwise (:math:`R_r'(0)=1/(1+r)`).
    **Not admissible** in general: in deep networks at degenerate θ the offset
    :math:`-\ln r/r` of active neurons pushes a downstream pre-activation that is 0 under
    ReLU to :math:`\approx c\ln r/r>0`, where :math:`R_r'\to1`; ∇ℒ_r then converges to
    the *other* one-sided derivative (see :func:`jrelu.examples.degenerate_deep_example`).
    Computed with ``logaddexp``, stable for large r.
    """

    r: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "r", _check_r(self.r))

    def value(self, z):
        u = self.r * z - math.log(self.r)
        return jnp.logaddexp(u, jnp.zeros_like(u)) / self.r

    def deriv(self, z):
        return jax.nn.sigmoid(self.r * z - math.log(self.r))


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
        u = self.r * z
        return jnp.logaddexp(u, jnp.zeros_like(u)) / self.r

    def deriv(self, z):
        return jax.nn.sigmoid(self.r * z)


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
        t = jnp.clip(self.r * z, 0.0, 1.0)
        inner = (2.0 * t * t - t * t * t) / self.r
        return jnp.where(t >= 1.0, z, jnp.where(t <= 0.0, jnp.zeros_like(z), inner))

    def deriv(self, z):
        t = jnp.clip(self.r * z, 0.0, 1.0)
        return jnp.where(t >= 1.0, 1.0, jnp.where(t <= 0.0, 0.0, 4.0 * t - 3.0 * t * t)
                         ).astype(z.dtype)


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
    act = _smoothed_activation(family, _check_r(r))
    loss = _resolve_loss(loss)
    xs, ys, weights = _check_data(net, xs, ys, loss, weights)
    return jax.grad(lambda n: _risk_and_preacts(n, xs, ys, loss, act, weights)[0])(net)


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
      a :class:`ConvergenceStudy` (``.table()`` prints it). The softplus families converge
      exponentially fast where no pre-activation is near 0 and like
      :math:`\ln r/r` or :math:`1/r` otherwise; a log-log ``rate`` is a summary, not a law.
    """
    loss_obj = _resolve_loss(loss)
    xs, ys, weights = _check_data(net, xs, ys, loss_obj, weights)
    rs = np.logspace(1, 6, 11) if rs is None else np.asarray(rs, dtype=float)
    if rs.ndim != 1 or rs.size == 0:
        raise ValueError(f"rs must be a non-empty 1-d sequence, got shape {rs.shape}")
    for r in rs:
        _check_r(r)
    g = np.asarray(flatten(_backprop(net, xs, ys, loss_obj, relu, weights)))
    grads = np.stack([np.asarray(flatten(smoothed_gradient(net, xs, ys, r, family, loss_obj,
                                                           weights))) for r in rs])
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
