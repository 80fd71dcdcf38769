r"""Training costs and their generalized gradient.

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
:math:`\mathfrak L(p,y)` (``"mse"``, ``"huber"``, ``"softmax_cross_entropy"`` or a
callable, all C¹ in p) are those of :mod:`jrelu.losses`.

The generalized gradient
------------------------
:math:`G(\theta)` is backpropagation with :math:`\mathrm{ReLU}'=\mathbf 1_{(0,\infty)}`:

.. math::
    z^k=A_kh^{k-1}+b_k,\quad h^k=\varrho(z^k),\quad
    \delta^L=w\,\nabla_1\mathfrak L(z^L,y),\quad
    \delta^k=\mathbf 1_{(0,\infty)}(z^k)\odot A_{k+1}^T\delta^{k+1},\\
    G_{A_k}=\sum_m\delta^k_m(h^{k-1}_m)^T,\qquad G_{b_k}=\sum_m\delta^k_m .

It is what PyTorch, TensorFlow and ``jax.grad`` through :class:`jrelu.ReLU` compute.
Dereich, Do, Jentzen and Weber prove: (i) G(θ) is a limiting Fréchet subgradient of ℒ at
every θ; (ii) G = ∇ℒ on every open set where ℒ is C¹; (iii) G(θ) = lim ∇ℒ_r(θ) for an
appropriate smoothing :math:`R_r\to\mathrm{ReLU}`. :func:`smoothed_gradient` and
:func:`convergence_study` make (iii) checkable and show which families
(:class:`jrelu.Smoothing`) are admissible; :func:`limiting_subgradient_certificate`
exhibits (i) constructively; :func:`differentiability_report` says where (ii) applies.

References:
  Dereich, Do, Jentzen, Weber (2025), *Mathematical analysis of the gradients in deep
  learning*, `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_;
  Berner, Elbrächter, Grohs, Jentzen (2019),
  `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _checks
from .activations import Activation, ReLU, Smoothing
from .derivative import KinkReport, kink_report
from .losses import Loss, resolve
from .network import Network, flatten, preactivations

__all__ = [
    "ConvergenceStudy",
    "DifferentiabilityReport",
    "KinkLocation",
    "SubgradientCertificate",
    "convergence_study",
    "differentiability_report",
    "empirical_risk",
    "generalized_gradient",
    "limiting_subgradient_certificate",
    "smoothed_gradient",
]

_RELU = ReLU()

# -- input checks ---------------------------------------------------------------------


def _data(net, xs, ys, loss: Loss, weights=None):
    _checks.array("ys", ys)  # a TypeError naming ys for strings, objects, bool arrays
    return _checks.data_set(net, xs, ys, targets=loss.targets, weights=weights)


# -- costs ----------------------------------------------------------------------------


def _risk_and_preacts(net, xs, ys, loss: Loss, activation, weights):
    """ℒ and the pre-activations of the same forward pass (no input checks)."""
    zs = preactivations(net, xs, activation=activation)
    return loss.risk(zs[-1], ys, weights=weights), zs


@functools.partial(jax.jit, static_argnames=("loss", "activation"))
def _risk_jit(net, xs, ys, weights, loss, activation):
    return _risk_and_preacts(net, xs, ys, loss, activation, weights)[0]


@functools.partial(jax.jit, static_argnames=("loss", "activation"))
def _autodiff_grad_jit(net, xs, ys, weights, loss, activation):
    """``jax.grad`` of ℒ through the activation's custom JVP."""
    return jax.grad(lambda n: _risk_and_preacts(n, xs, ys, loss, activation, weights)[0])(net)


@functools.partial(jax.jit, static_argnames=("activation",))
def _hidden_preacts_jit(net, xs, activation):
    return preactivations(net, xs, activation=activation)[:-1]


