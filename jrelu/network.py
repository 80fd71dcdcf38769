r"""Networks as data (MATH.md §1).

A network is :math:`\Phi=((A_1,b_1),\dots,(A_L,b_L))` with
:math:`A_k\in\mathbb R^{N_k\times N_{k-1}}`, :math:`b_k\in\mathbb R^{N_k}`. Its
realization is :math:`R\Phi=W_L\circ\varrho\circ W_{L-1}\circ\dots\circ\varrho\circ W_1`
with :math:`W_k(x)=A_kx+b_k` (no activation after the last layer).

:class:`Network` is a JAX pytree whose leaves are the ``A_k`` and ``b_k``; the widths
:math:`(N_0,\dots,N_L)` are read off the shapes, never stored separately. The calculus
(composition, identity, parallelization, linear combination) builds new networks
whose realizations are exactly what MATH.md §1 states, for every ``x``.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

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


@jax.tree_util.register_pytree_node_class
class Network:
    r"""A ReLU network :math:`((A_1,b_1),\dots,(A_L,b_L))` as a pytree.

    Args:
      layers: a non-empty sequence of pairs ``(A_k, b_k)`` with ``A_k`` of shape
        ``(N_k, N_{k-1})`` and ``b_k`` of shape ``(N_k,)``.
      check: if True, also require every weight to be finite (needs concrete
        arrays, so not inside ``jit``).

    Raises:
      ValueError: for an empty layer list, a non-matrix ``A_k``, a bias whose length
        is not ``N_k``, consecutive layers whose shapes do not chain, or (with
        ``check=True``) a non-finite weight. The message names the layer (1-based,
        as in the math) and the shapes.
    """

    __slots__ = ("layers",)

    def __init__(self, layers: Sequence[tuple], check: bool = False):
        layers = tuple(layers)
        if not layers:
            raise ValueError("Network needs at least one layer; got an empty layer list")
        out = []
        for k, pair in enumerate(layers, start=1):
            try:
                A, b = pair
            except (TypeError, ValueError):
                raise ValueError(
                    f"layer {k}: expected a pair (A_{k}, b_{k}), got {pair!r}") from None
            A, b = jnp.asarray(A), jnp.asarray(b)
            if A.ndim != 2:
                raise ValueError(f"layer {k}: A_{k} must be a matrix (N_{k}, N_{k-1}), "
                                 f"got shape {A.shape}")
            if b.shape != (A.shape[0],):
                raise ValueError(f"layer {k}: b_{k} must have shape ({A.shape[0]},) to match "
                                 f"A_{k} of shape {A.shape}, got shape {b.shape}")
            if out and A.shape[1] != out[-1][0].shape[0]:
                raise ValueError(
                    f"layer {k}: A_{k} has shape {A.shape}, so it expects {A.shape[1]} inputs, "
                    f"but layer {k - 1} has A_{k - 1} of shape {out[-1][0].shape} with "
                    f"{out[-1][0].shape[0]} outputs")
            if check:
                for name, arr in ((f"A_{k}", A), (f"b_{k}", b)):
                    bad = np.argwhere(~np.isfinite(np.asarray(arr)))
                    if bad.size:
                        raise ValueError(f"layer {k}: {name} has a non-finite entry "
                                         f"{np.asarray(arr)[tuple(bad[0])]} at index "
                                         f"{tuple(int(i) for i in bad[0])}")
            out.append((A, b))
        self.layers = tuple(out)

    # -- pytree protocol: leaves are A_1, b_1, ..., A_L, b_L; no static metadata.
    def tree_flatten(self):
        return (self.layers,), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        net = object.__new__(cls)
        net.layers = tuple(tuple(pair) for pair in children[0])
        return net

    @property
    def widths(self) -> tuple[int, ...]:
        r"""The architecture :math:`(N_0, N_1, \dots, N_L)`."""
        return (self.layers[0][0].shape[1],) + tuple(A.shape[0] for A, _ in self.layers)

    @property
    def input_dim(self) -> int:
        """:math:`N_0`."""
        return self.layers[0][0].shape[1]

    @property
    def output_dim(self) -> int:
        """:math:`N_L`."""
        return self.layers[-1][0].shape[0]

    @property
    def dtype(self):
        """The common result dtype of all weights."""
        return jnp.result_type(*[a for pair in self.layers for a in pair])

    def __repr__(self) -> str:
        if all(hasattr(a, "shape") and hasattr(a, "dtype") for pair in self.layers for a in pair):
            return f"Network(widths={self.widths}, dtype={self.dtype})"
        return f"Network(layers={self.layers!r})"  # leaves that are not arrays (pytree maps)


def _default_dtype(dtype):
    return jnp.result_type(float) if dtype is None else jnp.dtype(dtype)


def init(key: jax.Array, widths: Sequence[int], dtype=None) -> Network:
    r"""A random network with architecture ``widths`` :math:`=(N_0,\dots,N_L)`.

    :math:`A_k\sim\mathcal N(0, 2/N_{k-1})` entrywise (He initialization) and
    :math:`b_k\sim\mathcal U(-1/\sqrt{N_{k-1}}, 1/\sqrt{N_{k-1}})` (PyTorch's bias
    initialization). ``dtype`` defaults to JAX's default float (float32, or float64
    with ``jax_enable_x64``).
    """
    widths = tuple(widths)
    if len(widths) < 2:
        raise ValueError(f"widths must list at least (N_0, N_1), got {widths}")
    for i, n in enumerate(widths):
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ValueError(f"widths[{i}] must be a positive integer, got {n!r}")
    dtype = _default_dtype(dtype)
    keys = jax.random.split(key, 2 * (len(widths) - 1))
    layers = []
    for k in range(1, len(widths)):
        n_in, n_out = widths[k - 1], widths[k]
        A = jax.random.normal(keys[2 * k - 2], (n_out, n_in), dtype) * jnp.sqrt(2.0 / n_in)
        bound = 1.0 / np.sqrt(n_in)
        b = jax.random.uniform(keys[2 * k - 1], (n_out,), dtype, -bound, bound)
        layers.append((A.astype(dtype), b))
    return Network(layers)


def check_input(net: Network, x) -> jax.Array:
    """``x`` as an inexact array of shape ``(N_0,)`` or ``(..., N_0)``, else ValueError."""
    x = jnp.asarray(x)
    if x.ndim == 0 or x.shape[-1] != net.input_dim:
        raise ValueError(f"input must have shape ({net.input_dim},) or (..., {net.input_dim}) "
                         f"for a network with N_0 = {net.input_dim}, got shape {x.shape}")
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        x = x.astype(net.dtype)
    return x


def _affine(A, b, h):
    return jnp.matmul(h, A.T) + b


def preactivations(net: Network, x, activation: Activation = relu) -> tuple[jax.Array, ...]:
    r"""The truncated realizations :math:`(R_1\Phi(x),\dots,R_L\Phi(x))`.

    :math:`R_k\Phi=W_k\circ\varrho\circ\dots\circ\varrho\circ W_1`, so
    :math:`R_k\Phi(x)` is the pre-activation of layer k, shape ``(..., N_k)``, and
    :math:`R_L\Phi=R\Phi`.
    """
    h = check_input(net, x)
    zs = []
    for k, (A, b) in enumerate(net.layers):
        z = _affine(A, b, h)
        zs.append(z)
        if k < len(net.layers) - 1:
            h = activation(z)
    return tuple(zs)


def realize(net: Network, x, activation: Activation = relu) -> jax.Array:
    r"""The realization :math:`R\Phi(x)=W_L(\varrho(W_{L-1}(\cdots\varrho(W_1x))))`.

    Args:
      net: the network.
      x: shape ``(N_0,)`` or ``(..., N_0)``.
      activation: the activation :math:`\varrho` (default :data:`jrelu.relu`); its
        custom JVP fixes the derivative every JAX transform sees.

    Returns:
      shape ``(N_L,)`` or ``(..., N_L)``.
    """
    return preactivations(net, x, activation)[-1]


# -- sizes -------------------------------------------------------------------


def depth(net: Network) -> int:
    """L, the number of affine layers."""
    return len(net.layers)


def width(net: Network) -> int:
    r""":math:`\max_k N_k` over :math:`k=0,\dots,L`."""
    return max(net.widths)


def num_params(net: Network) -> int:
    r""":math:`\sum_k N_k(N_{k-1}+1)`."""
    w = net.widths
    return sum(w[k] * (w[k - 1] + 1) for k in range(1, len(w)))


def connectivity(net: Network) -> int:
    """Number of nonzero entries of all ``A_k`` and ``b_k`` (needs concrete weights)."""
    return int(sum(np.count_nonzero(np.asarray(a)) for pair in net.layers for a in pair))


# -- calculus ----------------------------------------------------------------


def compose(outer: Network, inner: Network) -> Network:
    r"""The composition :math:`\Psi\circ\Phi` realizing :math:`R\Psi\circ R\Phi`.

    Merges Φ's last affine map into Ψ's first:
    :math:`((A_1,b_1),\dots,(A_{L-1},b_{L-1}),(\tilde A_1A_L,\tilde A_1b_L+\tilde b_1),
    (\tilde A_2,\tilde b_2),\dots,(\tilde A_M,\tilde b_M))`, depth L + M − 1.
    """
    _check_composable(outer, inner)
    A_L, b_L = inner.layers[-1]
    A1, b1 = outer.layers[0]
    merged = (A1 @ A_L, A1 @ b_L + b1)
    return Network(inner.layers[:-1] + (merged,) + outer.layers[1:])


def _check_composable(outer: Network, inner: Network):
    if outer.input_dim != inner.output_dim:
        raise ValueError(f"cannot compose: the outer network takes N_0 = {outer.input_dim} "
                         f"inputs (widths {outer.widths}) but the inner network gives "
                         f"N_L = {inner.output_dim} outputs (widths {inner.widths})")


def identity(d: int, depth: int, dtype=None) -> Network:
    r"""The ReLU identity network of dimension d and depth L.

    L = 1: :math:`((I,0))`. L ≥ 2:
    :math:`(((I;-I),0),(I_{2d},0)^{\times(L-2)},((I,-I),0))`, realizing
    :math:`x=\varrho(x)-\varrho(-x)` for :math:`\varrho=` ReLU (any kink value).
    Width 2d, :math:`2d` nonzeros in each of the L layers' matrices.
    """
    if not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"identity dimension d must be a positive integer, got {d!r}")
    if not isinstance(depth, (int, np.integer)) or depth < 1:
        raise ValueError(f"identity depth must be a positive integer, got {depth!r}")
    dtype = _default_dtype(dtype)
    eye = jnp.eye(d, dtype=dtype)
    if depth == 1:
        return Network([(eye, jnp.zeros(d, dtype))])
    layers = [(jnp.concatenate([eye, -eye], axis=0), jnp.zeros(2 * d, dtype))]
    layers += [(jnp.eye(2 * d, dtype=dtype), jnp.zeros(2 * d, dtype))] * (depth - 2)
    layers += [(jnp.concatenate([eye, -eye], axis=1), jnp.zeros(d, dtype))]
    return Network(layers)


def sparse_compose(outer: Network, inner: Network) -> Network:
    r"""The sparse composition :math:`\Psi\odot\Phi=\Psi\circ\Phi^{\mathrm{Id}}_{N_L,2}\circ\Phi`.

    Realizes :math:`R\Psi\circ R\Phi` (for ReLU) with depth L + M and sizes that add
    (no product of weight matrices fills in sparsity). The inserted identity network is
    part of the data: where an output of Φ is exactly 0, its :math:`D^N` there is
    :math:`2c` (c = Dϱ(0)), not 1, and the chain rule carries that factor.
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


