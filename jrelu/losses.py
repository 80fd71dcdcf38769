r"""Per-sample losses :math:`\mathfrak L(p, y)` for costs and training.

A cost of a network :math:`\Phi` with parameters θ on data :math:`(x_m, y_m)_{m=1}^M`
with nonnegative masses :math:`w_m` (default :math:`w_m = 1/M`) is

.. math::
    \mathcal L(\theta)=\sum_{m=1}^M w_m\,\mathfrak L\big(N^\theta(x_m),y_m\big),

with a per-sample loss :math:`\mathfrak L(p, y)`, :math:`p\in\mathbb R^{N_L}`, that is C¹
in p. This module holds the losses jrelu knows by name, each a :class:`Loss` with

* its value, taken from :mod:`optax.losses` (reduced over the output components as
  ``torch.nn`` does);
* its gradient :math:`\nabla_1\mathfrak L(p, y)` in closed form, used by the explicit
  backpropagation of :func:`jrelu.generalized_gradient` (exact, not autodiff):

  - :data:`mse`: :math:`\frac1{N_L}\|p-y\|^2`, :math:`\nabla_1\mathfrak L=\frac2{N_L}(p-y)`;
  - :data:`huber`: :math:`\frac1{N_L}\sum_i h(p_i-y_i)`, :math:`h(a)=a^2/2` for
    :math:`|a|\le1` and :math:`|a|-\frac12` otherwise (δ = 1),
    :math:`\nabla_1\mathfrak L=\frac1{N_L}\mathrm{clip}(p-y,-1,1)`;
  - :data:`softmax_cross_entropy`: :math:`\log\sum_je^{p_j}-\langle y,p\rangle`, with y
    class indices or probability vectors, :math:`\nabla_1\mathfrak L=\mathrm{softmax}(p)-y`;

and a user callable ``loss(p, y) -> scalar`` (one sample) becomes a :class:`Loss` with
:func:`from_callable` (value by ``jax.vmap``, gradient by ``jax.grad``).

References:
  Dereich, Do, Jentzen, Weber (2025), `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_;
  Berner, Elbrächter, Grohs, Jentzen (2019),
  `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

__all__ = [
    "Loss",
    "NAMES",
    "from_callable",
    "huber",
    "mse",
    "resolve",
    "softmax_cross_entropy",
]


@dataclasses.dataclass(frozen=True)
class Loss:
    r"""A per-sample loss :math:`\mathfrak L(p, y)` with its gradient in p.

    .. math::
        \mathcal L=\sum_m w_m\,\mathfrak L(p_m,y_m),\qquad
        \nabla_{p_m}\mathcal L=w_m\,\nabla_1\mathfrak L(p_m,y_m).

    Frozen and hashable, so it can be a static argument of ``jax.jit``. Calling it gives
    the per-sample values, like :attr:`value`.

    Args:
      name: a label (``"mse"``, ..., or ``"callable:<function name>"``).
      value: ``value(p, y) -> (M,)``, the per-sample losses of predictions ``p`` of shape
        ``(M, N_L)`` and targets ``y`` (shape ``(M, N_L)``, or ``(M,)`` class indices when
        ``targets="classes"``).
      grad: ``grad(p, y) -> (M, N_L)``, the per-sample :math:`\nabla_1\mathfrak L(p_m,y_m)`.
      targets: what ``y`` may be: ``"values"`` (real arrays of the shape of p, cast to the
        network's dtype), ``"classes"`` (integer class indices ``(M,)`` or probability
        vectors ``(M, N_L)``) or ``"any"`` (a user loss: any shape ``(M, ...)``).

    Raises:
      ValueError: if ``targets`` is not one of the three names.

    Example:
      >>> p = jnp.array([[1.0, 2.0]])
      >>> y = jnp.array([[0.0, 0.0]])
      >>> jrelu.losses.mse(p, y).tolist()
      [2.5]
      >>> jrelu.losses.mse.grad(p, y).tolist()
      [[1.0, 2.0]]

    References:
      Dereich, Do, Jentzen, Weber (2025),
      `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_.
    """

    name: str
    value: Callable
    grad: Callable
    targets: str = dataclasses.field(default="values", kw_only=True)

    def __post_init__(self):
        if self.targets not in ("values", "classes", "any"):
            raise ValueError(f"targets must be one of ['any', 'classes', 'values'], got "
                             f"{self.targets!r}")

    def __call__(self, p: ArrayLike, y: ArrayLike) -> jax.Array:
        r"""The per-sample values :math:`\mathfrak L(p_m, y_m)`, shape ``(M,)``."""
        return self.value(p, y)

    def risk(self, p: ArrayLike, y: ArrayLike, *,
             weights: ArrayLike | None = None) -> jax.Array:
        r"""The cost :math:`\sum_m w_m\,\mathfrak L(p_m,y_m)` of predictions ``p``.

        .. math:: \mathcal L=\sum_{m=1}^M w_m\,\mathfrak L(p_m,y_m),\qquad
            w_m=1/M\ \text{by default}.

        Args:
          p: predictions, shape ``(M, N_L)``.
          y: targets, as :attr:`value` accepts them.
          weights: nonnegative masses ``(M,)``, used as given; default ``1/M`` each.

        Returns:
          a scalar of p's dtype.

        Raises:
          nothing itself; shapes are checked by the callers (:func:`jrelu.empirical_risk`).

        Example:
          >>> p, y = jnp.array([[1.0], [3.0]]), jnp.zeros((2, 1))
          >>> float(jrelu.losses.mse.risk(p, y))
          5.0
          >>> float(jrelu.losses.mse.risk(p, y, weights=jnp.array([1.0, 0.0])))
          1.0

        References:
          Dereich, Do, Jentzen, Weber (2025),
          `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_.
        """
        per_sample = self.value(p, y)
        w = _masses(weights, per_sample.shape[0], per_sample.dtype)
        return jnp.sum(w * per_sample)

    def risk_grad(self, p: ArrayLike, y: ArrayLike, *,
                  weights: ArrayLike | None = None) -> jax.Array:
        r"""The gradient of :meth:`risk` in the predictions, in closed form.

        .. math:: \nabla_{p_m}\mathcal L=w_m\,\nabla_1\mathfrak L(p_m,y_m)
            \quad(\delta^L\text{ of backpropagation}).

        Args:
          p: predictions, shape ``(M, N_L)``.
          y: targets, as :attr:`value` accepts them.
          weights: nonnegative masses ``(M,)``; default ``1/M`` each.

        Returns:
          shape ``(M, N_L)``, p's dtype.

        Raises:
          nothing itself; shapes are checked by the callers.

        Example:
          >>> p, y = jnp.array([[1.0], [3.0]]), jnp.zeros((2, 1))
          >>> jrelu.losses.mse.risk_grad(p, y).tolist()
          [[1.0], [3.0]]

        References:
          Dereich, Do, Jentzen, Weber (2025),
          `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_.
        """
        w = _masses(weights, p.shape[0], p.dtype)
        return w[:, None] * self.grad(p, y).astype(p.dtype)


def _masses(weights, M: int, dtype):
    return jnp.full((M,), 1.0 / M, dtype) if weights is None else weights.astype(dtype)


# -- the named losses --------------------------------------------------------------------


def _mse_value(p, y):
    return jnp.mean(optax.losses.squared_error(p, y), axis=-1)


def _mse_grad(p, y):
    return 2.0 * (p - y) / p.shape[-1]


def _huber_value(p, y):
    return jnp.mean(optax.losses.huber_loss(p, y, delta=1.0), axis=-1)


def _huber_grad(p, y):
    return jnp.clip(p - y, -1.0, 1.0) / p.shape[-1]


def _as_probabilities(p, y):
    """``y`` as probability vectors of p's shape (class indices become one-hot)."""
    if y.ndim == p.ndim - 1:
        return jax.nn.one_hot(y, p.shape[-1], dtype=p.dtype)
    return y.astype(p.dtype)


def _ce_value(p, y):
    if y.ndim == p.ndim - 1:
        return optax.losses.softmax_cross_entropy_with_integer_labels(p, y)
    return optax.losses.softmax_cross_entropy(p, y.astype(p.dtype))


def _ce_grad(p, y):
    return jax.nn.softmax(p, axis=-1) - _as_probabilities(p, y)


#: The mean squared error over the output components (``torch.nn.MSELoss``).
mse = Loss("mse", _mse_value, _mse_grad, targets="values")
#: The Huber loss with δ = 1, mean over the output components (``torch.nn.HuberLoss``).
huber = Loss("huber", _huber_value, _huber_grad, targets="values")
#: Softmax cross-entropy; targets are class indices ``(M,)`` or probabilities ``(M, N_L)``.
softmax_cross_entropy = Loss("softmax_cross_entropy", _ce_value, _ce_grad, targets="classes")

_NAMED = {loss.name: loss for loss in (mse, huber, softmax_cross_entropy)}

#: The names :func:`resolve` accepts.
NAMES: tuple[str, ...] = tuple(_NAMED)


def from_callable(fn: Callable) -> Loss:
    r"""The :class:`Loss` of a user function ``fn(p, y) -> scalar`` for one sample.

    .. math:: \mathfrak L(p,y)=\mathtt{fn}(p,y),\qquad
        \nabla_1\mathfrak L=\mathtt{jax.grad(fn)}(p,y).

    ``fn`` should be C¹ in p (the generalized gradient needs :math:`\nabla_1\mathfrak L`).
    The result is cached per (hashable) function, so jit caches keyed on it stay warm.

    Args:
      fn: ``fn(p, y) -> scalar`` with ``p`` of shape ``(N_L,)`` and ``y`` one target.

    Returns:
      a :class:`Loss` named ``"callable:<fn.__name__>"`` with ``targets="any"``; its
      ``value`` raises ValueError when ``fn`` does not return a scalar per sample.

    Raises:
      TypeError: if ``fn`` is not callable.

    Example:
      >>> loss = jrelu.losses.from_callable(lambda p, y: jnp.sum(jnp.abs(p - y) ** 3))
      >>> loss(jnp.array([[2.0]]), jnp.array([[0.0]])).tolist()
      [8.0]
      >>> loss.grad(jnp.array([[2.0]]), jnp.array([[0.0]])).tolist()
      [[12.0]]

    References:
      Dereich, Do, Jentzen, Weber (2025),
      `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}: {fn!r:.80}")
    try:
        hash(fn)
    except TypeError:  # an unhashable callable object: not cached
        return _loss_of_callable(fn)
    return _cached_loss_of_callable(fn)