def empirical_risk(net: Network, xs: ArrayLike, ys: ArrayLike, *, loss="mse",
                   weights: ArrayLike | None = None,
                   activation: Activation = _RELU) -> jax.Array:
    r"""The cost :math:`\mathcal L(\theta)=\sum_m w_m\,\mathfrak L(N^\theta(x_m),y_m)`.

    .. math::
        \mathcal L(\theta)=\sum_{m=1}^M w_m\,\mathfrak L\big(N^\theta(x_m),y_m\big),
        \qquad w_m=\tfrac1M\ \text{by default (the empirical risk)}.

    Args:
      net: the network :math:`\Phi` (its weights are θ).
      xs: inputs, shape ``(M, N_0)``.
      ys: targets, shape ``(M, N_L)``; for ``"softmax_cross_entropy"`` also integer class
        indices of shape ``(M,)``.
      loss: ``"mse"``, ``"huber"``, ``"softmax_cross_entropy"``, a
        :class:`jrelu.losses.Loss`, or a callable ``loss(pred, y) -> scalar`` (one
        sample, C¹ in ``pred``); see :mod:`jrelu.losses`.
      weights: optional nonnegative masses ``(M,)`` of the measure μ; default ``1/M`` each.
        Used as given, not renormalized.
      activation: ϱ (default :class:`jrelu.ReLU`).

    Returns:
      a scalar of the network's dtype. Differentiable with ``jax.grad``: through
      :class:`jrelu.ReLU` that gives exactly :func:`generalized_gradient`.

    Raises:
      TypeError: if ``net`` is not a :class:`jrelu.Network`, ``activation`` not a
        :class:`jrelu.Activation`, or ``loss`` neither a name nor callable.
      ValueError: for an unknown loss name, shapes that do not fit the network, an empty
        data set, non-finite data (with its position) or negative weights, before any
        work.

    Example:
      >>> net, xs, ys = jrelu.examples.degenerate_deep_example()
      >>> f"{float(jrelu.empirical_risk(net, xs, ys)):.4f}"
      '0.5885'
      >>> f"{float(jrelu.empirical_risk(net, xs, ys, loss='huber')):.4f}"
      '0.2884'

    References:
      Dereich, Do, Jentzen, Weber (2025),
      `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_;
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    loss = resolve(loss)
    _checks.activation("activation", activation)
    xs, ys, weights = _data(net, xs, ys, loss, weights)
    return _risk_jit(net, xs, ys, weights, loss, activation)


# -- the generalized gradient ------------------------------------------------------------


def _backprop(net: Network, xs, ys, loss: Loss, activation: Activation, weights) -> Network:
    r"""Explicit backpropagation with ``activation.deriv`` at the hidden layers,
    independent of JAX autodiff of the network."""
    hs, zs = [xs], []
    for k, (A, b) in enumerate(net.layers):
        z = jnp.matmul(hs[-1], A.T) + b
        zs.append(z)
        if k < len(net.layers) - 1:
            hs.append(activation.value(z))
    delta = loss.risk_grad(zs[-1], ys, weights=weights)  # δ^L, (M, N_L)
    grads = [None] * len(net.layers)
    for k in range(len(net.layers) - 1, -1, -1):
        A, _ = net.layers[k]
        # G_{A_k} = δᵀh contracted over the batch axis in place (the dot jax.grad emits):
        # with ``matmul(delta.T, h)`` XLA may copy the transpose first and then sum over the
        # batch in another order, depending on its thread settings
        G_A = jax.lax.dot_general(delta, hs[k], (((0,), (0,)), ((), ())))
        grads[k] = (G_A, jnp.sum(delta, axis=0))  # G_{A_k}, G_{b_k}
        if k > 0:
            delta = activation.deriv(zs[k - 1]).astype(delta.dtype) * jnp.matmul(delta, A)
    return Network(grads)


@functools.partial(jax.jit, static_argnames=("loss", "activation"))
def _backprop_jit(net, xs, ys, weights, loss, activation):
    return _backprop(net, xs, ys, loss, activation, weights)


def generalized_gradient(net: Network, xs: ArrayLike, ys: ArrayLike, *, loss="mse",
                         weights: ArrayLike | None = None,
                         activation: Activation = _RELU) -> Network:
    r"""The generalized gradient :math:`G(\theta)` as a Network-shaped pytree.

    .. math::
        \delta^L_m=w_m\nabla_1\mathfrak L(z^L_m,y_m),\quad
        \delta^k_m=D\varrho(z^k_m)\odot A_{k+1}^T\delta^{k+1}_m,\quad
        G_{A_k}=\sum_m\delta^k_m(h^{k-1}_m)^T,\quad G_{b_k}=\sum_m\delta^k_m,

    with :math:`D\varrho=\mathbf 1_{(0,\infty)}` for :class:`jrelu.ReLU` (value 0 at the
    kink), the convention of PyTorch, TensorFlow and ``jax.nn.relu``. Computed by an
    explicit backward pass with the closed-form :math:`\nabla_1\mathfrak L` of
    :mod:`jrelu.losses` (not by JAX autodiff), so it is an independent check of
    ``jax.grad`` of :func:`empirical_risk`. Another activation uses its chosen
    :math:`D\varrho`. For a flat parameter vector θ compose with :func:`jrelu.unflatten`
    and :func:`jrelu.flatten`.

    Args:
      net: the network :math:`\Phi` (its weights are θ).
      xs: inputs, shape ``(M, N_0)``.
      ys: targets, shape ``(M, N_L)`` (or integer class indices ``(M,)`` for
        ``"softmax_cross_entropy"``).
      loss: as in :func:`empirical_risk`.
      weights: optional nonnegative masses ``(M,)``; default ``1/M`` each.
      activation: ϱ (default :class:`jrelu.ReLU`).

    Returns:
      a :class:`jrelu.Network` whose ``layers[k]`` is :math:`(G_{A_{k+1}},G_{b_{k+1}})`,
      same shapes as ``net``. G equals :math:`\nabla\mathcal L` wherever ℒ is C¹ (e.g. no
      hidden pre-activation on the data is 0: :func:`differentiability_report`).

    Raises:
      TypeError: as :func:`empirical_risk`.
      ValueError: as :func:`empirical_risk`.

    Example:
      >>> net, xs, ys = jrelu.examples.degenerate_deep_example()
      >>> G = jrelu.generalized_gradient(net, xs, ys)
      >>> float(G.layers[1][1][0])  # ∂ℒ/∂b_2 at the kink: ReLU'(0) = 0
      0.0
      >>> [a.shape for a, b in G.layers]
      [(2, 1), (1, 2), (1, 1)]

    References:
      Dereich, Do, Jentzen, Weber (2025),
      `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_;
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    loss = resolve(loss)
    _checks.activation("activation", activation)
    xs, ys, weights = _data(net, xs, ys, loss, weights)
    return _backprop_jit(net, xs, ys, weights, loss, activation)


# -- smoothing ---------------------------------------------------------------------------


def _check_family(family):
    """A named family (validated) or a user callable ``r -> Activation``."""
    if isinstance(family, str):
        return _checks.one_of("family", family, Smoothing.FAMILIES)
    if callable(family):
        return family
    raise TypeError(f"family must be one of {sorted(Smoothing.FAMILIES)} or a callable "
                    f"r -> Activation, got {type(family).__name__}: {family!r:.80}")


def _user_family_member(family, r) -> Activation:
    act = family(r)
    if not isinstance(act, Activation):
        raise TypeError(f"family(r) must return a jrelu.Activation for r={r}, "
                        f"got {type(act).__name__}")
    return act


@functools.partial(jax.jit, static_argnames=("loss", "name"))
def _named_family_grad_jit(net, xs, ys, weights, r, loss, name):
    act = Smoothing(family=name, r=jnp.asarray(r, net.dtype))  # traced r: one compilation
    return jax.grad(lambda n: _risk_and_preacts(n, xs, ys, loss, act, weights)[0])(net)


def _smoothed_gradient_checked(net, xs, ys, weights, r, family, loss):
    if isinstance(family, str):
        return _named_family_grad_jit(net, xs, ys, weights, r, loss, family)
    return _autodiff_grad_jit(net, xs, ys, weights, loss, _user_family_member(family, r))


def smoothed_gradient(net: Network, xs: ArrayLike, ys: ArrayLike, *, r: float,
                      family="c1_blend", loss="mse",
                      weights: ArrayLike | None = None) -> Network:
    r""":math:`\nabla\mathcal L_r(\theta)`, the gradient of the cost with ReLU replaced by
    the C¹ smoothing :math:`R_r` of ``family``.

    .. math::
        \mathcal L_r(\theta)=\sum_m w_m\,\mathfrak L\big(N^\theta_{R_r}(x_m),y_m\big),
        \qquad R_r\to\mathrm{ReLU}\ (r\to\infty).

    ℒ_r is C¹ in θ, so this is an honest gradient (``jax.grad`` of
    :func:`empirical_risk` with ``activation=R_r``). Admissible at every θ (the limit is
    G(θ)): ``"c1_blend"``, which equals ReLU on :math:`(-\infty,0]\cup[1/r,\infty)`; the
    softplus families only where ℒ is C¹ near θ.

    Args:
      net: the network (θ).
      xs: inputs, shape ``(M, N_0)``.
      ys: targets, as :func:`empirical_risk`.
      r: the smoothing parameter, finite and > 0.
      family: a name in :attr:`jrelu.Smoothing.FAMILIES` (``"c1_blend"``,
        ``"shifted_softplus"``, ``"softplus"``) or a callable ``r -> Activation`` (a user
        family, C¹ with :math:`R_r\to\mathrm{ReLU}`).
      loss: as in :func:`empirical_risk`.
      weights: optional nonnegative masses ``(M,)``; default ``1/M`` each.

    Returns:
      a :class:`jrelu.Network`-shaped pytree, same shapes as ``net``.

    Raises:
      TypeError: for a wrong ``net``, ``loss`` or ``family`` type, or a family whose
        member is not a :class:`jrelu.Activation`.
      ValueError: for ``r`` not finite and > 0, an unknown family or loss name, or data
        as :func:`empirical_risk`.

    Example:
      >>> net, xs, ys = jrelu.examples.degenerate_deep_example()
      >>> g = jrelu.smoothed_gradient(net, xs, ys, r=1e6, family="shifted_softplus")
      >>> round(float(g.layers[1][1][0]), 2)  # the other one-sided derivative, not G
      0.9
      >>> float(jrelu.smoothed_gradient(net, xs, ys, r=1e6).layers[1][1][0])  # c1_blend
      0.0

    References:
      Dereich, Do, Jentzen, Weber (2025),
      `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_;
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    r = _checks.positive("r", r)
    family = _check_family(family)
    loss = resolve(loss)
    xs, ys, weights = _data(net, xs, ys, loss, weights)
    return _smoothed_gradient_checked(net, xs, ys, weights, r, family, loss)