def _block_diag(*mats):
    rows = sum(m.shape[0] for m in mats)
    cols = sum(m.shape[1] for m in mats)
    out = jnp.zeros((rows, cols), jnp.result_type(*mats))
    r = c = 0
    for m in mats:
        out = out.at[r:r + m.shape[0], c:c + m.shape[1]].set(m)
        r, c = r + m.shape[0], c + m.shape[1]
    return out


def _parallel(nets, shared_input: bool) -> Network:
    if not nets:
        raise ValueError("parallelization needs at least one network")
    for i, n in enumerate(nets):
        if not isinstance(n, Network):
            raise ValueError(f"argument {i} is not a jrelu.Network: {type(n).__name__}")
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
        A = jnp.concatenate(As, axis=0) if (k == 0 and shared_input) else _block_diag(*As)
        layers.append((A, jnp.concatenate(bs)))
    return Network(layers)


def parallel(*nets: Network) -> Network:
    r"""The parallelization :math:`P(\Phi^1,\dots,\Phi^n)` with a shared input.

    Realizes :math:`x\mapsto(R\Phi^1(x),\dots,R\Phi^n(x))` (outputs stacked).
    First layers are stacked, later layers block-diagonal; shorter networks are
    first extended to the largest depth by composing with an identity network, so
    :math:`D^NP=[D^N\Phi^1;\dots;D^N\Phi^n]` holds exactly for equal depths, and for a
    padded network wherever its outputs are nonzero (at a zero output the identity
    network's :math:`D^N` is :math:`2c`, see :func:`sparse_compose`).
    """
    return _parallel(nets, shared_input=True)


