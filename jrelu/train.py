r"""Training with any optax optimizer, counting the kinks SGD actually hits.

:func:`train` runs ``steps`` steps of

.. math::
    \theta_{i+1}=\theta_i+\mathrm{update}_i\big(G_{B_i}(\theta_i)\big),\qquad
    G_{B_i}=\text{generalized gradient of }\ \tfrac1{|B_i|}\textstyle\sum_{m\in B_i}
    \mathfrak L(N^{\theta_i}(x_m),y_m),

one jit-compiled :func:`jax.lax.scan` over the steps. The gradient is ``jax.grad``
through the activation's custom JVP, which for :class:`jrelu.ReLU` is exactly the
generalized gradient :math:`G` (:func:`jrelu.generalized_gradient`), i.e. what PyTorch
and TensorFlow compute.

Per step it records the minibatch loss and the number of (point, neuron) pairs whose
hidden pre-activation lies *exactly* at a kink in that step's forward pass: the points
where :math:`D\varrho` is a convention and not a derivative. This answers the question
Berner et al. asked of PyTorch: how often does SGD evaluate ReLU'(0), in float32 versus
float64? (``jrelu bench`` reports a small study.)

Randomness: step ``i`` (counting from ``start_step``) uses the key
``jax.random.fold_in(key, i)``, so training in segments (passing back the returned
``opt_state`` and ``start_step``) reproduces one long run exactly.

References:
  Dereich, Do, Jentzen, Weber (2025), `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_;
  Berner, Elbrächter, Grohs, Jentzen (2019),
  `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from . import _checks
from .activations import Activation, ReLU
from .losses import Loss, resolve
from .network import Network, preactivations

__all__ = ["TrainHistory", "train"]

_RELU = ReLU()


class TrainHistory(NamedTuple):
    r"""What :func:`train` records, one entry per step.

    .. math:: \text{loss}_i=\tfrac1{|B_i|}\textstyle\sum_{m\in B_i}
        \mathfrak L(N^{\theta_i}(x_m),y_m)\quad(\text{before the update of step } i).

    Args:
      loss: ``(steps,)`` minibatch loss at the parameters *before* each step's update.
      kinks: ``(steps,)`` int32, the number of (point, neuron) pairs of that step's
        minibatch whose hidden pre-activation is exactly at a kink of the activation
        (:meth:`jrelu.Activation.kink_mask`, ``tol=0``); zeros if ``count_kinks=False``.
      opt_state: the optimizer state after the last step (pass it back with
        ``start_step`` to continue).
      step: ``(steps,)`` the global step indices ``start_step, …, start_step+steps-1``.
      preactivations_per_step: ``batch_size * (N_1 + … + N_{L-1})``, the number of
        hidden (point, neuron) pairs a step evaluates (so ``kinks / this`` is a rate).

    Example:
      >>> import optax
      >>> xs = jnp.linspace(-1.0, 1.0, 16)[:, None]
      >>> net = jrelu.init(jax.random.key(0), (1, 4, 1))
      >>> _, hist = jrelu.train(net, (xs, xs ** 2), optimizer=optax.sgd(0.1), steps=3,
      ...                       batch_size=4, key=jax.random.key(1))
      >>> hist.loss.shape, hist.step.tolist(), hist.preactivations_per_step
      ((3,), [0, 1, 2], 16)

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """

    loss: jax.Array
    kinks: jax.Array
    opt_state: Any
    step: jax.Array
    preactivations_per_step: int


def _runner(optimizer, loss, activation, count_kinks, sampler, batch_size):
    """:func:`_make_runner`, cached when all static pieces are hashable."""
    args = (optimizer, loss, activation, count_kinks, sampler, batch_size)
    try:
        hash(args)
    except TypeError:
        return _make_runner.__wrapped__(*args)
    return _make_runner(*args)


@functools.lru_cache(maxsize=32)
def _make_runner(optimizer, loss: Loss, activation: Activation, count_kinks: bool,
                 sampler: Callable, batch_size: int):
    """A jitted ``(net, opt_state, key, step_ids, data_args) -> ((net, opt_state), hist)``.

    Cached on the static pieces so repeated calls (training in segments, benchmarks)
    reuse the compiled program.
    """

    def objective(net, xb, yb):
        zs = preactivations(net, xb, activation=activation)
        risk = loss.risk(zs[-1], yb)
        kinks = jnp.zeros((), jnp.int32)
        if count_kinks:
            for z in zs[:-1]:
                kinks = kinks + jnp.sum(activation.kink_mask(z), dtype=jnp.int32)
        return risk, kinks

    value_and_grad = jax.value_and_grad(objective, has_aux=True)

    @jax.jit
    def run(net, opt_state, key, step_ids, data_args):
        def body(carry, i):
            params, state = carry
            xb, yb = sampler(jax.random.fold_in(key, i), batch_size, *data_args)
            xb = xb.astype(net.dtype)
            if jnp.issubdtype(yb.dtype, jnp.inexact):
                yb = yb.astype(net.dtype)
            (risk, kinks), grads = value_and_grad(params, xb, yb)
            updates, state = optimizer.update(grads, state, params)
            params = optax.apply_updates(params, updates)
            return (params, state), (risk, kinks)

        return jax.lax.scan(body, (net, opt_state), step_ids)

    return run


def _sample_minibatch(key, batch_size, xs, ys):
    """Uniform indices with replacement: ``batch_size`` i.i.d. draws from {0, …, M−1}."""
    idx = jax.random.randint(key, (batch_size,), 0, xs.shape[0])
    return xs[idx], ys[idx]


def train(net: Network, data, *, optimizer: optax.GradientTransformation, steps: int,
          batch_size: int, key: jax.Array, loss="mse", activation: Activation = _RELU,
          count_kinks: bool = True, opt_state: Any = None, start_step: int = 0
          ) -> tuple[Network, TrainHistory]:
    r"""Train ``net`` with ``optimizer`` for ``steps`` minibatch steps.

    .. math::
        \theta_{i+1}=\theta_i+\mathrm{update}_i\big(G_{B_i}(\theta_i)\big),\qquad
        B_i\ \text{drawn with}\ \mathtt{fold\_in(key}, i),

    where :math:`G_{B_i}` is the generalized gradient of the minibatch mean loss
    (``jax.grad`` through the activation's custom JVP).

    Args:
      net: the initial network (its dtype sets the training dtype; data are cast to it).
      data: either a pair ``(xs, ys)`` with ``xs`` of shape ``(M, N_0)`` and ``ys`` of
        shape ``(M, N_L)`` (or integer class indices ``(M,)`` for
        ``"softmax_cross_entropy"``); each step draws ``batch_size`` indices uniformly
        from {0, …, M−1}, independently, with replacement. Or a callable
        ``data(key, batch_size) -> (xs, ys)`` that draws a fresh sample each step; it must
        be traceable by ``jax.jit`` (``batch_size`` is a Python int).
      optimizer: any ``optax.GradientTransformation`` (schedules included).
      steps: number of steps, ≥ 1.
      batch_size: minibatch size, ≥ 1.
      key: a JAX PRNG key; step i uses ``jax.random.fold_in(key, i)`` with i the global
        step index ``start_step + j``.
      loss: as in :func:`jrelu.empirical_risk` (``"mse"``, ``"huber"``,
        ``"softmax_cross_entropy"``, a :class:`jrelu.losses.Loss` or a callable); the
        minibatch cost is the mean.
      activation: ϱ (default :class:`jrelu.ReLU`, giving the generalized gradient G).
      count_kinks: record per step the number of hidden pre-activations exactly at a
        kink (from the loss's own forward pass; no extra pass).
      opt_state: optimizer state to continue from (default ``optimizer.init(net)``).
      start_step: global index of the first step, ≥ 0 (to continue a run).

    Returns:
      ``(trained_net, history)`` with history a :class:`TrainHistory`.

    Raises:
      TypeError: for a non-Network ``net``, a non-optax ``optimizer``, a non-integer
        ``steps``/``batch_size``/``start_step``, a key that is not a PRNG key, an
        ``activation`` that is not a :class:`jrelu.Activation`, a non-bool
        ``count_kinks``, ``data`` neither a pair nor callable, a pair that is not two
        real arrays, or a callable ``data`` that cannot be called as
        ``data(key, batch_size)``.
      ValueError: before any work, for ``steps``/``batch_size`` < 1, a negative
        ``start_step``, ``start_step + steps`` or ``batch_size`` above
        :math:`2^{31}-1`, an unknown loss, data whose shapes do not fit the network or
        each other, an empty data set, or non-finite data (with its position).

    Example:
      >>> import optax
      >>> xs = jnp.linspace(-1.0, 1.0, 32)[:, None]
      >>> net = jrelu.init(jax.random.key(0), (1, 16, 1))
      >>> trained, hist = jrelu.train(net, (xs, jnp.abs(xs)), optimizer=optax.adam(1e-2),
      ...                             steps=200, batch_size=8, key=jax.random.key(1))
      >>> bool(hist.loss[-20:].mean() < hist.loss[:20].mean())
      True

    References:
      Dereich, Do, Jentzen, Weber (2025),
      `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_;
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    _checks.network("net", net)
    steps = _checks.size("steps", steps)
    batch_size = _checks.size("batch_size", batch_size)
    start_step = _checks.size("start_step", start_step, min=0)
    if start_step + steps > _checks.MAX_SIZE:  # step ids are int32
        raise ValueError(f"start_step + steps must be <= {_checks.MAX_SIZE}, got "
                         f"{start_step} + {steps}")
    count_kinks = _checks.boolean("count_kinks", count_kinks)
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise TypeError("optimizer must be an optax.GradientTransformation (with init and "
                        f"update), got {type(optimizer).__name__}")
    _checks.prng_key("key", key)
    _checks.activation("activation", activation)
    loss = resolve(loss)
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(f"data must be a pair (xs, ys) or a callable, got a sequence of "
                             f"length {len(data)}")
        try:
            _checks.array("ys", data[1])
            xs, ys, _ = _checks.data_set(net, data[0], data[1], targets=loss.targets,
                                         where="data")
        except TypeError as e:
            raise TypeError(f"data: {e}") from None
        sampler, data_args = _sample_minibatch, (xs, ys)
    elif callable(data):
        try:
            shapes = jax.eval_shape(lambda k: data(k, batch_size), key)
        except TypeError as e:
            raise TypeError(f"data must be a pair (xs, ys) or a callable data(key, batch_size) "
                            f"-> (xs, ys); calling data(key, {batch_size}) raised TypeError: "
                            f"{' '.join(str(e).split())[:300]}") from None
        try:
            xs_s, ys_s = shapes
        except (TypeError, ValueError):
            raise ValueError("data(key, batch_size) must return a pair (xs, ys), got "
                             f"{shapes}") from None
        if xs_s.shape[:1] != (batch_size,):
            raise ValueError(f"data(key, batch_size={batch_size}) returned xs of shape "
                             f"{xs_s.shape}; expected ({batch_size}, {net.input_dim})")
        _checks.data_set(net, jnp.zeros(xs_s.shape, xs_s.dtype),
                         jnp.zeros(ys_s.shape, ys_s.dtype), targets=loss.targets,
                         where=f"data(key, {batch_size})")
        sampler, data_args = data, ()
    else:
        raise TypeError(f"data must be a pair (xs, ys) or a callable data(key, batch_size), "
                        f"got {type(data).__name__}")
    if opt_state is None:
        opt_state = optimizer.init(net)
    run = _runner(optimizer, loss, activation, bool(count_kinks), sampler, batch_size)
    step_ids = start_step + jnp.arange(steps, dtype=jnp.int32)
    (net, opt_state), (losses, kinks) = run(net, opt_state, key, step_ids, data_args)
    per_step = batch_size * int(sum(net.widths[1:-1]))
    return net, TrainHistory(losses, kinks, opt_state, step_ids, per_step)