def _json(x):
    """``x`` with NumPy/JAX arrays and scalars as Python lists and numbers (JSON-able)."""
    if isinstance(x, (np.ndarray, jax.Array, np.generic)):
        return np.asarray(x).tolist()
    if isinstance(x, dict):
        return {k: _json(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return [_json(v) for v in x]
    if dataclasses.is_dataclass(x):
        return x.to_dict()
    return x


@dataclasses.dataclass(frozen=True, eq=False)  # holds arrays: compare fields, not reports
class ConvergenceStudy:
    r"""The table :math:`\|\nabla\mathcal L_r(\theta)-G(\theta)\|_2` against r.

    .. math:: e(r)=\|\nabla\mathcal L_r(\theta)-G(\theta)\|_2\approx C\,r^{\text{rate}}.

    Args:
      family: the family's name (or repr of the callable).
      rs: ``(n,)`` the smoothing parameters.
      errors: ``(n,)`` :math:`\|\nabla\mathcal L_r-G\|_2` over all of θ.
      gradients: ``(n, d)`` the flat :math:`\nabla\mathcal L_r(\theta)`.
      generalized_gradient: ``(d,)`` the flat G(θ).
      rate: least-squares slope of log(error) against log(r) over the entries with
        error > 0 (NaN if fewer than two): the observed order.
      exact_from: the smallest tabulated r from which on every error is exactly 0, or None.
      converged: True if the last error is ≤ ``tol`` (relative to max(1, ‖G‖)).

    Example:
      >>> net, xs, ys = jrelu.examples.degenerate_deep_example()
      >>> study = jrelu.convergence_study(net, xs, ys, family="c1_blend", rs=[1e2, 1e3])
      >>> study.converged, study.errors.tolist()
      (True, [0.0, 0.0])
      >>> sorted(study.to_dict())[:3]
      ['converged', 'errors', 'exact_from']

    References:
      Dereich, Do, Jentzen, Weber (2025),
      `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_.
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
        r"""The table as text: one row ``r  error`` per smoothing parameter.

        Returns:
          a multi-line string.
        """
        lines = [f"family {self.family}: ‖∇ℒ_r − G‖₂ against r", f"{'r':>12} {'error':>12}"]
        lines += [f"{r:12.4g} {e:12.4e}" for r, e in zip(self.rs, self.errors)]
        lines.append(f"observed rate (log-log slope): {self.rate:.3g}; exact from r = "
                     f"{self.exact_from}; converged: {self.converged}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        r"""The study as a JSON-able dict (arrays as nested lists).

        Returns:
          a dict with one key per field.
        """
        return {f.name: _json(getattr(self, f.name)) for f in dataclasses.fields(self)}


def convergence_study(net: Network, xs: ArrayLike, ys: ArrayLike, *, family="c1_blend",
                      rs: ArrayLike | None = None, loss="mse",
                      weights: ArrayLike | None = None,
                      tol: float = 1e-6) -> ConvergenceStudy:
    r"""Tabulate :math:`\|\nabla\mathcal L_r(\theta)-G(\theta)\|_2` for r in ``rs``.

    .. math:: e(r)=\|\nabla\mathcal L_r(\theta)-G(\theta)\|_2,\qquad r\in\mathtt{rs}.

    Where no hidden pre-activation on the data is 0, ``"softplus"`` converges
    exponentially fast (error :math:`\lesssim e^{-r\min|z|}`) and ``"shifted_softplus"``
    like :math:`\ln r/r` (log-log slope ≈ −1); at a kink hit by the data they may
    converge to something else (:func:`jrelu.examples.degenerate_deep_example`).
    ``"c1_blend"`` is exact from :math:`r=1/z_*` on, :math:`z_*` the smallest positive
    hidden pre-activation. The log-log ``rate`` is a summary of the table, not a law.

    Args:
      net: the network (θ).
      xs: inputs, shape ``(M, N_0)``.
      ys: targets, as :func:`empirical_risk`.
      family: a smoothing family, as in :func:`smoothed_gradient`.
      rs: ``(n,)`` strictly increasing smoothing parameters > 0 (default
        :math:`10^1,\dots,10^6`, half decades).
      loss: as in :func:`empirical_risk`.
      weights: optional nonnegative masses ``(M,)``; default ``1/M`` each.
      tol: the ``converged`` threshold on the last error, relative to max(1, ‖G‖₂).

    Returns:
      a :class:`ConvergenceStudy` (``.table()`` prints it).

    Raises:
      TypeError: for a wrong ``net``, ``loss`` or ``family`` type, or ``rs`` that is not a
        real array.
      ValueError: for ``rs`` empty, not 1-d, not strictly increasing or with an entry
        not finite and > 0, a negative ``tol``, an unknown family or loss name, or data
        as :func:`empirical_risk`.

    Example:
      >>> net, xs, ys = jrelu.examples.degenerate_deep_example()
      >>> study = jrelu.convergence_study(net, xs, ys, family="softplus",
      ...                                 rs=[1e2, 1e4, 1e6])
      >>> study.converged  # converges to 0.45 in ∂/∂b_2, not to G
      False

    References:
      Dereich, Do, Jentzen, Weber (2025),
      `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_;
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    loss_obj = resolve(loss)
    xs, ys, weights = _data(net, xs, ys, loss_obj, weights)
    rs = np.logspace(1, 6, 11) if rs is None else np.asarray(_checks.array("rs", rs),
                                                            dtype=float)
    if rs.ndim != 1 or rs.size == 0:
        raise ValueError(f"rs must be a non-empty 1-d sequence, got shape {rs.shape}")
    for i, r in enumerate(rs):
        _checks.positive(f"rs[{i}]", float(r))
    if np.any(np.diff(rs) <= 0):
        raise ValueError(f"rs must be strictly increasing, got {rs.tolist()}")
    tol = _checks.nonnegative("tol", tol)
    family = _check_family(family)  # unknown names fail here, before any work
    g = np.asarray(flatten(_backprop_jit(net, xs, ys, weights, loss_obj, _RELU)))
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


# -- the limiting-subgradient certificate --------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)  # holds arrays: compare fields, not reports
class SubgradientCertificate:
    r"""The constructive proof that G(θ) is a limiting Fréchet subgradient of ℒ at θ.

    Row n of every array belongs to :math:`\theta_n`, θ with the hidden biases lowered,
    :math:`b_k\mapsto b_k-\varepsilon_k^{(n)}` (k = 1, …, L−1):

    .. math:: \theta_n\to\theta,\quad \mathcal L(\theta_n)\to\mathcal L(\theta),\quad
        \nabla\mathcal L(\theta_n)\to G(\theta).

    Args:
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
      certified: True if the last ≥ 2 rows all have :math:`\min|z|>0` and G's pattern,
        ``distance`` decreases strictly and ``grad_error`` and ``loss_gap`` are
        non-increasing over them (up to 64 ulps of rounding).
      verdict: the overall verdict in words.

    Example:
      >>> net, xs, ys = jrelu.examples.degenerate_deep_example()
      >>> cert = jrelu.limiting_subgradient_certificate(net, xs, ys, num=4)
      >>> cert.certified, cert.kinks_at_theta, cert.to_dict()["certified"]
      (True, 7, True)

    References:
      Dereich, Do, Jentzen, Weber (2025),
      `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_.
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
        r"""The certificate as text, one row per :math:`\theta_n`.

        Returns:
          a multi-line string.
        """
        lines = [f"{'n':>3} {'‖θn−θ‖':>11} {'min|z|':>11} {'pattern':>7} "
                 f"{'‖∇ℒ(θn)−G‖':>11} {'|ℒ(θn)−ℒ|':>11}"]
        for n in range(len(self.distance)):
            lines.append(f"{n + 1:3d} {self.distance[n]:11.3e} "
                         f"{self.min_abs_preactivation[n]:11.3e} "
                         f"{'same' if self.pattern_matches[n] else 'DIFF':>7} "
                         f"{self.grad_error[n]:11.3e} {self.loss_gap[n]:11.3e}")
        lines.append(f"kinks at θ: {self.kinks_at_theta}; {self.verdict}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        r"""The certificate as a JSON-able dict (arrays as nested lists).

        Returns:
          a dict with one key per field.
        """
        return {f.name: _json(getattr(self, f.name)) for f in dataclasses.fields(self)}


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


def limiting_subgradient_certificate(net: Network, xs: ArrayLike, ys: ArrayLike, *,
                                     loss="mse", num: int = 8,
                                     weights: ArrayLike | None = None,
                                     shifts: ArrayLike | None = None
                                     ) -> SubgradientCertificate:
    r"""Exhibit :math:`\theta_n\to\theta` with ℒ differentiable at :math:`\theta_n`,
    :math:`\mathcal L(\theta_n)\to\mathcal L(\theta)` and
    :math:`\nabla\mathcal L(\theta_n)\to G(\theta)`: the proof, for this (θ, data), that
    G(θ) is a limiting Fréchet subgradient (Dereich, Do, Jentzen, Weber, Theorem (i)).

    .. math::
        \theta_n=\theta\ \text{with}\ b_k\mapsto b_k-\varepsilon_k^{(n)},\qquad
        \varepsilon_1^{(n)}\ll\varepsilon_2^{(n)}\ll\dots\ll\varepsilon_{L-1}^{(n)}\to0.

    A pre-activation that is 0 at θ becomes
    :math:`\le-\varepsilon_k+(\text{perturbation from layers}<k)<0`, since the
    perturbation is :math:`O(\varepsilon_{k-1})\ll\varepsilon_k`; nonzero ones keep their
    sign for small ε. As ReLU(0) = ReLU(negative) = 0, :math:`\theta_n` has G(θ)'s
    activation pattern and no pre-activation at 0, so ℒ is C¹ near :math:`\theta_n`
    and :math:`\nabla\mathcal L(\theta_n)` is backprop with that pattern, a polynomial in
    :math:`\theta_n` converging to G(θ). Each step of this argument is *checked* on the
    data, not assumed: ``min_abs_preactivation`` > 0 and ``pattern_matches``.

    Args:
      net: the network (θ), activation ReLU with :math:`\mathrm{ReLU}'(0)=0`.
      xs: inputs, shape ``(M, N_0)``.
      ys: targets, as :func:`empirical_risk`.
      loss: as in :func:`empirical_risk`.
      num: number of points :math:`\theta_n`, ≥ 1.
      weights: optional nonnegative masses ``(M,)``; default ``1/M`` each.
      shifts: optional ``(num, L-1)`` array of :math:`\varepsilon_k^{(n)}` > 0 to use
        instead of the default :math:`\varepsilon_k^{(n)}=s\,t_n^{L-k}` (s = half the
        smallest nonzero :math:`|z|` of a hidden pre-activation, capped at 1;
        :math:`t_n` geometric from 1/16 down to the smallest value the dtype resolves
        for :math:`\varepsilon_1`).

    Returns:
      a :class:`SubgradientCertificate` (``.table()`` prints it). When a shift is below the
      float resolution and a pre-activation stays exactly 0, or a shift flips a sign,
      the row's verdict says so (layer, neuron, data index) and that row does not count.

    Raises:
      TypeError: for a wrong ``net``, ``loss`` or ``num`` type.
      ValueError: for ``num`` < 1, ``shifts`` of the wrong shape or not finite and > 0,
        or data as :func:`empirical_risk`.

    Example:
      >>> net, xs, ys = jrelu.examples.degenerate_deep_example()
      >>> cert = jrelu.limiting_subgradient_certificate(net, xs, ys, num=4)
      >>> cert.certified, cert.verdict.split(":")[0]
      (True, 'certified')
      >>> print(cert.table().splitlines()[0])
      n      ‖θn−θ‖      min|z| pattern  ‖∇ℒ(θn)−G‖   |ℒ(θn)−ℒ|

    References:
      Dereich, Do, Jentzen, Weber (2025),
      `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_;
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    loss_obj = resolve(loss)
    num = _checks.size("num", num)
    xs, ys, weights = _data(net, xs, ys, loss_obj, weights)
    L = len(net.layers)
    risk = lambda n: _risk_jit(n, xs, ys, weights, loss_obj, _RELU)  # noqa: E731
    grad = lambda n: _autodiff_grad_jit(n, xs, ys, weights, loss_obj, _RELU)  # noqa: E731
    zs = _hidden_preacts_jit(net, xs, _RELU)
    g = np.asarray(flatten(_backprop_jit(net, xs, ys, weights, loss_obj, _RELU)))
    loss0 = float(risk(net))
    kinks0 = int(sum(int(jnp.sum(_RELU.kink_mask(z))) for z in zs))
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
        zs_n = [np.asarray(z) for z in _hidden_preacts_jit(net_n, xs, _RELU)]
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


# -- differentiability report ----------------------------------------------------------------


_kink_report_jit = jax.jit(kink_report, static_argnames="activation")


@dataclasses.dataclass(frozen=True)
class KinkLocation:
    r"""A hidden neuron and the data points where its pre-activation sits on a kink.

    .. math:: \{m : R_k\Phi(x_m)_i=\kappa\ \text{for a kink}\ \kappa\ \text{of}\ \varrho\}.

    Args:
      layer: the hidden layer k, 1-based.
      neuron: the neuron i, 0-based.
      data_indices: the data indices m, 0-based.

    Example:
      >>> jrelu.KinkLocation(2, 0, (1, 4)).to_dict()
      {'layer': 2, 'neuron': 0, 'data_indices': [1, 4]}

    References:
      Dereich, Do, Jentzen, Weber (2025),
      `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_.
    """

    layer: int
    neuron: int
    data_indices: tuple

    def to_dict(self) -> dict:
        r"""The location as a JSON-able dict.

        Returns:
          ``{"layer": k, "neuron": i, "data_indices": [m, ...]}``.
        """
        return {"layer": self.layer, "neuron": self.neuron,
                "data_indices": list(self.data_indices)}


@dataclasses.dataclass(frozen=True, eq=False)  # holds arrays: compare fields, not reports
class DifferentiabilityReport:
    r"""Whether ℒ is certainly C¹ near θ, and where not.

    .. math:: \text{certainly C}^1\iff R_k\Phi(x_m)_i\notin\{\text{kinks}\}
        \ \text{for all hidden}\ (k,i)\ \text{and all}\ m.

    Args:
      certainly_c1: True if no hidden pre-activation of any data point is exactly at a
        kink. Then, as the finitely many pre-activations are continuous in θ, they keep
        their signs on a neighbourhood of θ, where ℒ is a composition of polynomials and
        the C¹ loss: ℒ is C¹ there and G(θ) = ∇ℒ(θ). False does *not* prove ℒ is not C¹
        (a kink can be hidden by a zero downstream weight).
      locations: the :class:`KinkLocation` s at a kink.
      kink_report: the :class:`jrelu.KinkReport` of the data.
      num_points_affected: number of data points with some hidden pre-activation at a kink.

    Example:
      >>> net, xs, ys = jrelu.examples.degenerate_deep_example()
      >>> rep = jrelu.differentiability_report(net, xs)
      >>> rep.certainly_c1, rep.num_points_affected
      (False, 7)
      >>> print(rep)
      ℒ may fail to be C¹ near θ: 7 data point(s) sit on a kink
        layer 2, neuron 0: data indices [0, 1, 2, 3, 4, 5, 6]

    References:
      Dereich, Do, Jentzen, Weber (2025),
      `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_.
    """

    certainly_c1: bool
    locations: tuple
    kink_report: KinkReport
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

    def to_dict(self) -> dict:
        r"""The report as a JSON-able dict (the kink report's arrays as nested lists).

        Returns:
          a dict with one key per field.
        """
        return {"certainly_c1": self.certainly_c1,
                "locations": [loc.to_dict() for loc in self.locations],
                "kink_report": _json(self.kink_report._asdict()),
                "num_points_affected": self.num_points_affected}


def differentiability_report(net: Network, xs: ArrayLike, *, ys: ArrayLike | None = None,
                             activation: Activation = _RELU) -> DifferentiabilityReport:
    r"""Is ℒ certainly C¹ near θ? Lists every (layer, neuron, data indices) whose
    pre-activation is exactly at a kink.

    .. math:: \mathcal K=\{(k,i,m): R_k\Phi(x_m)_i\ \text{is a kink of}\ \varrho\},
        \qquad \mathcal K=\emptyset\Rightarrow \mathcal L\in C^1\ \text{near}\ \theta
        \ \text{and}\ G(\theta)=\nabla\mathcal L(\theta).

    Uses :meth:`jrelu.Activation.kink_mask` via :func:`jrelu.kink_report`.

    Args:
      net: the network (θ).
      xs: data inputs, shape ``(M, N_0)``, M ≥ 1.
      ys: optional targets ``(M, ...)``, only shape-checked: whether ℒ is C¹ does not
        depend on the targets for a loss C¹ in its first argument.
      activation: ϱ (default :class:`jrelu.ReLU`).

    Returns:
      a :class:`DifferentiabilityReport` (``str()`` gives it in words).

    Raises:
      TypeError: if ``net`` is not a :class:`jrelu.Network` or ``activation`` not a
        :class:`jrelu.Activation`.
      ValueError: for ``xs`` of the wrong shape, an empty or non-finite data set, or
        ``ys`` with another number of samples.

    Example:
      >>> net = jrelu.init(jax.random.key(0), (2, 4, 1))
      >>> rep = jrelu.differentiability_report(net, jnp.array([[0.5, -1.0]]))
      >>> rep.certainly_c1, rep.locations
      (True, ())

    References:
      Dereich, Do, Jentzen, Weber (2025),
      `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_.
    """
    _checks.network("net", net)
    _checks.activation("activation", activation)
    if ys is None:
        xs_arr = _checks.array("xs", xs)
        if xs_arr.ndim != 2 or xs_arr.shape[-1] != net.input_dim or xs_arr.shape[0] == 0:
            raise ValueError(f"xs must have shape (M, N_0) = (M, {net.input_dim}) with M ≥ 1, "
                             f"got {xs_arr.shape}")
        msg = _checks.nonfinite_message("xs", xs_arr)
        if msg:
            raise ValueError(msg)
        xs = xs_arr.astype(net.dtype)
    else:
        _checks.array("ys", ys)
        xs, _, _ = _checks.data_set(net, xs, ys, targets="any")
    report = _kink_report_jit(net, xs, activation=activation)
    zs = _hidden_preacts_jit(net, xs, activation)
    locations = []
    for k, (z, hits) in enumerate(zip(zs, report.neuron_hits), start=1):
        mask = np.asarray(activation.kink_mask(z))
        for i in np.flatnonzero(np.asarray(hits)):
            locations.append(KinkLocation(k, int(i), tuple(int(m) for m in
                                                            np.flatnonzero(mask[:, i]))))
    n_aff = int(np.sum(np.asarray(report.affected)))
    return DifferentiabilityReport(not locations, tuple(locations), report, n_aff)
