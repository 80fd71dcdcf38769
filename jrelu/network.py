r"""Networks as data, their realizations, sizes and calculus.

A network is :math:`\Phi=((A_1,b_1),\dots,(A_L,b_L))` with
:math:`A_k\in\mathbb R^{N_k\times N_{k-1}}`, :math:`b_k\in\mathbb R^{N_k}`. Its
realization is :math:`R\Phi=W_L\circ\varrho\circ W_{L-1}\circ\dots\circ\varrho\circ W_1`
with :math:`W_k(x)=A_kx+b_k` (no activation after the last layer).

:class:`Network` is a JAX pytree whose leaves are the ``A_k`` and ``b_k``; the widths
:math:`(N_0,\dots,N_L)` are read off the shapes, never stored separately. The calculus
(composition, identity, parallelization, linear combination) builds new networks
whose realizations are exactly the stated functions, for every ``x``.

References:
  Petersen, Voigtlaender (2018), `arXiv:1709.05289 <https://arxiv.org/abs/1709.05289>`_;
  Berner, Elbrächter, Grohs, Jentzen (2019),
  `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import block_diag
from jax.typing import ArrayLike

from . import _checks, _random
from .activations import Activation, relu

__all__ = [
    "Network",
    "init",
    "realize",
    "preactivations",
    "depth",
    "width",
    "num_params",
    "connectivity",
    "compose",
    "sparse_compose",
    "identity",
    "parallel",
    "parallel_full",
    "linear_combination",
    "flatten",
    "unflatten",
    "check_input",
]

_REFS = r"""
    References:
        Petersen, Voigtlaender (2018), `arXiv:1709.05289 <https://arxiv.org/abs/1709.05289>`_;
        Berner, Elbrächter, Grohs, Jentzen (2019),
        `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
"""


def _refs(obj):
    obj.__doc__ = obj.__doc__.rstrip() + "\n" + _REFS
    return obj


@_refs
@jax.tree_util.register_pytree_node_class
class Network:
    r"""A network :math:`\Phi=((A_1,b_1),\dots,(A_L,b_L))` as a JAX pytree.

    .. math::
        A_k\in\mathbb R^{N_k\times N_{k-1}},\quad b_k\in\mathbb R^{N_k},\quad
        k=1,\dots,L .

    The leaves are :math:`A_1,b_1,\dots,A_L,b_L`; the widths are read off the shapes, so a
    network can be an argument of ``jit``, ``grad`` and ``vmap``.

    Args:
      layers: a non-empty sequence of pairs ``(A_k, b_k)`` with ``A_k`` of shape
        ``(N_k, N_{k-1})`` and ``b_k`` of shape ``(N_k,)``.
      check: (keyword-only) if True, also require every weight to be finite (needs
        concrete arrays, so not inside ``jit``).

    Raises:
      TypeError: if ``layers`` is not a sequence, an ``A_k`` or ``b_k`` is not a real
        array, or ``check`` is not a bool.
      ValueError: for an empty layer list, a non-matrix ``A_k``, a bias whose length
        is not ``N_k``, consecutive layers whose shapes do not chain, or (with
        ``check=True``) a non-finite weight. The message names the layer (1-based,
        as in the math) and the shapes.

    Example:
        >>> net = jrelu.Network([(jnp.ones((3, 2)), jnp.zeros(3)),
        ...                      (jnp.ones((1, 3)), jnp.zeros(1))])
        >>> net.widths
        (2, 3, 1)
    """

    __slots__ = ("layers",)

    def __init__(self, layers: Sequence[tuple[ArrayLike, ArrayLike]], *, check: bool = False):
        check = _checks.boolean("check", check)
        if isinstance(layers, (str, bytes, dict)):
            raise TypeError(f"layers must be a sequence of pairs (A_k, b_k), got "
                            f"{_checks.type_name(layers)}")
        try:
            layers = tuple(layers)
        except TypeError:
            raise TypeError(f"layers must be a sequence of pairs (A_k, b_k), got "
                            f"{_checks.type_name(layers)}: {layers!r:.80}") from None
        if not layers:
            raise ValueError("Network needs at least one layer; got an empty layer list")
        out = []
        for k, pair in enumerate(layers, start=1):
            try:
                A, b = pair
            except (TypeError, ValueError):
                raise ValueError(
                    f"layers: layer {k}: expected a pair (A_{k}, b_{k}), got {pair!r}") from None
            A = _checks.real_array(f"layers: layer {k}: A_{k}", A)
            b = _checks.real_array(f"layers: layer {k}: b_{k}", b)
            if A.ndim != 2:
                raise ValueError(f"layers: layer {k}: A_{k} must be a matrix (N_{k}, N_{k-1}), "
                                 f"got shape {A.shape}")
            if b.shape != (A.shape[0],):
                raise ValueError(f"layers: layer {k}: b_{k} must have shape ({A.shape[0]},) to "
                                 "match "
                                 f"A_{k} of shape {A.shape}, got shape {b.shape}")
            if out and A.shape[1] != out[-1][0].shape[0]:
                raise ValueError(
                    f"layers: layer {k}: A_{k} has shape {A.shape}, so it expects "
                    f"{A.shape[1]} inputs, "
                    f"but layer {k - 1} has A_{k - 1} of shape {out[-1][0].shape} with "
                    f"{out[-1][0].shape[0]} outputs")
            if check:
                for name, arr in ((f"A_{k}", A), (f"b_{k}", b)):
                    _checks.finite_array(f"layers: layer {k}: {name}", arr)
            out.append((A, b))
        self.layers = tuple(out)

    # -- pytree protocol: leaves are A_1, b_1, ..., A_L, b_L; no static metadata.
    def tree_flatten(self):
        r"""The pytree protocol: children ``(layers,)``, no static data.

        .. math::
            \Phi\mapsto(A_1,b_1,\dots,A_L,b_L).

        Returns:
          ``((layers,), None)``.

        Example:
            >>> net = jrelu.init(jax.random.key(0), (2, 3, 1))
            >>> len(jax.tree.leaves(net))
            4
        """
        return (self.layers,), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        r"""The pytree protocol: rebuild a network from its children (no checks).

        .. math::
            (A_1,b_1,\dots,A_L,b_L)\mapsto\Phi.

        Args:
          aux: the static data (None).
          children: ``(layers,)``.

        Returns:
          the :class:`Network`.

        Example:
            >>> net = jrelu.init(jax.random.key(0), (2, 3, 1))
            >>> jax.tree.map(jnp.zeros_like, net).widths
            (2, 3, 1)
        """
        net = object.__new__(cls)
        net.layers = tuple(tuple(pair) for pair in children[0])
        return net

    @property
    def widths(self) -> tuple[int, ...]:
        r"""The architecture :math:`(N_0, N_1, \dots, N_L)`.

        Example:
            >>> jrelu.init(jax.random.key(0), (2, 3, 1)).widths
            (2, 3, 1)
        """
        return (self.layers[0][0].shape[1],) + tuple(A.shape[0] for A, _ in self.layers)

    @property
    def input_dim(self) -> int:
        r"""The input dimension :math:`N_0`.

        Example:
            >>> jrelu.init(jax.random.key(0), (2, 3, 1)).input_dim
            2
        """
        return self.layers[0][0].shape[1]

    @property
    def output_dim(self) -> int:
        r"""The output dimension :math:`N_L`.

        Example:
            >>> jrelu.init(jax.random.key(0), (2, 3, 1)).output_dim
            1
        """
        return self.layers[-1][0].shape[0]

    @property
    def dtype(self):
        r"""The common result dtype of all weights.

        Example:
            >>> str(jrelu.init(jax.random.key(0), (2, 1), dtype=jnp.float32).dtype)
            'float32'
        """
        return jnp.result_type(*[a for pair in self.layers for a in pair])

    def __repr__(self) -> str:
        if all(hasattr(a, "shape") and hasattr(a, "dtype") for pair in self.layers for a in pair):
            return f"Network(widths={self.widths}, dtype={self.dtype})"
        return f"Network(layers={self.layers!r})"  # leaves that are not arrays (pytree maps)


@_refs
def init(key: ArrayLike, widths: Sequence[int], *, dtype=None) -> Network:
    r"""A random network with architecture ``widths`` :math:`=(N_0,\dots,N_L)`.

    .. math::
        (A_k)_{ij}\sim\mathcal N\Bigl(0,\frac2{N_{k-1}}\Bigr),\qquad
        (b_k)_i\sim\mathcal U\Bigl(-\frac1{\sqrt{N_{k-1}}},\frac1{\sqrt{N_{k-1}}}\Bigr)

    (He initialization for the weights, PyTorch's bias initialization).

    Args:
      key: a JAX PRNG key, e.g. ``jax.random.key(0)``.
      widths: the architecture :math:`(N_0,\dots,N_L)`, at least two positive integers.
      dtype: (keyword-only) a floating dtype; default JAX's default float (float32, or
        float64 with ``jax_enable_x64``).

    Returns:
      a :class:`Network` of depth ``len(widths) - 1``.

    Raises:
      TypeError: if ``key`` is not a PRNG key, a width is not an integer, or ``dtype`` is
        not a dtype.
      ValueError: for fewer than two widths, a width < 1, or a non-floating dtype.

    Example:
        >>> net = jrelu.init(jax.random.key(0), (3, 16, 1))
        >>> net.widths, jrelu.num_params(net)
        ((3, 16, 1), 81)
    """
    widths = _widths(widths)
    _checks.prng_key("key", key)
    dtype = _checks.default_float_dtype(dtype)
    keys = jax.random.split(key, 2 * (len(widths) - 1))
    layers = []
    for k in range(1, len(widths)):
        n_in, n_out = widths[k - 1], widths[k]
        A = _random.normal(keys[2 * k - 2], (n_out, n_in), dtype) * jnp.sqrt(2.0 / n_in)
        bound = 1.0 / np.sqrt(n_in)
        b = jax.random.uniform(keys[2 * k - 1], (n_out,), dtype, -bound, bound)
        layers.append((A.astype(dtype), b))
    return Network(layers)


def _widths(widths) -> tuple[int, ...]:
    """``widths`` as a tuple of at least two integers >= 1 (TypeError/ValueError naming it)."""
    if isinstance(widths, (str, bytes, dict)) or not isinstance(widths, Iterable):
        raise TypeError(f"widths must be a sequence of integers (N_0, ..., N_L), got "
                        f"{_checks.type_name(widths)}: {widths!r:.80}")
    widths = tuple(widths)
    if len(widths) < 2:
        raise ValueError(f"widths must list at least (N_0, N_1), got {widths}")
    return tuple(_checks.integer(f"widths[{i}]", n, min=1, max=_MAX_SIZE)
                 for i, n in enumerate(widths))


#: The largest width, dimension or depth accepted (beyond it JAX cannot index arrays).
_MAX_SIZE = 2**31 - 1


@_refs
def check_input(net: Network, x: ArrayLike, *, name: str = "x") -> jax.Array:
    r"""``x`` as an inexact array of shape ``(N_0,)`` or ``(..., N_0)`` for ``net``.

    .. math::
        x\in\mathbb R^{N_0}\quad\text{or}\quad x\in\mathbb R^{\dots\times N_0}.

    Integer inputs are converted to the network's dtype; the values are not checked
    (this works under ``jit``; NaN and ±inf pass through).

    Args:
      net: the network.
      x: points, shape ``(N_0,)`` or ``(..., N_0)``.
      name: (keyword-only) the argument's name in error messages.

    Returns:
      ``x`` as a floating JAX array.

    Raises:
      TypeError: if ``x`` is not a real array (a string, None, a bool or complex array).
      ValueError: if the last axis of ``x`` is not :math:`N_0` (or ``x`` is a scalar).

    Example:
        >>> net = jrelu.init(jax.random.key(0), (2, 3, 1))
        >>> jrelu.network.check_input(net, [[1, 2]]).shape
        (1, 2)
    """
    x = _checks.real_array(name, x)
    if x.ndim == 0 or x.shape[-1] != net.input_dim:
        raise ValueError(f"{name} must have shape ({net.input_dim},) or (..., {net.input_dim}) "
                         f"for a network with N_0 = {net.input_dim}, got shape {x.shape}")
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(net.dtype)
    return x


def _affine(A, b, h):
    return jnp.matmul(h, A.T) + b


@_refs
def preactivations(net: Network, x: ArrayLike, *,
                   activation: Activation = relu) -> tuple[jax.Array, ...]:
    r"""The truncated realizations :math:`(R_1\Phi(x),\dots,R_L\Phi(x))`.

    .. math::
        R_k\Phi=W_k\circ\varrho\circ W_{k-1}\circ\dots\circ\varrho\circ W_1,\qquad
        W_k(x)=A_kx+b_k,

    so :math:`R_k\Phi(x)` is the pre-activation of layer k and :math:`R_L\Phi=R\Phi`.

    Args:
      net: the network.
      x: points, shape ``(N_0,)`` or ``(..., N_0)``.
      activation: (keyword-only) the activation :math:`\varrho` (default ReLU).

    Returns:
      a tuple of L arrays, the k-th of shape ``(..., N_k)``.

    Raises:
      TypeError: if ``net`` is not a :class:`Network`, ``activation`` not an
        :class:`~jrelu.Activation`, or ``x`` not a real array.
      ValueError: if the last axis of ``x`` is not :math:`N_0`.

    Example:
        >>> net = jrelu.Network([(jnp.array([[1.0], [-1.0]]), jnp.zeros(2)),
        ...                      (jnp.array([[1.0, 1.0]]), jnp.zeros(1))])
        >>> [z.tolist() for z in jrelu.preactivations(net, jnp.array([-2.0]))]
        [[-2.0, 2.0], [2.0]]
    """
    _checks.network("net", net)
    _checks.activation("activation", activation)
    h = check_input(net, x)
    zs = []
    for k, (A, b) in enumerate(net.layers):
        z = _affine(A, b, h)
        zs.append(z)
        if k < len(net.layers) - 1:
            h = activation(z)
    return tuple(zs)


@_refs
def realize(net: Network, x: ArrayLike, *, activation: Activation = relu) -> jax.Array:
    r"""The realization :math:`R\Phi(x)` of the network.

    .. math::
        R\Phi(x)=W_L(\varrho(W_{L-1}(\cdots\varrho(W_1x)))),\qquad W_k(x)=A_kx+b_k,

    with no activation after the last layer.

    Args:
      net: the network.
      x: points, shape ``(N_0,)`` or ``(..., N_0)``.
      activation: (keyword-only) the activation :math:`\varrho` (default ReLU); its custom
        JVP fixes the derivative every JAX transform sees.

    Returns:
      shape ``(N_L,)`` or ``(..., N_L)``.

    Raises:
      TypeError: if ``net`` is not a :class:`Network`, ``activation`` not an
        :class:`~jrelu.Activation`, or ``x`` not a real array.
      ValueError: if the last axis of ``x`` is not :math:`N_0`.

    Example:
        >>> net = jrelu.identity(2, 3)
        >>> jrelu.realize(net, jnp.array([-1.5, 2.0])).tolist()
        [-1.5, 2.0]
    """
    return preactivations(net, x, activation=activation)[-1]


# -- sizes -------------------------------------------------------------------


@_refs
def depth(net: Network) -> int:
    r"""The depth L, the number of affine layers.

    .. math::
        \mathcal L(\Phi)=L .

    Args:
      net: the network.

    Returns:
      L.

    Raises:
      TypeError: if ``net`` is not a :class:`Network`.

    Example:
        >>> jrelu.depth(jrelu.init(jax.random.key(0), (2, 4, 4, 1)))
        3
    """
    return len(_checks.network("net", net).layers)


@_refs
def width(net: Network) -> int:
    r"""The width :math:`\max_k N_k` over :math:`k=0,\dots,L`.

    .. math::
        \mathcal W(\Phi)=\max_{0\le k\le L}N_k .

    Args:
      net: the network.

    Returns:
      the largest width, inputs included.

    Raises:
      TypeError: if ``net`` is not a :class:`Network`.

    Example:
        >>> jrelu.width(jrelu.init(jax.random.key(0), (2, 7, 4, 1)))
        7
    """
    return max(_checks.network("net", net).widths)


@_refs
def num_params(net: Network) -> int:
    r"""The number of parameters.

    .. math::
        \mathcal P(\Phi)=\sum_{k=1}^L N_k(N_{k-1}+1).

    Args:
      net: the network.

    Returns:
      the total number of entries of all :math:`A_k` and :math:`b_k`.

    Raises:
      TypeError: if ``net`` is not a :class:`Network`.

    Example:
        >>> jrelu.num_params(jrelu.init(jax.random.key(0), (2, 3, 1)))
        13
    """
    w = _checks.network("net", net).widths
    return sum(w[k] * (w[k - 1] + 1) for k in range(1, len(w)))


@_refs
def connectivity(net: Network) -> int:
    r"""The number of nonzero entries of all :math:`A_k` and :math:`b_k`.

    .. math::
        \mathcal M(\Phi)=\sum_{k=1}^L\|A_k\|_0+\|b_k\|_0 .

    Needs concrete weights (not under ``jit``).

    Args:
      net: the network.

    Returns:
      the number of nonzero weights.

    Raises:
      TypeError: if ``net`` is not a :class:`Network`.

    Example:
        >>> jrelu.connectivity(jrelu.identity(2, 3))
        12
    """
    _checks.network("net", net)
    return int(sum(np.count_nonzero(np.asarray(a)) for pair in net.layers for a in pair))


# -- calculus ----------------------------------------------------------------


@_refs
def compose(outer: Network, inner: Network) -> Network:
    r"""The composition :math:`\Psi\circ\Phi` realizing :math:`R\Psi\circ R\Phi`.

    Merges Φ's last affine map into Ψ's first:

    .. math::
        \Psi\circ\Phi=((A_1,b_1),\dots,(A_{L-1},b_{L-1}),(\tilde A_1A_L,\tilde A_1b_L+
        \tilde b_1),(\tilde A_2,\tilde b_2),\dots,(\tilde A_M,\tilde b_M)),

    of depth L + M − 1.

    Args:
      outer: Ψ, with input dimension :math:`N_L` of Φ.
      inner: Φ.

    Returns:
      the composed :class:`Network`.

    Raises:
      TypeError: if an argument is not a :class:`Network`.
      ValueError: if Ψ's input dimension is not Φ's output dimension.

    Example:
        >>> inner = jrelu.Network([(jnp.array([[2.0]]), jnp.array([1.0]))])
        >>> outer = jrelu.identity(1, 2)
        >>> net = jrelu.compose(outer, inner)
        >>> jrelu.depth(net), jrelu.realize(net, jnp.array([3.0])).tolist()
        (2, [7.0])
    """
    _check_composable(outer, inner)
    A_L, b_L = inner.layers[-1]
    A1, b1 = outer.layers[0]
    merged = (A1 @ A_L, A1 @ b_L + b1)
    return Network(inner.layers[:-1] + (merged,) + outer.layers[1:])


def _check_composable(outer: Network, inner: Network):
    _checks.network("outer", outer)
    _checks.network("inner", inner)
    if outer.input_dim != inner.output_dim:
        raise ValueError(f"cannot compose: the outer network takes N_0 = {outer.input_dim} "
                         f"inputs (widths {outer.widths}) but the inner network gives "
                         f"N_L = {inner.output_dim} outputs (widths {inner.widths})")


@_refs
def identity(d: int, depth: int, *, dtype=None) -> Network:
    r"""The ReLU identity network of dimension d and depth L.

    .. math::
        \Phi^{\mathrm{Id}}_{d,1}=((I,0)),\qquad
        \Phi^{\mathrm{Id}}_{d,L}=\bigl(((I;-I),0),(I_{2d},0)^{\times(L-2)},((I,-I),0)\bigr),

    realizing :math:`x=\varrho(x)-\varrho(-x)` for :math:`\varrho=` ReLU (any value of
    :math:`D\varrho(0)`). Width 2d, :math:`2d` nonzeros in each layer's matrix.

    Args:
      d: the dimension, >= 1.
      depth: the depth L, >= 1.
      dtype: (keyword-only) a floating dtype; default JAX's default float.

    Returns:
      the identity :class:`Network`.

    Raises:
      TypeError: if ``d`` or ``depth`` is not an integer.
      ValueError: if ``d`` or ``depth`` is < 1.

    Example:
        >>> net = jrelu.identity(2, 3)
        >>> net.widths, jrelu.realize(net, jnp.array([0.5, -4.0])).tolist()
        ((2, 4, 4, 2), [0.5, -4.0])
    """
    _checks.integer("d (the identity dimension)", d, min=1, max=_MAX_SIZE)
    _checks.integer("depth (of the identity)", depth, min=1, max=_MAX_SIZE)
    dtype = _checks.default_float_dtype(dtype)
    eye = jnp.eye(d, dtype=dtype)
    if depth == 1:
        return Network([(eye, jnp.zeros(d, dtype))])
    layers = [(jnp.concatenate([eye, -eye], axis=0), jnp.zeros(2 * d, dtype))]
    layers += [(jnp.eye(2 * d, dtype=dtype), jnp.zeros(2 * d, dtype))] * (depth - 2)
    layers += [(jnp.concatenate([eye, -eye], axis=1), jnp.zeros(d, dtype))]
    return Network(layers)


@_refs
def sparse_compose(outer: Network, inner: Network) -> Network:
    r"""The sparse composition realizing :math:`R\Psi\circ R\Phi` with sizes that add.

    .. math::
        \Psi\odot\Phi=\Psi\circ\Phi^{\mathrm{Id}}_{N_L,2}\circ\Phi,

    of depth L + M (for ReLU); no product of weight matrices fills in sparsity. The
    inserted identity network is part of the data: where an output of Φ is exactly 0, its
    :math:`D^N` there is :math:`2c` (c = Dϱ(0)), not 1, and the chain rule carries that
    factor.

    Args:
      outer: Ψ, with input dimension :math:`N_L` of Φ.
      inner: Φ.

    Returns:
      the composed :class:`Network`.

    Raises:
      TypeError: if an argument is not a :class:`Network`.
      ValueError: if Ψ's input dimension is not Φ's output dimension.

    Example:
        >>> inner = jrelu.Network([(jnp.array([[2.0]]), jnp.array([1.0]))])
        >>> net = jrelu.sparse_compose(jrelu.identity(1, 2), inner)
        >>> jrelu.depth(net), jrelu.realize(net, jnp.array([3.0])).tolist()
        (3, [7.0])
    """
    _check_composable(outer, inner)
    ident = identity(inner.output_dim, 2, dtype=jnp.result_type(outer.dtype, inner.dtype))
    return compose(compose(outer, ident), inner)


def _extend(net: Network, target_depth: int) -> Network:
    """Pad ``net`` to ``target_depth`` by composing with an identity network on its output."""
    extra = target_depth - depth(net)
    if extra == 0:
        return net
    return compose(identity(net.output_dim, extra + 1, dtype=net.dtype), net)


def _parallel(nets, shared_input: bool) -> Network:
    if not nets:
        raise ValueError("parallelization needs at least one network")
    for i, n in enumerate(nets):
        _checks.network(f"nets[{i}]", n)
    if shared_input:
        dims = {n.input_dim for n in nets}
        if len(dims) > 1:
            raise ValueError("parallel needs networks with equal input dimension, got "
                             f"widths {[n.widths for n in nets]}; use parallel_full for "
                             "separate inputs")
    L = max(depth(n) for n in nets)
    nets = [_extend(n, L) for n in nets]
    layers = []
    for k in range(L):
        As = [n.layers[k][0] for n in nets]
        bs = [n.layers[k][1] for n in nets]
        A = jnp.concatenate(As, axis=0) if (k == 0 and shared_input) else block_diag(*As)
        layers.append((A, jnp.concatenate(bs)))
    return Network(layers)


@_refs
def parallel(*nets: Network) -> Network:
    r"""The parallelization :math:`P(\Phi^1,\dots,\Phi^n)` with a shared input.

    .. math::
        RP(\Phi^1,\dots,\Phi^n)(x)=(R\Phi^1(x),\dots,R\Phi^n(x))\quad
        \text{(outputs stacked).}

    First layers are stacked, later layers block-diagonal; shorter networks are first
    extended to the largest depth by composing with an identity network, so
    :math:`D^NP=[D^N\Phi^1;\dots;D^N\Phi^n]` holds exactly for equal depths, and for a
    padded network wherever its outputs are nonzero (at a zero output the identity
    network's :math:`D^N` is :math:`2c`, see :func:`sparse_compose`).

    Args:
      *nets: one or more networks with equal input dimension.

    Returns:
      the parallelized :class:`Network`.

    Raises:
      TypeError: if an argument is not a :class:`Network`.
      ValueError: if no network is given or the input dimensions differ.

    Example:
        >>> a = jrelu.Network([(jnp.array([[2.0]]), jnp.zeros(1))])
        >>> b = jrelu.Network([(jnp.array([[-1.0]]), jnp.ones(1))])
        >>> jrelu.realize(jrelu.parallel(a, b), jnp.array([3.0])).tolist()
        [6.0, -2.0]
    """
    return _parallel(nets, shared_input=True)


@_refs
def parallel_full(*nets: Network) -> Network:
    r"""The full parallelization with separate inputs.

    .. math::
        (x^1,\dots,x^n)\mapsto(R\Phi^1(x^1),\dots,R\Phi^n(x^n)),

    inputs and outputs concatenated in order; every layer is block-diagonal (shorter
    networks are extended as in :func:`parallel`).

    Args:
      *nets: one or more networks.

    Returns:
      the parallelized :class:`Network`, input dimension :math:`\sum_iN_0^i`.

    Raises:
      TypeError: if an argument is not a :class:`Network`.
      ValueError: if no network is given.

    Example:
        >>> a = jrelu.Network([(jnp.array([[2.0]]), jnp.zeros(1))])
        >>> b = jrelu.Network([(jnp.array([[-1.0]]), jnp.ones(1))])
        >>> jrelu.realize(jrelu.parallel_full(a, b), jnp.array([3.0, 5.0])).tolist()
        [6.0, -4.0]
    """
    return _parallel(nets, shared_input=False)


@_refs
def linear_combination(coeffs: ArrayLike, nets: Sequence[Network]) -> Network:
    r"""A network realizing :math:`\sum_i a_i R\Phi^i`.

    .. math::
        ((a_1I,\dots,a_nI),0)\circ P(\Phi^1,\dots,\Phi^n);

    all networks must share input and output dimension.

    Args:
      coeffs: the coefficients :math:`a_i`, shape ``(n,)``.
      nets: the n networks :math:`\Phi^i`.

    Returns:
      the :class:`Network`.

    Raises:
      TypeError: if ``nets`` is not a sequence of :class:`Network` or ``coeffs`` not a
        real array.
      ValueError: if ``nets`` is empty, the number of coefficients is not the number of
        networks, a (concrete) coefficient is not finite, or the input or output
        dimensions differ.

    Example:
        >>> a = jrelu.Network([(jnp.array([[2.0]]), jnp.zeros(1))])
        >>> b = jrelu.identity(1, 2)
        >>> net = jrelu.linear_combination(jnp.array([0.5, -1.0]), [a, b])
        >>> jrelu.realize(net, jnp.array([3.0])).tolist()
        [0.0]
    """
    if isinstance(nets, (Network, str, bytes, dict)) or not isinstance(nets, Iterable):
        raise TypeError(f"nets must be a sequence of jrelu.Network, got "
                        f"{_checks.type_name(nets)}: {nets!r:.80}")
    nets = list(nets)
    if not nets:
        raise ValueError("nets must hold at least one network, got an empty sequence")
    for i, n in enumerate(nets):
        _checks.network(f"nets[{i}]", n)
    coeffs = _checks.real_array("coeffs", coeffs)
    _checks.finite_array("coeffs", coeffs)
    if coeffs.shape != (len(nets),):
        raise ValueError(f"coeffs must have one entry per network (linear_combination): got "
                         f"coefficients of shape {coeffs.shape} for {len(nets)} networks")
    outs = {n.output_dim for n in nets}
    if len(outs) > 1:
        raise ValueError("linear_combination needs networks with equal output dimension, got "
                         f"widths {[n.widths for n in nets]}")
    d = nets[0].output_dim
    dtype = jnp.result_type(coeffs.dtype, *[n.dtype for n in nets])
    eye = jnp.eye(d, dtype=dtype)
    S = jnp.concatenate([c * eye for c in coeffs.astype(dtype)], axis=1)
    return compose(Network([(S, jnp.zeros(d, dtype))]), parallel(*nets))


# -- flat parameter vectors ----------------------------------------------------


@_refs
def flatten(net: Network) -> jax.Array:
    r"""The parameter vector :math:`\theta\in\mathbb R^d` of a network.

    .. math::
        \theta=(\mathrm{vec}(A_1),b_1,\dots,\mathrm{vec}(A_L),b_L),\qquad
        d=\sum_kN_k(N_{k-1}+1),

    layer by layer, ``A_k`` row-major then ``b_k``.

    Args:
      net: the network.

    Returns:
      θ, shape ``(d,)``.

    Raises:
      TypeError: if ``net`` is not a :class:`Network`.

    Example:
        >>> net = jrelu.Network([(jnp.array([[1.0, 2.0]]), jnp.array([3.0]))])
        >>> jrelu.flatten(net).tolist()
        [1.0, 2.0, 3.0]
    """
    _checks.network("net", net)
    return jnp.concatenate([jnp.concatenate([A.reshape(-1), b]) for A, b in net.layers])


@_refs
def unflatten(theta: ArrayLike, widths: Sequence[int]) -> Network:
    r"""The network with parameter vector θ and architecture ``widths``.

    .. math::
        \theta\mapsto\Phi\quad\text{with}\quad\mathrm{flatten}(\Phi)=\theta,

    the inverse of :func:`flatten` for :math:`(N_0,\dots,N_L)` = ``widths``.

    Args:
      theta: θ, shape ``(d,)`` with :math:`d=\sum_kN_k(N_{k-1}+1)`.
      widths: the architecture :math:`(N_0,\dots,N_L)`.

    Returns:
      the :class:`Network`.

    Raises:
      TypeError: if ``theta`` is not a real array or ``widths`` not a sequence of
        integers.
      ValueError: if θ does not have shape ``(d,)`` or a width is < 1.

    Example:
        >>> net = jrelu.unflatten(jnp.array([1.0, 2.0, 3.0]), (2, 1))
        >>> net.layers[0][0].tolist(), net.layers[0][1].tolist()
        ([[1.0, 2.0]], [3.0])
    """
    widths = _widths(widths)
    theta = _checks.real_array("theta", theta)
    d = sum(widths[k] * (widths[k - 1] + 1) for k in range(1, len(widths)))
    if theta.shape != (d,):
        raise ValueError(f"theta (θ) for widths {widths} must have shape ({d},), got "
                         f"{theta.shape}")
    layers, i = [], 0
    for k in range(1, len(widths)):
        n_out, n_in = widths[k], widths[k - 1]
        A = theta[i:i + n_out * n_in].reshape(n_out, n_in)
        i += n_out * n_in
        layers.append((A, theta[i:i + n_out]))
        i += n_out
    return Network(layers)
