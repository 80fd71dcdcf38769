r"""The network derivative :math:`D^N\Phi`, one-sided and limiting derivatives, kink reports.

.. math::
    D^N\Phi(x)=A_L\,\mathrm{diag}(D\varrho(R_{L-1}\Phi(x)))\,A_{L-1}\cdots
    \mathrm{diag}(D\varrho(R_1\Phi(x)))\,A_1\in\mathbb R^{N_L\times N_0}.

It is what backpropagation computes, equals :math:`\nabla R\Phi` almost everywhere,
and obeys the chain rule :math:`D^N(\Psi\circ\Phi)(x)=D^N\Psi(R\Phi(x))\,D^N\Phi(x)`
at *every* x. Because :class:`~jrelu.Activation` fixes :math:`D\varrho` through a
custom JVP, ``jax.jacrev``/``jax.jacfwd`` of :func:`jrelu.realize` return the same
matrix, kinks included.

At a kink, :math:`D^N\Phi(x)` may lie outside the Clarke Jacobian. The exact one-sided
:func:`directional_derivative`, the :func:`lexicographic_jacobian` (an element of the
B-subdifferential :math:`\partial_B R\Phi(x)` at every x) and :func:`limiting_jacobians`
give Clarke-correct derivatives there; :func:`kink_report` says where they are needed.

References:
  Berner, Elbrächter, Grohs, Jentzen (2019),
  `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_; the lexicographic derivative:
  Nesterov, Lexicographic differentiation of nonsmooth functions, Math. Program. 104 (2005);
  Khan, Barton, A vector forward mode of automatic differentiation for generalized
  derivative evaluation, Optim. Methods Softw. 30 (2015).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from . import _cache, _checks, _random
from .activations import Activation, relu
from .network import Network, check_input, preactivations

__all__ = [
    "value_and_derivative",
    "derivative",
    "KinkReport",
    "kink_report",
    "directional_derivative",
    "lexicographic_jacobian",
    "lexicographic_pattern",
    "LimitingJacobians",
    "limiting_jacobians",
    "HullDistance",
    "hull_distance",
    "Blocking",
    "evaluation_blocking",
]


def derivative(net: Network, x: ArrayLike, *, activation: Activation = relu) -> jax.Array:
    r"""The network derivative :math:`D^N\Phi(x)` by the product formula.

    .. math::
        D^N\Phi(x)=A_L\,\mathrm{diag}(D\varrho(R_{L-1}\Phi(x)))\,A_{L-1}\cdots
        \mathrm{diag}(D\varrho(R_1\Phi(x)))\,A_1 .

    One forward pass computes the pre-activations :math:`R_1\Phi(x),\dots,
    R_{L-1}\Phi(x)`; the product is then accumulated with batched matrix products,
    from the output side (reverse order, :math:`N_L\cdot\sum_k N_kN_{k-1}` flops a
    point) when :math:`N_L<N_0`, from the input side (forward order,
    :math:`N_0\cdot\sum_k N_kN_{k-1}`) otherwise.

    **Non-finite inputs** are not rejected (a check would cost a host sync); they never
    give a silently finite answer. A NaN entry of x makes every first-layer
    pre-activation NaN (:math:`a\cdot\mathrm{NaN}=\mathrm{NaN}` even for a = 0), and
    :math:`D\varrho(\mathrm{NaN})=\mathrm{NaN}`, so with a hidden layer (L ≥ 2) every
    entry of :math:`D^N\Phi(x)` is NaN: eagerly, under ``jit`` and ``vmap``, and in
    ``jax.jacrev``/``jax.jacfwd`` of :func:`jrelu.realize` alike. ±inf entries follow
    IEEE arithmetic: a pre-activation ±inf gets the slope of the unbounded piece (the
    limit of :math:`D\varrho`), an undefined one (:math:`\infty-\infty`,
    :math:`0\cdot\infty`) is NaN and so is every entry it reaches. A network without
    hidden layers (L = 1) is affine: :math:`D^N\Phi(x)=A_1` for every x, NaN or not, as
    ``jax.jacrev`` gives. :func:`kink_report` flags such points (``nonfinite``).

    Args:
      net: the network :math:`((A_1,b_1),\dots,(A_L,b_L))`.
      x: points, shape ``(N_0,)`` or ``(..., N_0)``.
      activation: (keyword-only) :math:`\varrho` (default ReLU); its
        :meth:`~jrelu.Activation.deriv` is the :math:`D\varrho` in the formula.

    Returns:
      shape ``(N_L, N_0)`` or ``(..., N_L, N_0)``; NaN at points with a NaN entry
      (L ≥ 2).

    Raises:
      TypeError: if ``net`` is not a :class:`~jrelu.Network`, ``activation`` not an
        :class:`~jrelu.Activation` (e.g. ``jax.nn.relu``), or ``x`` not a real array.
      ValueError: if the last axis of ``x`` is not :math:`N_0`.

    Example:
        >>> net = jrelu.examples.slope_network(2.0, 3.0)  # 2 relu(x) - 3 relu(-x)
        >>> jrelu.derivative(net, jnp.array([[-1.0], [0.0], [1.0]]))[:, 0, 0].tolist()
        [3.0, 0.0, 2.0]
        >>> float(jrelu.derivative(net, jnp.zeros(1),
        ...                        activation=jrelu.ReLU(deriv_at_kink=1.0))[0, 0])
        5.0
        >>> jrelu.derivative(net, jnp.array([jnp.nan])).tolist()
        [[nan]]

    References:
        Berner, Elbrächter, Grohs, Jentzen (2019), `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    return value_and_derivative(net, x, activation=activation)[1]


#: The CPU plan: blocks sized by the cores' L2 cache (``_cache``), batches of at least two
#: blocks split into equal blocks, and sweep chunks of 8192 points.
_BLOCKS_BEFORE_BLOCKING = 4  # accelerator plans and the lexicographic tangent blocks
_CPU_BLOCKS_BEFORE_BLOCKING = 2
_CPU_CHUNK = 8192
#: On an accelerator one block may use this fraction of the device memory (the rest is
#: headroom for XLA's temporaries, the network and the caller's arrays).
_ACCELERATOR_BLOCK_SHARE = 32
_ACCELERATOR_FALLBACK_MEMORY = 2**31  # when the device does not report its memory
_MIN_BLOCK, _MAX_BLOCK = 1024, 2**24
#: On CPU one block of the tangents of lexicographic_jacobian (points x N_k x N_0) fits in
#: this many bytes, the L2 cache of a core: 5x faster than unblocked on the bench network.
_CPU_TANGENT_BYTES = 2**21
_MAX_TANGENT_BLOCK = 1024


@dataclasses.dataclass(frozen=True)
class Blocking:
    r"""How many points one compiled evaluation of a network takes at a time, per backend.

    Chosen by :func:`evaluation_blocking`. A batch of :math:`n` points is evaluated in one
    piece if :math:`n<\texttt{blocked\_from}`, and otherwise in
    :math:`k=\lceil n/\texttt{block\_size}\rceil` equal blocks of :math:`\lceil n/k\rceil`
    points (``lax.map``; fewer than k padding points); a streaming computation (an error
    sweep) compiles chunks of ``chunk_size`` points.

    Attributes:
      block_size: points per block of a blocked evaluation.
      blocked_from: batches of at least this many points are blocked.
      chunk_size: points per compiled chunk of a streaming evaluation.
      backend: the backend the plan is for (``"cpu"``, ``"gpu"``, ``"tpu"``, ...).
      memory_bytes: the device memory the plan assumed (None on CPU).
      bytes_per_point: the working memory of one point of a
        :func:`value_and_derivative` evaluation, in bytes.
      tangent_block_size: points per block of the :math:`N_0` tangents that
        :func:`lexicographic_jacobian` carries at a kink (blocked from 4 blocks on).
      cache_bytes: the L2 cache (all cores together) the plan assumed on CPU (None on an
        accelerator).

    Example:
        >>> from jrelu.derivative import evaluation_blocking
        >>> plan = evaluation_blocking(jrelu.init(jax.random.key(0), (2, 8, 1)),
        ...                            backend="cpu", cache_bytes=2**22)
        >>> plan.block_size, plan.blocked_from, plan.chunk_size
        (8192, 16384, 8192)
    """

    block_size: int
    blocked_from: int
    chunk_size: int
    backend: str
    memory_bytes: int | None
    bytes_per_point: int
    tangent_block_size: int
    cache_bytes: int | None = None

    def blocks(self, n: int) -> tuple[int, int]:
        r"""How a batch of n points is evaluated: ``(k, size)``, k blocks of ``size`` points.

        .. math::
            (k,\ \texttt{size})=\begin{cases}(1,\ n)&n<\texttt{blocked\_from}\\
            (\lceil n/\texttt{block\_size}\rceil,\ \lceil n/k\rceil)&\text{otherwise,}
            \end{cases}

        so :math:`k\cdot\texttt{size}-n<k` points are padding.

        Args:
          n: the number of points.

        Returns:
          ``(k, size)``.

        Example:
            >>> from jrelu.derivative import Blocking
            >>> plan = Blocking(4096, 8192, 8192, "cpu", None, 1, 1)
            >>> plan.blocks(8191), plan.blocks(8192), plan.blocks(10000)
            ((1, 8191), (2, 4096), (3, 3334))
        """
        if n < self.blocked_from:
            return 1, n
        k = -(-n // self.block_size)
        return k, -(-n // k)

    def to_dict(self) -> dict:
        r"""The plan as a JSON-able dict of its fields.

        .. math::
            (\texttt{block\_size},\texttt{blocked\_from},\texttt{chunk\_size},\dots).

        Returns:
          a dict with one entry per field.

        Example:
            >>> from jrelu.derivative import evaluation_blocking
            >>> net = jrelu.init(jax.random.key(0), (2, 8, 1))
            >>> evaluation_blocking(net, backend="cpu", cache_bytes=2**22).to_dict()["block_size"]
            8192
        """
        return dataclasses.asdict(self)


def _bytes_per_point(net: Network) -> int:
    """Working memory of one point of value_and_derivative: the input, every hidden
    pre-activation with its slope and activation, the output, and the Jacobian products."""
    widths = net.widths
    hidden = sum(widths[1:-1])
    jac = widths[-1] * (max(widths[:-1]) + widths[0])  # the running product and the result
    return jnp.dtype(net.dtype).itemsize * (widths[0] + 3 * hidden + widths[-1] + 2 * jac)


def _tangent_bytes_per_point(net: Network) -> int:
    """One tangent array of one point, N_k x N_0 at the widest hidden layer."""
    widths = net.widths
    return jnp.dtype(net.dtype).itemsize * widths[0] * max(widths[1:-1] or widths[-1:])


def evaluation_blocking(net: Network, *, backend: str | None = None,
                        memory_bytes: int | None = None,
                        cache_bytes: int | None = None) -> Blocking:
    r"""The block and chunk sizes in which :func:`value_and_derivative` (and an error sweep)
    evaluate a network on this backend.

    On CPU a block's widest per-point array fits in the L2 cache of the cores (XLA splits
    each product of a block over them): with W floats in that array (the widest hidden
    layer times :math:`\min(N_0,N_L)`), s bytes a float and C the L2 bytes of all cores,

    .. math::
        \texttt{block\_size}=\min\Bigl(8192,\max\Bigl(256,
        2^{\lfloor\log_2(C/(sW))\rfloor}\Bigr)\Bigr),\qquad
        \texttt{blocked\_from}=2\cdot\texttt{block\_size},

    and sweep chunks of 8192 points. On 2 cores with 2 MiB of L2 each this gives 4096
    points for the ``jrelu bench derivative`` network (100 → 256×3 → 1, float32) and 8192
    for a (10, 64, 64, 1) one, the fastest of the powers of two measured there (to a few
    percent), where the earlier fixed 1024 points were up to 1.56 times slower.

    On an accelerator (GPU, TPU), where a serial ``lax.map`` over small blocks would leave
    the device idle, a batch is evaluated in one piece unless it does not fit in memory:
    with P the bytes of working memory per point (:attr:`Blocking.bytes_per_point`) and M the
    device memory,

    .. math::
        \texttt{block\_size}=\min\Bigl(2^{24},\max\Bigl(1024,
        2^{\lfloor\log_2(M/(32P))\rfloor}\Bigr)\Bigr),\qquad
        \texttt{blocked\_from}=\texttt{chunk\_size}=4\cdot\texttt{block\_size},

    so an unblocked batch uses at most about M/8 (the tangent blocks of
    :func:`lexicographic_jacobian` likewise: :math:`2^{\lfloor\log_2(M/(96T))\rfloor}`
    points, T the bytes of one point's widest tangent array; on CPU as many as fit in 2
    MiB). M is ``memory_bytes``, else the
    ``bytes_limit`` of the first device's ``memory_stats()`` (the total, not the free
    memory, so the plan does not change from call to call), else 2 GiB. C is
    ``cache_bytes``, else cpu0's L2 size from Linux's sysfs (2 MiB where it cannot be read)
    times the cores this process may run on. Every point is computed by the same formula in
    any plan.

    Args:
      net: the network (its widths and dtype give P).
      backend: (keyword-only) ``"cpu"``, ``"gpu"``, ``"tpu"``, ...; default
        ``jax.default_backend()``.
      memory_bytes: (keyword-only) the device memory M in bytes; default from
        ``jax.devices(backend)[0].memory_stats()`` (ignored on CPU).
      cache_bytes: (keyword-only) the L2 cache C of all cores in bytes; default read from
        the machine (ignored on an accelerator).

    Returns:
      a :class:`Blocking` (block size, blocking threshold, chunk size and what they
      assumed).

    Raises:
      TypeError: if ``net`` is not a :class:`~jrelu.Network`, ``backend`` not a string or
        ``memory_bytes`` or ``cache_bytes`` not an integer.
      ValueError: if ``memory_bytes`` or ``cache_bytes`` is below 1.

    Example:
        >>> from jrelu.derivative import evaluation_blocking
        >>> net = jrelu.init(jax.random.key(0), (100, 256, 256, 256, 1), dtype=jnp.float32)
        >>> evaluation_blocking(net, backend="cpu", cache_bytes=2 * 2**21).block_size
        4096
        >>> plan = evaluation_blocking(net, backend="gpu", memory_bytes=16 * 2**30)
        >>> plan.block_size, plan.blocked_from
        (32768, 131072)

    References:
        Berner, Elbrächter, Grohs, Jentzen (2019),
        `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    net = _checks.network("net", net)
    if backend is None:
        backend = jax.default_backend()
    elif not isinstance(backend, str):
        raise TypeError(f"backend must be a string such as 'cpu', 'gpu' or 'tpu', got "
                        f"{_checks.type_name(backend)}: {backend!r:.80}")
    if memory_bytes is not None:
        memory_bytes = _checks.positive_int("memory_bytes", memory_bytes)
    if cache_bytes is not None:
        cache_bytes = _checks.positive_int("cache_bytes", cache_bytes)
    per_point, tangent = _bytes_per_point(net), _tangent_bytes_per_point(net)
    if backend == "cpu":
        cache = _cache.cache_bytes() if cache_bytes is None else cache_bytes
        block = _cache.cpu_block(net.widths, jnp.dtype(net.dtype).itemsize, cache)
        tangent_block = _cache.power_of_two_at_most(_CPU_TANGENT_BYTES // tangent, 1,
                                                    _MAX_TANGENT_BLOCK)
        return Blocking(block, _CPU_BLOCKS_BEFORE_BLOCKING * block, _CPU_CHUNK, backend,
                        None, per_point, tangent_block, cache)
    if memory_bytes is None:
        memory_bytes = _device_memory(backend)
    share = memory_bytes // _ACCELERATOR_BLOCK_SHARE
    block = _cache.power_of_two_at_most(share // per_point, _MIN_BLOCK, _MAX_BLOCK)
    return Blocking(block, _BLOCKS_BEFORE_BLOCKING * block, _BLOCKS_BEFORE_BLOCKING * block,
                    backend, memory_bytes, per_point,
                    _cache.power_of_two_at_most(share // (3 * tangent), 1, _MAX_BLOCK))


def _device_memory(backend: str) -> int:
    """``bytes_limit`` of the backend's first device, or the fallback if it reports none."""
    try:
        stats = jax.devices(backend)[0].memory_stats() or {}
    except (RuntimeError, AttributeError, NotImplementedError):
        stats = {}
    limit = stats.get("bytes_limit")
    return int(limit) if limit else _ACCELERATOR_FALLBACK_MEMORY


def value_and_derivative(net: Network, x: ArrayLike, *,
                         activation: Activation = relu) -> tuple[jax.Array, jax.Array]:
    r"""The value and the network derivative, :math:`(R\Phi(x), D^N\Phi(x))`, from one
    shared forward pass.

    .. math::
        x\mapsto\bigl(R\Phi(x),\ A_L\,\mathrm{diag}(D\varrho(R_{L-1}\Phi(x)))\cdots
        \mathrm{diag}(D\varrho(R_1\Phi(x)))\,A_1\bigr).

    The same operations as :func:`jrelu.realize` and :func:`derivative`; only the forward
    pass is shared (what an error sweep of values and derivatives needs), like
    ``jax.value_and_grad``.

    Large batches are evaluated in blocks (``lax.map``) as :func:`evaluation_blocking`
    plans for the backend. On CPU a batch of at least two blocks is split into equal blocks
    whose activations fit in the cores' L2 cache (4096 points for the ``jrelu bench
    derivative`` network on 2 cores with 2 MiB each). On GPU and TPU a batch is evaluated
    in one piece unless it would not fit in device memory. Every point is computed by the
    same formula either way. Non-finite inputs as in :func:`derivative`: a NaN entry gives
    a NaN value and (L ≥ 2) a NaN Jacobian.

    Args:
      net: the network.
      x: points, shape ``(N_0,)`` or ``(..., N_0)``.
      activation: (keyword-only) :math:`\varrho` (default ReLU).

    Returns:
      ``(value, jacobian)`` of shapes ``(..., N_L)`` and ``(..., N_L, N_0)``.

    Raises:
      TypeError: if ``net`` is not a :class:`~jrelu.Network`, ``activation`` not an
        :class:`~jrelu.Activation`, or ``x`` not a real array.
      ValueError: if the last axis of ``x`` is not :math:`N_0`.

    Example:
        >>> net = jrelu.examples.slope_network(2.0, 3.0)
        >>> y, J = jrelu.value_and_derivative(net, jnp.array([-1.0]))
        >>> y.tolist(), J.tolist()
        ([-3.0], [[3.0]])

    References:
        Berner, Elbrächter, Grohs, Jentzen (2019), `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    _checks.network("net", net)
    _checks.activation("activation", activation)
    x = check_input(net, x)
    batch = x.shape[:-1]
    n = math.prod(batch)
    k, block = evaluation_blocking(net).blocks(n)
    if k == 1:
        return _value_and_derivative(net, x, activation)
    flat = jnp.pad(x.reshape(n, net.input_dim), ((0, k * block - n), (0, 0)))
    y, J = jax.lax.map(lambda xb: _value_and_derivative(net, xb, activation),
                       flat.reshape(-1, block, net.input_dim))
    y = y.reshape(-1, net.output_dim)[:n].reshape(batch + (net.output_dim,))
    J = J.reshape(-1, net.output_dim, net.input_dim)[:n]
    return y, J.reshape(batch + J.shape[1:])


def _value_and_derivative(net: Network, x, activation: Activation):
    h, masks = x, []
    for A, b in net.layers[:-1]:
        z = jnp.matmul(h, A.T) + b
        masks.append(activation.deriv(z).astype(z.dtype))
        h = activation(z)
    A_L, b_L = net.layers[-1]
    return jnp.matmul(h, A_L.T) + b_L, _masked_product(net, masks, x.shape[:-1])


def _masked_product(net: Network, masks, batch_shape) -> jax.Array:
    r""":math:`A_L\,\mathrm{diag}(s_{L-1})A_{L-1}\cdots\mathrm{diag}(s_1)A_1` for slope
    vectors :math:`s_k` of shape ``(..., N_k)`` (the product formula of :func:`derivative`
    with given slopes)."""
    if not masks:
        J = net.layers[0][0]
    elif net.output_dim < net.input_dim:
        J = net.layers[-1][0]
        for (A, _), m in zip(reversed(net.layers[:-1]), reversed(masks)):
            J = jnp.matmul(J * m[..., None, :], A)
    else:
        J = net.layers[0][0]
        for (A, _), m in zip(net.layers[1:], masks):
            J = jnp.matmul(A, m[..., :, None] * J)
    return jnp.broadcast_to(J, batch_shape + J.shape[-2:])


# -- kink reports --------------------------------------------------------------


def _non_one_sided_kinks(activation: Activation, dtype) -> tuple[float, ...]:
    r"""The kinks :math:`\kappa` where :math:`D\varrho(\kappa)\notin\{\varrho'_-(\kappa),
    \varrho'_+(\kappa)\}` (a static property of the activation, evaluated eagerly)."""
    bad = []
    with jax.ensure_compile_time_eval():
        for kappa in activation.kinks:
            k = jnp.asarray(kappa, dtype)
            d = activation.deriv(k)
            if not bool((d == activation.left_deriv(k)) | (d == activation.right_deriv(k))):
                bad.append(kappa)
    return tuple(bad)


class KinkReport(NamedTuple):
    r"""Where a batch of inputs sits on kinks of the activation, layer by layer.

    A NamedTuple, hence a pytree: it can be returned from ``jit``. Layers are the hidden
    layers k = 1, …, L−1 (the output layer has no activation). "Exact" means
    :math:`R_k\Phi(x)_i` equals a kink :math:`\kappa` of :math:`\varrho` exactly, "near"
    means

    .. math::
        |R_k\Phi(x)_i-\kappa|\le\texttt{tol}

    (both via :meth:`jrelu.Activation.kink_mask`).

    Attributes:
      exact_counts: per hidden layer, an int scalar: the number of (point, neuron) pairs
        exactly at a kink.
      near_counts: per hidden layer, an int scalar: the same with tolerance ``tol``.
      neuron_hits: per hidden layer, an int array ``(N_k,)``: for each neuron the number
        of points where it is exactly at a kink.
      point_counts: int array ``x.shape[:-1]``: the number of neurons (all layers)
        exactly at a kink at each point.
      affected: bool array ``x.shape[:-1]``: the point has an exact kink in some layer.
      may_differ: bool array ``x.shape[:-1]``: :math:`D^N\Phi(x)` may differ from every
        limiting Jacobian at x (see :func:`kink_report` for the exact criterion); True at
        every ``nonfinite`` point.
      nonfinite_counts: per hidden layer, an int scalar: the number of (point, neuron)
        pairs whose pre-activation is NaN or ±inf. Such a pair is never counted as at or
        near a kink: read the kink counts together with these.
      nonfinite: bool array ``x.shape[:-1]``: x has a NaN or ±inf entry, or some hidden
        pre-activation at x is NaN or ±inf (an overflow). Where True, nothing is known
        about kinks at x, and :math:`D^N\Phi(x)` is NaN (a NaN entry) or computed from
        infinite pre-activations.

    Example:
        >>> rep = jrelu.kink_report(jrelu.identity(1, 2), jnp.array([[0.0], [1.0]]))
        >>> int(rep.total_exact), rep.affected.tolist()
        (2, [True, False])
        >>> rep = jrelu.kink_report(jrelu.identity(1, 2), jnp.array([[0.0], [jnp.nan]]))
        >>> int(rep.total_exact), rep.nonfinite.tolist(), rep.may_differ.tolist()
        (2, [False, True], [True, True])
    """

    exact_counts: tuple
    near_counts: tuple
    neuron_hits: tuple
    point_counts: jax.Array
    affected: jax.Array
    may_differ: jax.Array
    nonfinite_counts: tuple
    nonfinite: jax.Array

    @property
    def total_exact(self) -> jax.Array:
        r"""The number of (point, neuron) pairs exactly at a kink, over all hidden layers.

        Example:
            >>> rep = jrelu.kink_report(jrelu.identity(1, 2), jnp.zeros((3, 1)))
            >>> int(rep.total_exact)
            6
        """
        return sum(self.exact_counts, jnp.zeros((), int))

    @property
    def total_near(self) -> jax.Array:
        r"""The number of (point, neuron) pairs within ``tol`` of a kink, all hidden layers.

        Example:
            >>> rep = jrelu.kink_report(jrelu.identity(1, 2), jnp.array([[0.0], [0.5]]),
            ...                         tol=0.5)
            >>> int(rep.total_near)
            4
        """
        return sum(self.near_counts, jnp.zeros((), int))

    @property
    def num_affected(self) -> jax.Array:
        r"""The number of points with an exact kink.

        Example:
            >>> rep = jrelu.kink_report(jrelu.identity(1, 2), jnp.array([[0.0], [0.5]]))
            >>> int(rep.num_affected)
            1
        """
        return jnp.sum(self.affected)

    @property
    def num_may_differ(self) -> jax.Array:
        r"""The number of points where :math:`D^N\Phi` may not be a limiting Jacobian.

        Example:
            >>> rep = jrelu.kink_report(jrelu.identity(1, 2), jnp.array([[0.0], [0.5]]))
            >>> int(rep.num_may_differ)
            1
        """
        return jnp.sum(self.may_differ)

    @property
    def total_nonfinite(self) -> jax.Array:
        r"""The number of (point, neuron) pairs with a NaN or ±inf pre-activation, over all
        hidden layers.

        Example:
            >>> rep = jrelu.kink_report(jrelu.identity(1, 2), jnp.array([[jnp.nan], [0.5]]))
            >>> int(rep.total_nonfinite)
            2
        """
        return sum(self.nonfinite_counts, jnp.zeros((), int))

    @property
    def num_nonfinite(self) -> jax.Array:
        r"""The number of points flagged ``nonfinite`` (nothing is known about kinks there).

        Example:
            >>> rep = jrelu.kink_report(jrelu.identity(1, 2), jnp.array([[jnp.nan], [0.5]]))
            >>> int(rep.num_nonfinite)
            1
        """
        return jnp.sum(self.nonfinite)


def kink_report(net: Network, x: ArrayLike, *, tol: float = 0.0,
                activation: Activation = relu) -> KinkReport:
    r"""Count the (point, neuron) pairs of a batch that sit on a kink, and flag where
    :math:`D^N\Phi` may fail to be a limiting Jacobian.

    One forward pass (:func:`jrelu.preactivations`) and elementwise reductions, so it is
    cheap enough for every training batch and works under ``jax.jit`` (``activation``
    static, ``tol`` may be traced). The per-point kink and non-finite counts of a layer come
    from one reduction over its pre-activations; the per-neuron counts run only for a layer
    that has a kink.

    Non-finite inputs are not rejected (no host sync). A NaN or ±inf pre-activation is
    neither at nor near a kink; it is counted in ``nonfinite_counts``, and its point is
    flagged ``nonfinite`` and ``may_differ``. So a batch with a NaN point never reports
    "no kinks, nothing to worry about": check :attr:`KinkReport.num_nonfinite`.

    Args:
      net: the network.
      x: inputs, shape ``(N_0,)`` or ``(..., N_0)``.
      tol: (keyword-only) nonnegative; the "near" counts use :math:`|z-\kappa|\le`
        ``tol``.
      activation: (keyword-only) :math:`\varrho` (default ReLU); its
        :meth:`~jrelu.Activation.kink_mask` is the kink mask.

    Returns:
      a :class:`KinkReport`.

    Raises:
      TypeError: if ``net`` is not a :class:`~jrelu.Network`, ``activation`` not an
        :class:`~jrelu.Activation`, ``x`` not a real array, or ``tol`` not a real number.
      ValueError: if the last axis of ``x`` is not :math:`N_0`, or ``tol`` is negative or
        not finite.

    Example:
        >>> net = jrelu.examples.slope_network(2.0, 3.0)
        >>> rep = jrelu.kink_report(net, jnp.array([[-1.0], [0.0], [jnp.nan]]))
        >>> rep.point_counts.tolist(), rep.may_differ.tolist(), rep.nonfinite.tolist()
        ([0, 2, 0], [False, True, True], [False, False, True])

    **The criterion for** ``may_differ``. Let :math:`m(x)` be the number of hidden neurons
    with :math:`R_k\Phi(x)_i` exactly at a kink :math:`\kappa`. Then ``may_differ`` is

    .. math::
        m(x)\ge2\quad\text{or}\quad\bigl(m(x)=1\text{ and }D\varrho(\kappa)\notin
        \{\varrho'_-(\kappa),\varrho'_+(\kappa)\}\text{ at that neuron}\bigr).

    At ``nonfinite`` points ``may_differ`` is True as well.

    It is *sound*: where it is False, :math:`D^N\Phi(x)\in\partial_B R\Phi(x)`. Proof for
    an activation that is C¹ away from finitely many kinks and piecewise C¹ at them (all of
    jrelu's activations): if m(x) = 0 every neuron stays off the kinks near x, so
    :math:`R\Phi` is C¹ near x with :math:`\nabla R\Phi(x)=D^N\Phi(x)`. If m(x) = 1, let
    (k, i) be the kink neuron; no neuron of layers < k is at a kink, so
    :math:`z=R_k\Phi(\cdot)_i` is C¹ near x with gradient g. If g ≠ 0, the points
    :math:`x\pm tg` (sign chosen so that z moves to the side whose one-sided derivative
    equals :math:`D\varrho(\kappa)`) have no neuron on a kink for small t > 0, and
    :math:`\nabla R\Phi(x\pm tg)\to D^N\Phi(x)`. If g = 0, the neuron's term in the product
    formula is multiplied by g = 0, so every nearby gradient tends to :math:`D^N\Phi(x)`,
    which is then the only limiting Jacobian.

    It is *conservative* (True although :math:`D^N\Phi(x)` may be a limiting Jacobian)
    exactly in these cases: two or more neurons at a kink at x (then :math:`D^N` is a
    limiting Jacobian iff the pattern it uses is realized by an adjacent piece, which takes
    a linear-programming feasibility check to decide, e.g. via :func:`limiting_jacobians`);
    or one neuron at a kink with a non-one-sided choice such as ``ReLU(deriv_at_kink=0.5)`` whose
    gradient g or downstream weight happens to vanish. With ``jrelu.ReLU()`` (c = 0) the
    second case never arises. For smooth activations ``may_differ`` is always False.

    References:
        Berner, Elbrächter, Grohs, Jentzen (2019),
        `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    net = _checks.network("net", net)
    activation = _checks.activation("activation", activation)
    x = check_input(net, x)
    if _checks.is_concrete(tol):
        _checks.nonnegative("tol", tol)
    same_mask = isinstance(tol, (int, float)) and tol == 0
    return _kink_report_jit(net, x, jnp.asarray(0.0 if same_mask else tol, x.dtype), activation,
                            same_mask)


def _int_dtype():
    """The default integer dtype (int32 unless x64 is on), without asking JAX for int64."""
    return jnp.zeros((), int).dtype


def _kinks_and_nonfinite_per_point(z, exact):
    """Per point: the number of entries of ``z`` at a kink and the number that are not finite,
    in ONE reduction over z. Each entry contributes 1 at a kink and :math:`W+1` when it is
    not finite (W the width), so the sum :math:`s` splits as ``s % (W+1)`` kinks and
    ``s // (W+1)`` non-finite entries; a second pass over z would cost ~20% of the report."""
    width = z.shape[-1]
    itype = _int_dtype()
    if width * (width + 1) > jnp.iinfo(itype).max:  # the code would overflow: two passes
        return (jnp.sum(exact, axis=-1, dtype=itype),
                jnp.sum(~jnp.isfinite(z), axis=-1, dtype=itype))
    code = jnp.where(jnp.isfinite(z), exact.astype(itype), jnp.asarray(width + 1, itype))
    s = jnp.sum(code, axis=-1, dtype=itype)
    return s % (width + 1), s // (width + 1)


# One unblocked pass and one reduction per layer. Measured on 2 idle CPU cores (d = 100 →
# 256×3 → 1, float32, interleaved best of 40): at 4096 and 8192 points this costs 1.26-1.39
# forward passes; blocks of 1024 through lax.map cost 1.34-1.44, and a variant that skips
# the counting behind a lax.cond 1.7-1.9.
def _kink_report_core(net: Network, X, tol, activation: Activation, same_mask: bool):
    zs = preactivations(net, X, activation=activation)[:-1]
    batch_shape = X.shape[:-1]
    bad_kinks = _non_one_sided_kinks(activation, X.dtype)
    exact_counts, near_counts, neuron_hits, nonfinite_counts = [], [], [], []
    point_counts = jnp.zeros(batch_shape, _int_dtype())
    bad_choice = jnp.zeros(batch_shape, bool)
    batch_axes = tuple(range(len(batch_shape)))
    # A non-finite entry of x makes every first-layer pre-activation non-finite (a·NaN and
    # 0·inf are NaN, a·inf is ±inf), so x itself only needs a look without hidden layers.
    nonfinite = (jnp.zeros(batch_shape, bool) if zs
                 else ~jnp.all(jnp.isfinite(X), axis=-1))
    for z in zs:
        exact = activation.kink_mask(z)
        per_point, bad_per_point = _kinks_and_nonfinite_per_point(z, exact)
        nonfinite_counts.append(jnp.sum(bad_per_point))
        nonfinite = nonfinite | (bad_per_point > 0)
        count = jnp.sum(per_point)
        exact_counts.append(count)
        # Kinks are rare: the per-neuron reduction only runs for a batch that has one.
        neuron_hits.append(jax.lax.cond(
            count > 0, lambda e: jnp.sum(e, axis=batch_axes, dtype=_int_dtype()),
            lambda e: jnp.zeros(e.shape[-1:], _int_dtype()), exact))
        if same_mask:
            near_counts.append(exact_counts[-1])
        else:
            near_counts.append(jnp.sum(activation.kink_mask(z, tol=tol), dtype=_int_dtype()))
        point_counts = point_counts + per_point
        for kappa in bad_kinks:
            bad_choice = bad_choice | jnp.any(z == kappa, axis=-1)
    affected = point_counts > 0
    may_differ = (point_counts >= 2) | ((point_counts == 1) & bad_choice) | nonfinite
    return KinkReport(tuple(exact_counts), tuple(near_counts), tuple(neuron_hits),
                      point_counts, affected, may_differ, tuple(nonfinite_counts), nonfinite)


_kink_report_jit = jax.jit(_kink_report_core, static_argnames=("activation", "same_mask"))


# -- directional derivative ------------------------------------------------------


def _one_sided(activation: Activation, z, dz):
    r""":math:`\varrho'(z;\dot z)`: :math:`\varrho'_+(z)\dot z` if :math:`\dot z>0`,
    :math:`\varrho'_-(z)\dot z` if :math:`\dot z<0`, 0 if :math:`\dot z=0`."""
    if activation.is_smooth:
        return activation.deriv(z).astype(dz.dtype) * dz
    # dz == 0 gives 0, unless z or dz is NaN (then neither branch applies: NaN)
    zero = jnp.where(jnp.isnan(z) | jnp.isnan(dz), jnp.nan, 0.0).astype(dz.dtype)
    up = activation.right_deriv(z).astype(dz.dtype) * dz
    down = activation.left_deriv(z).astype(dz.dtype) * dz
    return jnp.where(dz > 0, up, jnp.where(dz < 0, down, zero))


def directional_derivative(net: Network, x: ArrayLike, v: ArrayLike, *,
                           activation: Activation = relu) -> jax.Array:
    r"""The exact one-sided directional derivative of the realization.

    .. math::
        R\Phi'(x;v)=\lim_{t\downarrow0}\frac{R\Phi(x+tv)-R\Phi(x)}{t}.

    One forward pass carries :math:`(z,\dot z)` through the network:
    :math:`\dot z_k=A_k\dot h_{k-1}`, and at each hidden neuron
    :math:`\dot h=\varrho'_+(z)\dot z` if :math:`\dot z>0`, :math:`\varrho'_-(z)\dot z` if
    :math:`\dot z<0`, 0 if :math:`\dot z=0` (for ReLU: :math:`\dot z` if z > 0,
    :math:`\max(\dot z,0)` if z = 0, 0 if z < 0). This is the chain rule for one-sided
    directional derivatives, valid at every x because every layer is locally Lipschitz
    and directionally differentiable. Positively homogeneous in v, but not linear at a
    kink.

    Args:
      net: the network.
      x: points, shape ``(N_0,)`` or ``(..., N_0)``.
      v: directions, shape ``(N_0,)`` or ``(..., N_0)``; broadcast against ``x``.
      activation: (keyword-only) :math:`\varrho` (default ReLU), with its one-sided
        derivatives.

    Returns:
      shape ``(..., N_L)`` with ``...`` the broadcast batch shape of x and v.

    Raises:
      TypeError: if ``net`` is not a :class:`~jrelu.Network`, ``activation`` not an
        :class:`~jrelu.Activation`, or ``x`` or ``v`` not a real array.
      ValueError: for shapes that do not fit :math:`N_0` or do not broadcast, or (eagerly)
        a non-finite entry of ``x`` or ``v``.

    Costs about two forward passes (one for z, one for :math:`\dot z`).

    Non-finite ``x`` or ``v`` raise ``ValueError`` eagerly. Under ``jit``/``vmap``, where
    values cannot be checked, a NaN pre-activation or tangent :math:`\dot z` propagates:
    its neuron's :math:`\dot h` is NaN (also for :math:`\dot z=0`), so a NaN entry of x or
    v gives an all-NaN result when the network has a hidden layer.

    Example:
        >>> net = jrelu.examples.slope_network(2.0, 3.0)  # slopes 3 left, 2 right of 0
        >>> x = jnp.zeros(1)
        >>> [jrelu.directional_derivative(net, x, v).tolist()
        ...  for v in (jnp.ones(1), -jnp.ones(1))]
        [[2.0], [-3.0]]

    References:
        Berner, Elbrächter, Grohs, Jentzen (2019),
        `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    net = _checks.network("net", net)
    activation = _checks.activation("activation", activation)
    x = check_input(net, x)
    v = _checks.real_array("v", v)
    if v.ndim == 0 or v.shape[-1] != net.input_dim:
        raise ValueError(f"direction v must have shape ({net.input_dim},) or "
                         f"(..., {net.input_dim}) for a network with N_0 = {net.input_dim}, "
                         f"got shape {v.shape}")
    try:
        batch = jnp.broadcast_shapes(x.shape[:-1], v.shape[:-1])
    except ValueError:
        raise ValueError(f"x of shape {x.shape} and v of shape {v.shape} do not broadcast "
                         "over their batch dimensions") from None
    _checks.finite_array("x", x)
    _checks.finite_array("v", v)
    dtype = jnp.result_type(x.dtype, v.dtype if jnp.issubdtype(v.dtype, jnp.inexact)
                            else x.dtype)
    out = _directional_jit(net, x.astype(dtype), v.astype(dtype), activation)
    return jnp.broadcast_to(out, batch + (net.output_dim,))


@functools.partial(jax.jit, static_argnames="activation")
def _directional_jit(net: Network, x, v, activation: Activation):
    h, dh = x, v
    for A, b in net.layers[:-1]:
        z = jnp.matmul(h, A.T) + b
        dz = jnp.matmul(dh, A.T)
        dh = _one_sided(activation, z, dz)
        h = activation.value(z)
    return jnp.matmul(dh, net.layers[-1][0].T)


# -- lexicographic Jacobian ----------------------------------------------------------


def _first_nonzero_sign(T):
    """Sign (−1, 0, 1) of the first nonzero entry along the last axis (0 if all zero)."""
    idx = jnp.argmax(T != 0, axis=-1)
    first = jnp.take_along_axis(T, idx[..., None], axis=-1)[..., 0]
    return jnp.sign(first).astype(jnp.int8)


def _check_basis(net: Network, basis, batch_shape) -> jax.Array:
    n = net.input_dim
    basis = _checks.real_array("basis", basis)
    if basis.ndim < 2 or basis.shape[-2:] != (n, n):
        raise ValueError(f"basis must have shape ({n}, {n}) or (..., {n}, {n}) (columns "
                         f"v_1, …, v_{n}) for a network with N_0 = {n}, got shape "
                         f"{basis.shape}")
    try:
        jnp.broadcast_shapes(batch_shape, basis.shape[:-2])
    except ValueError:
        raise ValueError(f"basis of shape {basis.shape} does not broadcast against inputs "
                         f"with batch shape {batch_shape}") from None
    _checks.finite_array("basis", basis)
    if _checks.is_concrete(basis):
        B = np.asarray(basis, dtype=np.float64).reshape((-1, n, n))
        ranks = np.linalg.matrix_rank(B)
        if np.any(ranks < n):
            i = int(np.argmax(ranks < n))
            raise ValueError(f"basis must be nonsingular (its columns a basis of R^{n}); "
                             f"basis number {i} has rank {int(ranks[i])}")
    return basis


def _lexicographic(net: Network, x, V, activation: Activation):
    """Propagate (z, Z) with Z = ∂z·V; return the selected slopes and the kink sides."""
    h = x
    T = V  # tangent matrix (..., N_{k-1}, n): the derivative of h along v_1..v_n
    slopes, sides = [], []
    for A, b in net.layers[:-1]:
        z = jnp.matmul(h, A.T) + b
        Z = jnp.matmul(A, T)
        d = activation.deriv(z).astype(z.dtype)
        if activation.is_smooth:
            s = d
            side = jnp.zeros(jnp.broadcast_shapes(z.shape, Z.shape[:-1]), jnp.int8)
        else:
            at = activation.kink_mask(z)
            first = _first_nonzero_sign(Z)
            side = jnp.where(at, first, jnp.zeros_like(first))
            s = jnp.where(side > 0, activation.right_deriv(z).astype(z.dtype),
                          jnp.where(side < 0, activation.left_deriv(z).astype(z.dtype), d))
        slopes.append(s)
        sides.append(side)
        T = s[..., :, None] * Z
        h = activation.value(z)
    return T, tuple(slopes), tuple(sides)


def _lexicographic_blocked(net: Network, x, V, activation: Activation, batch):
    """:math:`A_L T` and the slopes of :func:`_lexicographic` at every point of ``batch``,
    in blocks of points (:attr:`Blocking.tangent_block_size`) so that a block's tangents
    stay in cache; every point is computed by the same formula either way."""
    n, n0 = math.prod(batch), net.input_dim
    xs = jnp.broadcast_to(x, batch + (n0,)).reshape(n, n0)
    shared = V.ndim == 2  # one basis for all points (the identity, or a single matrix)
    Vs = V if shared else jnp.broadcast_to(V, batch + (n0, n0)).reshape(n, n0, n0)

    def run(xb, Vb):
        T, slopes, _ = _lexicographic(net, xb, Vb, activation)
        JT = jnp.broadcast_to(jnp.matmul(net.layers[-1][0], T),
                              xb.shape[:1] + (net.output_dim, n0))
        return JT, tuple(jnp.broadcast_to(s, xb.shape[:1] + s.shape[-1:]) for s in slopes)

    block = evaluation_blocking(net).tangent_block_size
    if n < _BLOCKS_BEFORE_BLOCKING * block:
        JT, slopes = run(xs, Vs)
    else:
        pad = -n % block
        xs = jnp.pad(xs, ((0, pad), (0, 0))).reshape(-1, block, n0)
        if shared:
            JT, slopes = jax.lax.map(lambda xb: run(xb, Vs), xs)
        else:  # zero bases for the padding: zero tangents, no NaN
            Vs = jnp.pad(Vs, ((0, pad), (0, 0), (0, 0))).reshape(-1, block, n0, n0)
            JT, slopes = jax.lax.map(lambda args: run(*args), (xs, Vs))
        JT = JT.reshape((-1,) + JT.shape[2:])[:n]
        slopes = tuple(s.reshape(-1, s.shape[-1])[:n] for s in slopes)
    return (JT.reshape(batch + JT.shape[1:]),
            tuple(s.reshape(batch + s.shape[-1:]) for s in slopes))


def lexicographic_jacobian(net: Network, x: ArrayLike, *, basis: ArrayLike | None = None,
                           activation: Activation = relu) -> jax.Array:
    r"""An element of the B-subdifferential :math:`\partial_B R\Phi(x)`, valid at every x.

    The lexicographic derivative (Nesterov; Khan & Barton): carry
    :math:`(z,\dot z_1,\dots,\dot z_n)` for the columns :math:`v_1,\dots,v_n` of
    ``basis`` (the identity if None) through the network. A hidden neuron whose
    pre-activation is not at a kink uses :math:`D\varrho(z)`; one at a kink uses the right
    derivative :math:`\varrho'_+` if the first nonzero entry of
    :math:`(\dot z_1,\dots,\dot z_n)` is positive, the left derivative :math:`\varrho'_-`
    if it is negative, and :math:`D\varrho` if all are zero (it then multiplies zero
    tangents, so the choice does not matter). The selected slopes :math:`s_k`
    (:func:`lexicographic_pattern`) are the pattern of the linear piece containing
    :math:`x+tv_1+t^2v_2+\dots+t^nv_n` for small t > 0, a full-dimensional piece whose
    closure contains x, and its Jacobian

    .. math::
        J=A_L\,\mathrm{diag}(s_{L-1})\,A_{L-1}\cdots\mathrm{diag}(s_1)\,A_1
        =\bigl[\dot z_L(v_1),\dots,\dot z_L(v_n)\bigr]V^{-1}

    is a limiting Jacobian: :math:`J\in\partial_B R\Phi(x)\subseteq\partial_C R\Phi(x)`.
    Away from kinks :math:`J=D^N\Phi(x)=\nabla R\Phi(x)`; for smooth activations always.

    Cost: one forward pass decides whether any hidden neuron of any point in the batch is
    at a kink. If none is (the generic case), J is :math:`D^N\Phi(x)` by the product formula
    (:func:`derivative`'s cost). Otherwise a second forward pass carries the N_0 tangents
    (about N_0 + 1 forward passes, like forward-mode :math:`D^N`; in blocks of points whose
    tangents fit in cache, see :func:`evaluation_blocking`), plus, for a basis other
    than the identity, one product-formula evaluation (no matrix inverse, so dyadic data
    stay exact). Under ``vmap`` both branches run.

    Non-finite ``x`` or ``basis`` raise ``ValueError`` eagerly. Under ``jit``/``vmap``
    a NaN entry of x gives NaN slopes, hence a NaN J (L ≥ 2), as for :func:`derivative`;
    a basis with a NaN or ±inf entry selects no piece, so J and the pattern are NaN at
    that point.

    Args:
      net: the network.
      x: points, shape ``(N_0,)`` or ``(..., N_0)``.
      basis: (keyword-only) None (the identity), or a nonsingular matrix with columns
        :math:`v_1,\dots,v_{N_0}`, shape ``(N_0, N_0)`` or ``(..., N_0, N_0)`` broadcast
        against the batch of x.
      activation: (keyword-only) :math:`\varrho` (default ReLU), with its one-sided
        derivatives.

    Returns:
      J of shape ``(..., N_L, N_0)``.

    Raises:
      TypeError: if ``net`` is not a :class:`~jrelu.Network`, ``activation`` not an
        :class:`~jrelu.Activation`, or ``x`` or ``basis`` not a real array.
      ValueError: for a shape that does not fit :math:`N_0`, (eagerly) a non-finite entry
        of ``x`` or ``basis``, or a singular basis.

    Example:
        >>> net = jrelu.examples.slope_network(2.0, 3.0)  # slopes 3 left, 2 right of 0
        >>> x = jnp.zeros(1)
        >>> float(jrelu.lexicographic_jacobian(net, x)[0, 0])
        2.0
        >>> float(jrelu.lexicographic_jacobian(net, x, basis=-jnp.eye(1))[0, 0])
        3.0

    References:
        Nesterov, Lexicographic differentiation of nonsmooth functions, Math. Program. 104
        (2005); Khan, Barton, A vector forward mode of automatic differentiation for
        generalized derivative evaluation, Optim. Methods Softw. 30 (2015); Berner,
        Elbrächter, Grohs, Jentzen (2019),
        `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    return _lexicographic_checked(net, x, basis, activation)[0]


def lexicographic_pattern(net: Network, x: ArrayLike, *, basis: ArrayLike | None = None,
                          activation: Activation = relu) -> tuple[jax.Array, ...]:
    r"""The slopes :math:`(s_1,\dots,s_{L-1})` selected by :func:`lexicographic_jacobian`.

    .. math::
        J=A_L\,\mathrm{diag}(s_{L-1})\,A_{L-1}\cdots\mathrm{diag}(s_1)\,A_1,

    :math:`s_k` the derivative of :math:`\varrho` on the linear piece containing
    :math:`x+tv_1+\dots+t^nv_n` for small t > 0 (for ReLU: 1 active, 0 inactive). The same
    computation as :func:`lexicographic_jacobian`.

    Args:
      net: the network.
      x: points, shape ``(N_0,)`` or ``(..., N_0)``.
      basis: (keyword-only) as in :func:`lexicographic_jacobian`.
      activation: (keyword-only) :math:`\varrho` (default ReLU).

    Returns:
      a tuple over the hidden layers of arrays of shape ``(..., N_k)``.

    Raises:
      TypeError: as in :func:`lexicographic_jacobian`.
      ValueError: as in :func:`lexicographic_jacobian`.

    Example:
        >>> from jrelu.derivative import lexicographic_pattern
        >>> net = jrelu.examples.slope_network(2.0, 3.0)  # hidden z = (x, -x)
        >>> [s.tolist() for s in lexicographic_pattern(net, jnp.zeros(1))]
        [[1.0, 0.0]]

    References:
        Nesterov, Lexicographic differentiation of nonsmooth functions, Math. Program. 104
        (2005); Khan, Barton, Optim. Methods Softw. 30 (2015).
    """
    return _lexicographic_checked(net, x, basis, activation)[1]


def _lexicographic_checked(net, x, basis, activation):
    net = _checks.network("net", net)
    activation = _checks.activation("activation", activation)
    x = check_input(net, x)
    _checks.finite_array("x", x)
    n = net.input_dim
    batch = x.shape[:-1]
    if basis is None:
        V = jnp.eye(n, dtype=x.dtype)
    else:
        V = _check_basis(net, basis, batch)
        batch = jnp.broadcast_shapes(batch, V.shape[:-2])
        V = V.astype(jnp.result_type(x.dtype, V.dtype))
    return _lexicographic_jit(net, x, V, activation, basis is None, batch)


@functools.partial(jax.jit, static_argnames=("activation", "identity", "batch"))
def _lexicographic_jit(net: Network, x, V, activation: Activation, identity: bool, batch):
    zs = preactivations(net, x, activation=activation)[:-1]
    dtype = jnp.result_type(net.dtype, x.dtype, V.dtype)

    def no_kink():
        # No hidden neuron of any point is at a kink: every selected slope is Dϱ(z), and J is
        # D^N by the product formula in the cheaper order (reverse for N_L < N_0).
        slopes = tuple(jnp.broadcast_to(activation.deriv(z).astype(dtype), batch + z.shape[-1:])
                       for z in zs)
        return _masked_product(net, slopes, batch).astype(dtype), slopes

    def some_kink():
        JT, slopes = _lexicographic_blocked(net, x, V, activation, batch)
        slopes = tuple(s.astype(dtype) for s in slopes)
        if identity:
            J = JT
        else:
            J = _masked_product(net, slopes, batch)
        return J.astype(dtype), slopes

    if activation.is_smooth or not zs:
        J, slopes = no_kink()
    else:
        any_kink = jnp.any(jnp.stack([jnp.any(activation.kink_mask(z)) for z in zs]))
        J, slopes = jax.lax.cond(any_kink, some_kink, no_kink)
    if identity:
        return J, slopes
    # A non-finite basis (only possible under jit: eager calls reject it) selects no piece:
    # J and the pattern are NaN at that point, whether or not it is at a kink.
    bad = jnp.broadcast_to(~jnp.all(jnp.isfinite(V), axis=(-2, -1)), batch)
    J = jnp.where(bad[..., None, None], jnp.nan, J).astype(J.dtype)
    slopes = tuple(jnp.where(bad[..., None], jnp.nan, s).astype(s.dtype) for s in slopes)
    return J, slopes


# -- limiting Jacobians ----------------------------------------------------------------

#: Completeness is decided by enumerating the 2^m one-sided patterns of the m kink
#: neurons; beyond this many kink neurons :attr:`LimitingJacobians.complete` is False.
_MAX_ENUMERATED_KINKS = 12


def _nnls(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    r""":math:`\arg\min_{x\ge0}\|Ax-b\|_2` by SciPy's Lawson–Hanson NNLS."""
    import scipy.optimize  # here: importing it costs 0.3 s, which every jrelu start would pay

    n = A.shape[1]
    try:
        return scipy.optimize.nnls(A, b, maxiter=3 * n + 30)[0]
    except RuntimeError:  # iteration limit: start the exact support solve from all of it
        return np.full(n, 1.0 / n)


class HullDistance(NamedTuple):
    r"""Bounds on the distance from J to the convex hull of :math:`J_1,\dots,J_K`.

    .. math::
        \texttt{lower}\le\min_{\lambda\in\Delta_K}\Bigl\|\sum_i\lambda_iJ_i-J\Bigr\|_F
        \le\texttt{upper}=\Bigl\|\sum_i\texttt{weights}_i\,J_i-J\Bigr\|_F .

    Attributes:
      upper: the attained distance of the convex combination ``weights``.
      lower: a separating-hyperplane lower bound.
      weights: a point of the simplex :math:`\Delta_K`, shape ``(K,)``.

    Example:
        >>> from jrelu.derivative import hull_distance
        >>> d = hull_distance([np.zeros(1), np.ones(1)], np.array([2.0]))
        >>> d.upper, d.lower, [round(float(w), 6) for w in d.weights]
        (1.0, 1.0, [0.0, 1.0])
    """

    upper: float
    lower: float
    weights: np.ndarray


def hull_distance(elements: Sequence[ArrayLike], J: ArrayLike) -> HullDistance:
    r"""The Euclidean (Frobenius) distance from J to the convex hull of ``elements``.

    .. math::
        d=\min\Bigl\{\Bigl\|\sum_i\lambda_iJ_i-J\Bigr\|_F:\lambda\ge0,\ \sum_i\lambda_i=1
        \Bigr\}.

    Solved in NumPy float64: Lawson–Hanson NNLS (``scipy.optimize.nnls``) on the system
    augmented by the heavily weighted row :math:`\omega\sum_i\lambda_i=\omega`, then an
    exact equality-constrained least-squares solve on the support found.

    Args:
      elements: a non-empty sequence of K arrays :math:`J_i`, all of the shape of ``J``.
      J: the matrix (or array) to compare.

    Returns:
      a :class:`HullDistance` ``(upper, lower, weights)``: ``weights`` is a point of the
      simplex and ``upper`` :math:`=\|\sum_i\lambda_iJ_i-J\|` (attained, so the distance is
      at most it); ``lower`` :math:`=(\langle r,J\rangle-\max_i\langle r,J_i\rangle)/\|r\|`
      for the residual :math:`r=J-\sum_i\lambda_iJ_i` is a separating-hyperplane lower
      bound. The two agree (up to rounding) when the solve is optimal.

    Raises:
      TypeError: if ``elements`` is not a sequence of real arrays or ``J`` not a real
        array.
      ValueError: if ``elements`` is empty, or the elements and J have different numbers
        of entries.

    Example:
        >>> from jrelu.derivative import hull_distance
        >>> square = [np.array([0.0, 0.0]), np.array([1.0, 0.0]),
        ...           np.array([0.0, 1.0]), np.array([1.0, 1.0])]
        >>> hull_distance(square, np.array([0.5, 0.5])).upper
        0.0
        >>> float(hull_distance(square, np.array([2.0, 0.5])).upper)
        1.0

    References:
        Lawson, Hanson, Solving Least Squares Problems, SIAM (1995); Clarke, Optimization
        and Nonsmooth Analysis (1983).
    """
    if isinstance(elements, (str, bytes, dict)) or not isinstance(elements, Iterable):
        raise TypeError(f"elements must be a sequence of arrays, got "
                        f"{_checks.type_name(elements)}: {elements!r:.80}")
    elements = [np.asarray(_checks.real_array(f"elements[{i}]", e), np.float64).reshape(-1)
                for i, e in enumerate(elements)]
    if not elements:
        raise ValueError("elements must hold at least one array, got an empty sequence")
    if len({e.shape for e in elements}) > 1:
        raise ValueError(f"elements must all have the same number of entries, got "
                         f"{sorted({e.size for e in elements})}")
    G = np.stack(elements, axis=1)
    y = np.asarray(_checks.real_array("J", J), np.float64).reshape(-1)
    if G.shape[0] != y.shape[0]:
        raise ValueError(f"J has {y.shape[0]} entries but the hull elements have "
                         f"{G.shape[0]}")
    K = G.shape[1]
    scale = max(1.0, float(np.abs(G).max(initial=0.0)), float(np.abs(y).max(initial=0.0)))
    omega = 1e4 * scale * math.sqrt(G.shape[0] + 1)
    lam = _nnls(np.vstack([G, omega * np.ones((1, K))]), np.concatenate([y, [omega]]))
    lam = np.clip(lam, 0.0, None)
    if lam.sum() <= 0:
        lam = np.full(K, 1.0 / K)
    lam /= lam.sum()
    support = lam > 0
    GS = G[:, support]
    kkt = np.block([[GS.T @ GS, np.ones((GS.shape[1], 1))],
                    [np.ones((1, GS.shape[1])), np.zeros((1, 1))]])
    rhs = np.concatenate([GS.T @ y, [1.0]])
    mu = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:-1]
    if np.all(mu >= 0) and abs(mu.sum() - 1.0) < 1e-12:
        cand = np.zeros(K)
        cand[support] = mu
        if np.linalg.norm(G @ cand - y) <= np.linalg.norm(G @ lam - y):
            lam = cand
    r = y - G @ lam
    upper = float(np.linalg.norm(r))
    if upper == 0.0:
        return HullDistance(0.0, 0.0, lam)
    lower = float((r @ y - np.max(r @ G)) / upper)
    return HullDistance(upper, max(lower, 0.0), lam)


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class LimitingJacobians:
    r"""Distinct elements of :math:`\partial_B R\Phi(x)` found by :func:`limiting_jacobians`.

    .. math::
        \partial_B R\Phi(x)=\bigl\{\lim_j\nabla R\Phi(x_j):x_j\to x,\ R\Phi
        \text{ differentiable at }x_j\bigr\},\qquad
        \partial_C R\Phi(x)=\mathrm{conv}\,\partial_B R\Phi(x).

    Attributes:
      x: the point, shape ``(N_0,)``.
      jacobians: array ``(K, N_L, N_0)``, the distinct limiting Jacobians found (each the
        Jacobian of a full-dimensional linear piece touching x, so guaranteed valid).
      patterns: tuple over hidden layers of arrays ``(K, N_k)``: the slopes :math:`s_k`
        selected for each element (:func:`lexicographic_pattern`).
      bases: array ``(K, N_0, N_0)``: for each element a basis whose lexicographic
        derivative produced it; the piece contains :math:`x+\sum_j t^jv_j` for small t > 0.
      num_kinks: the number m of hidden neurons exactly at a kink at x.
      complete: True only when the elements provably are all of :math:`\partial_B
        R\Phi(x)`: m = 0 (one element, :math:`\nabla R\Phi(x)`), or every candidate
        one-sided choice (left/right slope) at the m kink neurons is realized by some
        element found (a neuron with all-zero tangents realizes both). Every limiting
        Jacobian is the product formula with such a choice (near x the other neurons
        keep their slopes), so then nothing is missing. Candidates are all of
        :math:`\{\pm\}^m`, except that first-layer kink neurons whose rows of
        :math:`A_1` are exactly parallel have tied sides and a zero row has none; at most
        :math:`2^{12}` candidates are enumerated, beyond that ``complete`` is False.
        Otherwise (False) more elements may exist.

    Example:
        >>> net = jrelu.examples.slope_network(2.0, 3.0)
        >>> found = jrelu.limiting_jacobians(net, jnp.zeros(1), key=jax.random.key(0))
        >>> sorted(found.jacobians.ravel().tolist()), found.complete
        ([2.0, 3.0], True)
    """

    x: jax.Array
    jacobians: jax.Array
    patterns: tuple
    bases: jax.Array
    num_kinks: int
    complete: bool

    def __post_init__(self):
        object.__setattr__(self, "num_kinks", int(self.num_kinks))
        object.__setattr__(self, "complete", bool(self.complete))

    @property
    def more_may_exist(self) -> bool:
        r"""True unless the set found is provably all of :math:`\partial_B R\Phi(x)`.

        Example:
            >>> net = jrelu.examples.slope_network(2.0, 3.0)
            >>> jrelu.limiting_jacobians(net, jnp.zeros(1),
            ...                          key=jax.random.key(0)).more_may_exist
            False
        """
        return not self.complete

    @property
    def default_atol(self) -> float:
        r"""The default tolerance of :meth:`contains`.

        .. math::
            100\,\varepsilon\,\bigl(1+\max_i\|J_i\|_F\bigr),

        ε the machine epsilon of the Jacobians' dtype.

        Example:
            >>> net = jrelu.examples.slope_network(2.0, 3.0)
            >>> found = jrelu.limiting_jacobians(net, jnp.zeros(1), key=jax.random.key(0))
            >>> found.default_atol == 100 * float(jnp.finfo(found.jacobians.dtype).eps) * 4
            True
        """
        jacobians = np.asarray(self.jacobians)
        eps = float(np.finfo(jacobians.dtype).eps)
        norms = np.sqrt((jacobians.astype(np.float64) ** 2).reshape(len(jacobians), -1)
                        .sum(axis=1))
        return 100 * eps * (1.0 + float(norms.max(initial=0.0)))

    def __len__(self) -> int:
        return int(self.jacobians.shape[0])

    def __repr__(self) -> str:
        return (f"LimitingJacobians({len(self)} found, num_kinks={self.num_kinks}, "
                f"complete={self.complete}, shape={tuple(self.jacobians.shape[1:])})")

    def _as_matrix(self, J) -> np.ndarray:
        J = np.asarray(_checks.real_array("J", J), np.float64)
        shape = tuple(self.jacobians.shape[1:])
        if J.shape != shape and not (shape[0] == 1 and J.shape == shape[1:]):
            raise ValueError(f"J must have shape {shape}" + (f" or {shape[1:]} (the gradient "
                             "of a scalar-output network)" if shape[0] == 1 else "")
                             + f", got shape {J.shape}")
        _checks.finite_array("J", J)
        return J.reshape(shape)

    def hull_distance(self, J: ArrayLike) -> HullDistance:
        r"""Bounds on the distance from J to the convex hull of the elements found.

        .. math::
            \min_{\lambda\in\Delta_K}\Bigl\|\sum_i\lambda_iJ_i-J\Bigr\|_F

        (see :func:`jrelu.derivative.hull_distance`).

        Args:
          J: shape ``(N_L, N_0)``, or ``(N_0,)`` for a scalar-output network.

        Returns:
          a :class:`HullDistance` ``(upper, lower, weights)``.

        Raises:
          ValueError: for a J of the wrong shape or with a non-finite entry.

        Example:
            >>> net = jrelu.examples.slope_network(2.0, 3.0)
            >>> found = jrelu.limiting_jacobians(net, jnp.zeros(1), key=jax.random.key(0))
            >>> found.hull_distance(jnp.array([4.0])).upper
            1.0
        """
        return hull_distance(np.asarray(self.jacobians), self._as_matrix(J))

    def contains(self, J: ArrayLike, *, atol: float | None = None) -> bool:
        r"""Whether J lies within ``atol`` of the convex hull of the elements found.

        .. math::
            \min_{\lambda\in\Delta_K}\Bigl\|\sum_i\lambda_iJ_i-J\Bigr\|_F\le\texttt{atol};

        the hull is a subset of the Clarke Jacobian :math:`\partial_C R\Phi(x)=
        \mathrm{conv}\,\partial_B R\Phi(x)` (equal to it when :attr:`complete`).

        Args:
          J: shape ``(N_L, N_0)``, or ``(N_0,)`` for a scalar-output network.
          atol: (keyword-only) the tolerance; default :attr:`default_atol`.

        Returns:
          True if the attained distance is at most ``atol``.

        Raises:
          ValueError: for a J of the wrong shape or with a non-finite entry.

        Example:
            >>> net = jrelu.examples.slope_network(2.0, 3.0)
            >>> found = jrelu.limiting_jacobians(net, jnp.zeros(1), key=jax.random.key(0))
            >>> found.contains(jnp.array([2.5])), found.contains(jnp.array([0.0]))
            (True, False)
        """
        if atol is None:
            atol = self.default_atol
        return self.hull_distance(J)[0] <= atol

    def to_dict(self) -> dict:
        r"""The elements found as plain Python lists and numbers (JSON-able).

        .. math::
            \{J_1,\dots,J_K\}\subseteq\partial_B R\Phi(x).

        Returns:
          a dict with the fields as nested lists, ``num_kinks`` and ``complete``.

        Example:
            >>> import json
            >>> net = jrelu.examples.slope_network(2.0, 3.0)
            >>> found = jrelu.limiting_jacobians(net, jnp.zeros(1), key=jax.random.key(0))
            >>> sorted(json.loads(json.dumps(found.to_dict()))["jacobians"])
            [[[2.0]], [[3.0]]]
        """
        return {
            "x": np.asarray(self.x).tolist(),
            "jacobians": np.asarray(self.jacobians).tolist(),
            "patterns": [np.asarray(p).tolist() for p in self.patterns],
            "bases": np.asarray(self.bases).tolist(),
            "num_kinks": self.num_kinks,
            "complete": self.complete,
        }


def _tied_signs(rows: np.ndarray) -> list[tuple[int, int]]:
    r"""For exact first-layer rows :math:`a_i` of kink neurons: ``(group, sign)`` per row.

    Rows that are positive (negative) multiples of each other, compared exactly in rational
    arithmetic, get the same group with equal (opposite) sign: for every direction w,
    :math:`a_j\cdot w=\alpha\,a_i\cdot w`, so their sides are tied. A zero row gets
    group −1 (its side is always 0)."""
    from fractions import Fraction

    exact = [[Fraction(float(v)) for v in row] for row in rows]
    reps: list[int] = []
    out = []
    for i, row in enumerate(exact):
        if not any(row):
            out.append((-1, 0))
            continue
        for g, r in enumerate(reps):
            ref = exact[r]
            p = next(q for q, v in enumerate(ref) if v)
            if all(row[q] * ref[p] == ref[q] * row[p] for q in range(len(row))):
                out.append((g, 1 if row[p] / ref[p] > 0 else -1))
                break
        else:
            reps.append(i)
            out.append((len(reps) - 1, 1))
    return out


def _covers_all_sides(sides: np.ndarray, tied: list[tuple[int, int]]) -> bool:
    r"""Whether the side vectors found (rows in {−1, 0, 1}^m, 0 = both sides) cover every
    candidate choice in {±1}^m.

    The first ``len(tied)`` kink neurons (those of the first hidden layer) have the sign
    ties of :func:`_tied_signs`; the others are free. Enumerates at most
    :math:`2^{12}` candidates."""
    m = sides.shape[1]
    groups = sorted({g for g, _ in tied if g >= 0})
    free = m - len(tied)
    dims = len(groups) + free
    if dims > _MAX_ENUMERATED_KINKS:
        return False
    gi = {g: j for j, g in enumerate(groups)}
    cols = []
    for g, sgn in tied:
        cols.append((gi[g], sgn) if g >= 0 else (None, 0))
    cols += [(len(groups) + j, 1) for j in range(free)]
    for choice in itertools.product((-1, 1), repeat=dims):
        cand = np.array([0 if g is None else sgn * choice[g] for g, sgn in cols], np.int8)
        need = cand != 0
        ok = np.all((sides[:, need] == 0) | (sides[:, need] == cand[need]), axis=1)
        if not ok.any():
            return False
    return True


def limiting_jacobians(net: Network, x: ArrayLike, *, key: ArrayLike, num_bases: int = 32,
                       activation: Activation = relu) -> LimitingJacobians:
    r"""Distinct elements of the B-subdifferential :math:`\partial_B R\Phi(x)` at one point.

    :math:`\partial_B R\Phi(x)` is the set of limits of :math:`\nabla R\Phi(x_j)` over
    differentiability points :math:`x_j\to x`; its convex hull is the Clarke Jacobian.
    Each element returned is a :func:`lexicographic_jacobian` of x for some basis, hence
    valid. The bases tried are the identity, minus the identity,
    and ``num_bases`` Gaussian matrices drawn with ``key`` (nonsingular with probability
    one; a singular draw is skipped). Elements are deduplicated exactly: first by their
    slope pattern, then by bitwise equality of the Jacobians (distinct patterns can give
    the same matrix).

    If no hidden neuron is at a kink at x, the single element :math:`D^N\Phi(x)=
    \nabla R\Phi(x)` is returned with ``complete=True`` (no random bases are used).
    Random bases find a piece with probability equal to the Gaussian measure of the
    directions entering it, so pieces with a thin tangent cone at x can be missed; the
    result says so through :attr:`LimitingJacobians.complete`.

    Kinks are decided on the floating-point pre-activations: a neuron whose
    pre-activation is 0 in exact arithmetic but, after rounding, 1e-17 in float64 is not
    at a kink here, and only the Jacobian of its positive side is found (this function has
    no ``tol``). Where that matters, enclose the derivatives with the certified
    :func:`jrelu.derivative_bounds` on the zero-width box ``(x, x)``: it accounts for
    rounding, so such a neuron gets both slopes.

    .. math::
        \partial_B R\Phi(x)=\bigl\{\lim_j\nabla R\Phi(x_j):x_j\to x,\ R\Phi
        \text{ differentiable at }x_j\bigr\}.

    Args:
      net: the network.
      x: one point, shape ``(N_0,)``.
      key: (keyword-only) a JAX PRNG key for the random bases.
      num_bases: (keyword-only) number of random bases (0 to :math:`2^{20}`).
      activation: (keyword-only) :math:`\varrho` (default ReLU).

    Returns:
      a :class:`LimitingJacobians` with the elements, their patterns and bases, the
      completeness flag and the convex-hull check.

    Raises:
      TypeError: if ``net`` is not a :class:`~jrelu.Network`, ``activation`` not an
        :class:`~jrelu.Activation`, ``x`` not a real array, ``key`` not a PRNG key or
        ``num_bases`` not an integer.
      ValueError: if ``x`` is not one point of shape ``(N_0,)``, is traced (under
        ``jit``) or has a non-finite entry, or ``num_bases`` is negative or above
        :math:`2^{20}`.

    Example:
        >>> net = jrelu.examples.slope_network(2.0, 3.0)  # slopes 3 left, 2 right of 0
        >>> found = jrelu.limiting_jacobians(net, jnp.zeros(1), key=jax.random.key(0))
        >>> sorted(found.jacobians.ravel().tolist()), found.complete
        ([2.0, 3.0], True)
        >>> found.contains(jrelu.derivative(net, jnp.zeros(1)))  # D^N(0) = 0
        False

    References:
        Berner, Elbrächter, Grohs, Jentzen (2019),
        `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_; Clarke, Optimization and
        Nonsmooth Analysis (1983).
    """
    net = _checks.network("net", net)
    activation = _checks.activation("activation", activation)
    x = check_input(net, x)
    if x.ndim != 1:
        raise ValueError(f"limiting_jacobians takes one point of shape ({net.input_dim},), "
                         f"got shape {x.shape}; loop or vmap lexicographic_jacobian for batches")
    if not _checks.is_concrete(x):
        raise ValueError("limiting_jacobians needs a concrete x (it returns a variable number "
                         "of elements, so it cannot run under jit); use "
                         "lexicographic_jacobian inside jit")
    _checks.finite_array("x", x)
    num_bases = _checks.integer("num_bases", num_bases, min=0, max=2**20)
    _checks.prng_key("key", key)
    n = net.input_dim
    kink_masks, V, J, slopes, sides = _limiting_jit(net, x, key, num_bases, activation)
    kink_mask = np.concatenate([np.asarray(k) for k in kink_masks]) if kink_masks \
        else np.zeros(0, bool)
    num_kinks = int(kink_mask.sum())
    if num_kinks == 0:  # element 0 is the identity basis's: the gradient
        return LimitingJacobians(x, J[:1], tuple(s[:1] for s in slopes), V[:1], 0, True)
    ok = np.flatnonzero(np.linalg.matrix_rank(np.asarray(V, np.float64)) == n)
    J = np.asarray(J)[ok]
    slopes = tuple(s[ok] for s in slopes)
    V = V[ok]
    flat = np.concatenate([np.asarray(s) for s in slopes], axis=1)
    side_vec = np.concatenate([np.asarray(s)[ok] for s in sides], axis=1)[:, kink_mask]
    keep, seen_pattern, seen_jac = [], set(), set()
    for i in range(V.shape[0]):
        pkey = flat[i].tobytes()
        if pkey in seen_pattern:
            continue
        seen_pattern.add(pkey)
        jkey = J[i].tobytes()
        if jkey in seen_jac:
            continue
        seen_jac.add(jkey)
        keep.append(i)
    first_kinks = np.asarray(kink_masks[0])
    tied = _tied_signs(np.asarray(net.layers[0][0])[first_kinks])
    complete = _covers_all_sides(np.unique(side_vec, axis=0), tied)
    idx = np.asarray(keep)
    return LimitingJacobians(x, jnp.asarray(J[idx]), tuple(s[idx] for s in slopes), V[idx],
                             num_kinks, complete)


@functools.partial(jax.jit, static_argnames=("num_bases", "activation"))
def _limiting_jit(net: Network, x, key, num_bases: int, activation: Activation):
    """Kink masks at x and the lexicographic elements for I, −I and Gaussian bases."""
    n = net.input_dim
    zs = preactivations(net, x, activation=activation)[:-1]
    kink_masks = tuple(activation.kink_mask(z) for z in zs)
    eye = jnp.eye(n, dtype=x.dtype)
    V = jnp.concatenate([eye[None], -eye[None],
                         _random.normal(key, (num_bases, n, n), x.dtype)])
    B = V.shape[0]
    xs = jnp.broadcast_to(x, (B, n))
    _, slopes, sides = _lexicographic(net, xs, V, activation)
    slopes = tuple(jnp.broadcast_to(s, (B,) + s.shape[-1:]) for s in slopes)
    sides = tuple(jnp.broadcast_to(s, (B,) + s.shape[-1:]) for s in sides)
    J = _masked_product(net, slopes, (B,))
    return kink_masks, V, J, slopes, sides