def _loss_of_callable(fn: Callable) -> Loss:
    value = jax.vmap(fn)
    grad = jax.vmap(jax.grad(fn))

    def checked_value(p, y):
        out = value(p, y)
        if out.shape != p.shape[:1]:
            raise ValueError(f"loss must return a scalar per sample; loss(pred, y) returned "
                             f"shape {out.shape[1:]}")
        return out

    return Loss("callable:" + getattr(fn, "__name__", "loss"), checked_value, grad,
                targets="any")


_cached_loss_of_callable = functools.lru_cache(maxsize=64)(_loss_of_callable)


def resolve(loss) -> Loss:
    r"""The :class:`Loss` for a name in :data:`NAMES`, a :class:`Loss`, or a callable.

    .. math:: \text{loss}\ \mapsto\ \big(\mathfrak L,\ \nabla_1\mathfrak L\big).

    Args:
      loss: ``"mse"``, ``"huber"``, ``"softmax_cross_entropy"``, a :class:`Loss`, or a
        callable ``loss(p, y) -> scalar`` for one sample (see :func:`from_callable`).

    Returns:
      the :class:`Loss`.

    Raises:
      ValueError: for an unknown name.
      TypeError: for anything else that is neither a string nor callable.

    Example:
      >>> jrelu.losses.resolve("huber").name
      'huber'
      >>> jrelu.losses.resolve(jrelu.losses.mse) is jrelu.losses.mse
      True

    References:
      Dereich, Do, Jentzen, Weber (2025),
      `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_.
    """
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, str):
        if loss not in _NAMED:
            raise ValueError(f"loss must be one of {sorted(_NAMED)} or a callable "
                             f"loss(pred, y) -> scalar; unknown loss {loss!r}")
        return _NAMED[loss]
    if callable(loss):
        return from_callable(loss)
    raise TypeError(f"loss must be one of {sorted(_NAMED)} or a callable, got "
                    f"{type(loss).__name__}: {loss!r:.80}")