def parallel_full(*nets: Network) -> Network:
    r"""The full parallelization with separate inputs.

    Realizes :math:`(x^1,\dots,x^n)\mapsto(R\Phi^1(x^1),\dots,R\Phi^n(x^n))`, inputs
    and outputs concatenated in order; every layer is block-diagonal.
    """
    return _parallel(nets, shared_input=False)


def linear_combination(coeffs, nets: Sequence[Network]) -> Network:
    r"""A network realizing :math:`\sum_i a_i R\Phi^i` (MATH.md §1).

    :math:`((a_1I,\dots,a_nI),0)\circ P(\Phi^1,\dots,\Phi^n)`: all networks must share
    input and output dimension.
    """
    nets = list(nets)
    coeffs = jnp.asarray(coeffs)
    if coeffs.shape != (len(nets),):
        raise ValueError(f"linear_combination needs one coefficient per network: got "
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


def flatten(net: Network) -> jax.Array:
    r"""θ ∈ R^d, :math:`d=\sum_k N_k(N_{k-1}+1)`: layer by layer, ``A_k`` row-major then ``b_k``."""
    return jnp.concatenate([jnp.concatenate([A.reshape(-1), b]) for A, b in net.layers])


def unflatten(theta, widths: Sequence[int]) -> Network:
    """Inverse of :func:`flatten` for the architecture ``widths`` = (N_0, …, N_L)."""
    widths = tuple(int(n) for n in widths)
    theta = jnp.asarray(theta)
    d = sum(widths[k] * (widths[k - 1] + 1) for k in range(1, len(widths)))
    if theta.shape != (d,):
        raise ValueError(f"θ for widths {widths} must have shape ({d},), got {theta.shape}")
    layers, i = [], 0
    for k in range(1, len(widths)):
        n_out, n_in = widths[k], widths[k - 1]
        A = theta[i:i + n_out * n_in].reshape(n_out, n_in)
        i += n_out * n_in
        layers.append((A, theta[i:i + n_out]))
        i += n_out
    return Network(layers)
