r"""Converters between :class:`jrelu.Network` and Equinox, Flax and PyTorch models.

A jrelu network :math:`\Phi=((A_1,b_1),\dots,(A_L,b_L))` with activation :math:`\varrho`
realizes

.. math::

   R\Phi(x) = A_L\,\varrho\bigl(A_{L-1}\cdots\varrho(A_1x+b_1)\cdots+b_{L-1}\bigr)+b_L,

the function of a multilayer perceptron whose hidden layers all use :math:`\varrho` and whose
last layer is affine. Each converter maps the weights exactly (a transpose at most, no
arithmetic), so a round trip returns the same bits:

* ``equinox.nn.MLP``: ``layers[k-1].weight`` is (out, in), :math:`A_k` is the weight;
* Flax linen ``Dense`` parameters and ``flax.nnx.Linear``: ``kernel`` is (in, out),
  :math:`A_k` is ``kernel.T``;
* ``torch.nn.Linear``: ``weight`` is (out, in), :math:`A_k` is the weight.

The activation is mapped explicitly: a ``from_*`` converter checks that the model computes
the function of its ``activation=`` argument (default :class:`jrelu.ReLU`) and raises a
``ValueError`` naming the layer otherwise; a ``to_*`` converter builds the framework's
counterpart of ``activation``. Only the *function* :math:`\varrho` must agree. The value
chosen for :math:`D\varrho` at a kink (``deriv_at_kink``) is a convention of the analysis;
the frameworks' autodiff use their own (PyTorch: ``ReLU'(0)=0``, ``LeakyReLU'(0)=`` the
negative slope, ``Hardtanh'(±1)=0``, ``abs'(0)=0``, the defaults of jrelu; JAX:
``jax.nn.relu'(0)=0`` but ``jax.nn.leaky_relu'(0)=1``, ``jax.nn.hard_tanh'(±1)=1`` and
``jnp.abs'(0)=1``). The Equinox and NNX models built here use the jrelu activation object
itself, so their JAX derivatives equal jrelu's everywhere, kinks included.

Each framework is imported only inside its converters (``import jrelu`` imports none of
them); a missing one raises an ``ImportError`` naming the extra to install:
``pip install 'jrelu[equinox]'``, ``'jrelu[flax]'`` or ``'jrelu[torch]'``.

References:
  Petersen, Voigtlaender (2018), `arXiv:1709.05289 <https://arxiv.org/abs/1709.05289>`_;
  Berner, Elbrächter, Grohs, Jentzen (2019),
  `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks
from .activations import Abs, Activation, HardTanh, LeakyReLU, ReLU, Softplus, Tanh
from .network import Network

__all__ = ["from_equinox", "to_equinox", "from_flax", "to_flax", "from_nnx", "to_nnx",
           "from_torch", "to_torch"]

_EXTRAS = {"equinox": "equinox", "flax": "flax", "torch": "torch"}
_RELU = ReLU()  # the default activation


def _require(module: str, caller: str):
    """Import ``module`` (a framework) or raise an ImportError naming the extra."""
    top = module.split(".")[0]
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ImportError(f"jrelu.interop.{caller} needs {top}, which is not installed; "
                          f"install it with: pip install 'jrelu[{_EXTRAS[top]}]'") from e


# -- activations -------------------------------------------------------------------------------


def _function_fields(act: Activation) -> tuple:
    """The fields that define the function ϱ (all but the kink-derivative convention)."""
    if not dataclasses.is_dataclass(act):
        return ()
    return tuple((f.name, getattr(act, f.name)) for f in dataclasses.fields(act)
                 if f.name != "deriv_at_kink")


def _same_function(a: Activation, b: Activation) -> bool:
    return type(a) is type(b) and _function_fields(a) == _function_fields(b)


def _act_name(act: Activation) -> str:
    fields = ", ".join(f"{k}={v!r}" for k, v in _function_fields(act))
    return f"jrelu.{type(act).__name__}({fields})"


def _check_activation(found: list[tuple[Activation, str]], activation: Activation) -> None:
    """Every activation layer of the model must compute the function of ``activation``."""
    for act, where in found:
        if not _same_function(act, activation):
            raise ValueError(
                f"{where} computes {_act_name(act)}, but activation={activation!r}; pass "
                f"activation={_act_name(act)} (jrelu uses one activation for all hidden "
                "layers)")


def _jax_activation(fn, where: str) -> Activation:
    """The jrelu activation computing the JAX function ``fn`` (jax.nn / jnp / a jrelu one)."""
    if isinstance(fn, Activation):
        return fn
    table = [(jax.nn.relu, ReLU()), (jnp.abs, Abs()), (jnp.absolute, Abs()),
             (jax.nn.hard_tanh, HardTanh()), (jax.nn.softplus, Softplus()),
             (jnp.tanh, Tanh()), (jax.nn.tanh, Tanh())]
    for f, act in table:
        if fn is f:
            return act
    leaky_default = inspect.signature(jax.nn.leaky_relu).parameters["negative_slope"].default
    if fn is jax.nn.leaky_relu:
        return LeakyReLU(negative_slope=float(leaky_default))
    if (isinstance(fn, functools.partial) and fn.func is jax.nn.leaky_relu and not fn.args
            and set(fn.keywords) <= {"negative_slope"}):
        slope = fn.keywords.get("negative_slope", leaky_default)
        return LeakyReLU(negative_slope=_checks.real("negative_slope", slope))
    raise ValueError(
        f"{where} is {fn!r}, which jrelu cannot map to an activation; supported: "
        "jax.nn.relu, jax.nn.leaky_relu (or functools.partial of it with negative_slope=), "
        "jnp.abs, jax.nn.hard_tanh, jax.nn.softplus, jnp.tanh, or a jrelu.Activation")


def _chain(layers: list[tuple[Any, Any]], names: list[str]) -> Network:
    """A Network from (A_k, b_k) pairs, with an error naming the model's layers."""
    for k in range(1, len(layers)):
        n_in, n_prev = layers[k][0].shape[1], layers[k - 1][0].shape[0]
        if n_in != n_prev:
            raise ValueError(f"{names[k]} has {n_in} inputs, but {names[k - 1]} has "
                             f"{n_prev} outputs")
    return Network(layers)


def _stack(items: Sequence, classify: Callable, model: str) -> tuple[list, list, list]:
    """Parse ``Linear, act, Linear, ..., act, Linear``: (layers, activations, names)."""
    layers, acts, names, last = [], [], [], None
    for i, item in enumerate(items):
        where = f"{model}[{i}] ({type(item).__name__})"
        kind, value = classify(item, where)
        if kind == "linear":
            if last == "linear":
                raise ValueError(f"{where} follows another linear layer with no activation "
                                 "between them; a jrelu network has one activation between "
                                 "consecutive affine layers")
            layers.append(value)
            names.append(where)
        else:
            if last != "linear":
                raise ValueError(f"{where} is an activation that does not follow a linear "
                                 "layer; expected Linear, activation, Linear, ..., Linear")
            acts.append((value, where))
        last = kind
    if not layers:
        raise ValueError(f"{model} has no linear layers")
    if last != "linear":
        raise ValueError(f"{model} ends with an activation ({acts[-1][1]}); a jrelu network "
                         "ends with an affine layer, so drop the final activation")
    return layers, acts, names


def _bias(b, n: int, dtype) -> jax.Array:
    return jnp.zeros((n,), dtype) if b is None else jnp.reshape(jnp.asarray(b), (n,))


# -- Equinox ------------------------------------------------------------------------------------


def from_equinox(mlp, *, activation: Activation = _RELU) -> Network:
    r"""The jrelu network of an ``equinox.nn.MLP``: :math:`A_k` = ``mlp.layers[k-1].weight``.

    Equinox stores :math:`W_k` as (out, in), like jrelu, so :math:`A_k=W_k` and
    :math:`b_k` is the bias (zeros for ``use_bias=False``). ``mlp.activation`` must compute
    the function of ``activation`` (``jax.nn.relu`` for the default :class:`jrelu.ReLU`), and
    ``mlp.final_activation`` must be Equinox's default identity. ``scan=True`` MLPs and
    ``"scalar"`` sizes (an input or output of size 1) are accepted.

    Args:
      mlp: an ``equinox.nn.MLP``.
      activation: the jrelu activation the network will be used with; checked against
        ``mlp.activation``.

    Returns:
      the :class:`jrelu.Network` with widths ``(in_size, width_size, ..., out_size)`` and the
      MLP's weights, bit for bit.

    Raises:
      ImportError: Equinox is not installed (``pip install 'jrelu[equinox]'``).
      TypeError: ``mlp`` is not an ``equinox.nn.MLP`` or ``activation`` is not a
        :class:`jrelu.Activation`.
      ValueError: the MLP's activation is not the function of ``activation``, cannot be
        mapped (e.g. ``jax.nn.gelu`` or a learnt activation), or ``final_activation`` is not
        the identity.

    Example:
      >>> import equinox as eqx
      >>> mlp = eqx.nn.MLP(3, 1, width_size=8, depth=2, key=jax.random.key(0))
      >>> net = jrelu.interop.from_equinox(mlp)
      >>> net.widths
      (3, 8, 8, 1)
      >>> x = jnp.array([0.5, -1.0, 2.0])
      >>> bool(jnp.allclose(jrelu.realize(net, x), mlp(x)))
      True

    References:
      Petersen, Voigtlaender (2018), `arXiv:1709.05289 <https://arxiv.org/abs/1709.05289>`_.
    """
    eqx = _require("equinox", "from_equinox")
    if not isinstance(mlp, eqx.nn.MLP):
        raise TypeError(f"mlp must be an equinox.nn.MLP, got {type(mlp).__name__}")
    _checks.activation("activation", activation)
    defaults = inspect.signature(eqx.nn.MLP.__init__).parameters
    if mlp.final_activation is not defaults["final_activation"].default:
        raise ValueError(f"mlp.final_activation is {mlp.final_activation!r}, not the "
                         "identity; a jrelu network ends with an affine layer")
    if any(eqx.is_array(leaf) for leaf in jax.tree_util.tree_leaves(mlp.activation)):
        raise ValueError("mlp.activation has learnt parameters; jrelu supports a fixed "
                         "activation only")
    if mlp.depth > 0:
        _check_activation([(_jax_activation(mlp.activation, "mlp.activation"),
                            "mlp.activation")], activation)
    layers, names = [], []
    for i, layer in enumerate(mlp.layers):
        W = jnp.asarray(layer.weight)
        Ws = [W] if W.ndim == 2 else list(W)  # scan=True stacks the hidden layers
        bs = ([layer.bias] if W.ndim == 2 else
              [None] * len(Ws) if layer.bias is None else list(layer.bias))
        for j, (w, b) in enumerate(zip(Ws, bs)):
            layers.append((w, _bias(b, w.shape[0], w.dtype)))
            names.append(f"mlp.layers[{i}]" + (f"[{j}]" if W.ndim == 3 else ""))
    return _chain(layers, names)


def to_equinox(net: Network, *, activation: Activation = _RELU):
    r"""An ``equinox.nn.MLP`` computing :math:`R\Phi` with the weights of ``net``.

    The MLP has ``in_size`` :math:`N_0`, ``out_size`` :math:`N_L`, ``depth`` :math:`L-1`,
    ``width_size`` the common hidden width, ``layers[k-1].weight`` :math:`=A_k`, bias
    :math:`b_k`, and as activation the jrelu ``activation`` object itself (a
    ``jax.custom_jvp``), so its values and its JAX derivatives equal jrelu's, kinks
    included. ``equinox.nn.MLP`` needs all hidden layers of one width.

    Args:
      net: the network, widths :math:`(N_0, N_1, \dots, N_L)` with
        :math:`N_1=\dots=N_{L-1}`.
      activation: the activation of the hidden layers.

    Returns:
      an ``equinox.nn.MLP`` with the network's dtype, mapping ``(N_0,)`` to ``(N_L,)``.

    Raises:
      ImportError: Equinox is not installed (``pip install 'jrelu[equinox]'``).
      TypeError: ``net`` is not a :class:`jrelu.Network` or ``activation`` is not a
        :class:`jrelu.Activation`.
      ValueError: the hidden widths differ.

    Example:
      >>> net = jrelu.init(jax.random.key(0), (2, 16, 16, 1))
      >>> mlp = jrelu.interop.to_equinox(net)
      >>> mlp.depth, mlp.width_size
      (2, 16)
      >>> x = jnp.array([0.3, -0.7])
      >>> bool(jnp.all(mlp(x) == jrelu.realize(net, x)))
      True

    References:
      Petersen, Voigtlaender (2018), `arXiv:1709.05289 <https://arxiv.org/abs/1709.05289>`_.
    """
    eqx = _require("equinox", "to_equinox")
    _checks.network("net", net)
    _checks.activation("activation", activation)
    widths = net.widths
    hidden = set(widths[1:-1])
    if len(hidden) > 1:
        raise ValueError(f"equinox.nn.MLP has hidden layers of one width; net has widths "
                         f"{widths}")
    width = hidden.pop() if hidden else 0
    # the MLP's structure without computing a random initialization; weights set below
    mlp = eqx.filter_eval_shape(eqx.nn.MLP, widths[0], widths[-1], width, len(widths) - 2,
                                activation=activation, dtype=net.dtype, key=jax.random.key(0))
    L = len(net.layers)
    return eqx.tree_at(
        lambda m: [m.layers[k].weight for k in range(L)] + [m.layers[k].bias for k in range(L)],
        mlp, [A for A, _ in net.layers] + [b for _, b in net.layers])


# -- Flax ---------------------------------------------------------------------------------------


_LAYER_NAME = re.compile(r"^(.*)_(\d+)$")


def from_flax(params: Mapping[str, Any]) -> Network:
    r"""The jrelu network of Flax linen ``Dense`` parameters: :math:`A_k=K_k^{\top}`.

    ``params`` is the variables dict of a linen MLP, ``{"params": {"Dense_0": {"kernel":
    K_1, "bias": c_1}, "Dense_1": ...}}``, or its inner ``{"Dense_0": ..., ...}``. The
    layers are ordered by the number after the last ``_`` of their names (``Dense_0``,
    ``Dense_1``, ..., ``Dense_10``, or ``layers_0``, ``layers_2``, ... of ``nn.Sequential``);
    all names share one prefix. A linen kernel is (in, out), so :math:`A_k=K_k^{\top}` and
    :math:`b_k=c_k` (zeros without a bias). Linen parameters do not record the activation:
    use the network with the activation of the linen model.

    Args:
      params: the linen parameters of a stack of ``nn.Dense`` layers.

    Returns:
      the :class:`jrelu.Network`, weights bit for bit (transposed).

    Raises:
      ImportError: Flax is not installed (``pip install 'jrelu[flax]'``).
      TypeError: ``params`` is not a dict.
      ValueError: a layer name has no ``_<number>`` suffix, the names have different
        prefixes, a layer has entries other than ``kernel`` and ``bias`` or a kernel that is
        not a matrix, or consecutive layers do not chain.

    Example:
      >>> import flax.linen as nn
      >>> class MLP(nn.Module):
      ...     @nn.compact
      ...     def __call__(self, x):
      ...         x = nn.relu(nn.Dense(8)(x))
      ...         return nn.Dense(1)(x)
      >>> x = jnp.array([0.5, -1.0, 2.0])
      >>> params = MLP().init(jax.random.key(0), x)
      >>> net = jrelu.interop.from_flax(params)
      >>> net.widths
      (3, 8, 1)
      >>> bool(jnp.allclose(jrelu.realize(net, x), MLP().apply(params, x)))
      True

    References:
      Petersen, Voigtlaender (2018), `arXiv:1709.05289 <https://arxiv.org/abs/1709.05289>`_.
    """
    _require("flax", "from_flax")
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of linen Dense parameters, got "
                        f"{type(params).__name__}")
    inner = params["params"] if set(params) == {"params"} else params
    if not isinstance(inner, Mapping) or not inner:
        raise ValueError("params has no Dense layers")
    entries, prefixes = [], set()
    for name, layer in inner.items():
        m = _LAYER_NAME.match(str(name))
        if m is None:
            raise ValueError(f"params[{name!r}] is not a numbered layer (Dense_0, Dense_1, "
                             "...); pass the parameters of the MLP itself")
        prefixes.add(m.group(1))
        if not isinstance(layer, Mapping) or "kernel" not in layer \
                or set(layer) - {"kernel", "bias"}:
            got = sorted(layer) if isinstance(layer, Mapping) else type(layer).__name__
            raise ValueError(f"params[{name!r}] is not a Dense layer: expected the entries "
                             f"'kernel' and 'bias', got {got}")
        entries.append((int(m.group(2)), name, layer))
    if len(prefixes) > 1:
        raise ValueError(f"params has layers with different names {sorted(prefixes)}; pass "
                         "the parameters of one stack of Dense layers")
    layers, names = [], []
    for _, name, layer in sorted(entries):
        K = jnp.asarray(layer["kernel"])
        if K.ndim != 2:
            raise ValueError(f"params[{name!r}]['kernel'] must be a matrix (in, out), got "
                             f"shape {K.shape}")
        layers.append((K.T, _bias(layer.get("bias"), K.shape[1], K.dtype)))
        names.append(f"params[{name!r}]")
    return _chain(layers, names)


def to_flax(net: Network) -> dict:
    r"""Flax linen parameters of ``net``: ``{"params": {"Dense_{k-1}": {"kernel":``
    :math:`A_k^{\top}` ``, "bias":`` :math:`b_k` ``}}}``.

    These are the variables of a linen module that applies ``nn.Dense(N_1), ...,
    nn.Dense(N_L)`` in this order (linen names them ``Dense_0``, ``Dense_1``, ...), with the
    network's activation between them: pass them to its ``apply``.

    Args:
      net: the network.

    Returns:
      a dict ``{"params": {"Dense_0": {"kernel", "bias"}, ...}}`` of JAX arrays in the
      network's dtype (kernels of shape :math:`(N_{k-1}, N_k)`).

    Raises:
      ImportError: Flax is not installed (``pip install 'jrelu[flax]'``).
      TypeError: ``net`` is not a :class:`jrelu.Network`.

    Example:
      >>> import flax.linen as nn
      >>> class MLP(nn.Module):
      ...     @nn.compact
      ...     def __call__(self, x):
      ...         x = nn.relu(nn.Dense(8, param_dtype=x.dtype)(x))
      ...         return nn.Dense(1, param_dtype=x.dtype)(x)
      >>> net = jrelu.init(jax.random.key(0), (3, 8, 1))
      >>> params = jrelu.interop.to_flax(net)
      >>> params["params"]["Dense_0"]["kernel"].shape
      (3, 8)
      >>> x = jnp.array([0.5, -1.0, 2.0], dtype=net.dtype)
      >>> bool(jnp.allclose(MLP().apply(params, x), jrelu.realize(net, x)))
      True

    References:
      Petersen, Voigtlaender (2018), `arXiv:1709.05289 <https://arxiv.org/abs/1709.05289>`_.
    """
    _require("flax", "to_flax")
    _checks.network("net", net)
    return {"params": {f"Dense_{k}": {"kernel": A.T, "bias": b}
                       for k, (A, b) in enumerate(net.layers)}}


def _nnx_classify(nnx):
    def classify(item, where):
        if isinstance(item, nnx.Linear):
            K = jnp.asarray(item.kernel[...])
            b = None if item.bias is None else item.bias[...]
            return "linear", (K.T, _bias(b, K.shape[1], K.dtype))
        if isinstance(item, nnx.Module):
            raise ValueError(f"{where} is not supported; expected nnx.Linear layers and "
                             "activation functions")
        if callable(item):
            return "activation", _jax_activation(item, where)
        raise ValueError(f"{where} is not supported; expected nnx.Linear layers and "
                         "activation functions")
    return classify


def from_nnx(model, *, activation: Activation = _RELU) -> Network:
    r"""The jrelu network of a ``flax.nnx.Sequential`` of ``nnx.Linear`` layers and
    activations: :math:`A_k=K_k^{\top}`.

    ``model`` is ``nnx.Sequential(Linear, act, Linear, ..., act, Linear)`` or a list of
    the same items. An ``nnx.Linear`` kernel is (in, out), so :math:`A_k=K_k^{\top}` and
    :math:`b_k` is its bias (zeros for ``use_bias=False``). Every activation must compute the
    function of ``activation``: ``jax.nn.relu`` (``nnx.relu``) for the default
    :class:`jrelu.ReLU`, ``jax.nn.leaky_relu``, ``jnp.abs``, ``jax.nn.hard_tanh``,
    ``jax.nn.softplus``, ``jnp.tanh``, or a jrelu activation object.

    Args:
      model: an ``nnx.Sequential`` or a list of ``nnx.Linear`` layers and activation
        functions, starting and ending with a linear layer.
      activation: the jrelu activation the network will be used with; checked against the
        model's activations.

    Returns:
      the :class:`jrelu.Network`, weights bit for bit (transposed).

    Raises:
      ImportError: Flax is not installed (``pip install 'jrelu[flax]'``).
      TypeError: ``model`` is not an ``nnx.Sequential`` or a list, or ``activation`` is not
        a :class:`jrelu.Activation`.
      ValueError: a layer is not supported (the message names it), two linear layers or two
        activations follow each other, the model ends with an activation, or an activation
        is not the function of ``activation``.

    Example:
      >>> from flax import nnx
      >>> model = nnx.Sequential(nnx.Linear(3, 8, rngs=nnx.Rngs(0)), nnx.relu,
      ...                        nnx.Linear(8, 1, rngs=nnx.Rngs(1)))
      >>> net = jrelu.interop.from_nnx(model)
      >>> net.widths
      (3, 8, 1)
      >>> x = jnp.array([0.5, -1.0, 2.0])
      >>> bool(jnp.allclose(jrelu.realize(net, x), model(x)))
      True

    References:
      Petersen, Voigtlaender (2018), `arXiv:1709.05289 <https://arxiv.org/abs/1709.05289>`_.
    """
    nnx = _require("flax.nnx", "from_nnx")
    if isinstance(model, nnx.Sequential):
        items, label = list(model.layers), "model.layers"
    elif isinstance(model, (list, tuple)):
        items, label = list(model), "model"
    else:
        raise TypeError(f"model must be an nnx.Sequential or a list of nnx.Linear layers and "
                        f"activations, got {type(model).__name__}")
    _checks.activation("activation", activation)
    layers, acts, names = _stack(items, _nnx_classify(nnx), label)
    _check_activation(acts, activation)
    return _chain(layers, names)


def to_nnx(net: Network, *, activation: Activation = _RELU):
    r"""A ``flax.nnx.Sequential`` computing :math:`R\Phi` with the weights of ``net``.

    The model is ``nnx.Sequential(Linear_1, activation, ..., activation, Linear_L)`` with
    ``Linear_k.kernel`` :math:`=A_k^{\top}` and ``Linear_k.bias`` :math:`=b_k`, in the
    network's dtype (``param_dtype`` and ``dtype``). The activation layers are the jrelu
    ``activation`` object itself, so values and JAX derivatives equal jrelu's, kinks
    included.

    Args:
      net: the network.
      activation: the activation of the hidden layers.

    Returns:
      an ``nnx.Sequential`` mapping ``(..., N_0)`` to ``(..., N_L)``.

    Raises:
      ImportError: Flax is not installed (``pip install 'jrelu[flax]'``).
      TypeError: ``net`` is not a :class:`jrelu.Network` or ``activation`` is not a
        :class:`jrelu.Activation`.

    Example:
      >>> net = jrelu.init(jax.random.key(0), (2, 8, 8, 1))
      >>> model = jrelu.interop.to_nnx(net)
      >>> len(model.layers)
      5
      >>> x = jnp.array([0.3, -0.7])
      >>> bool(jnp.all(model(x) == jrelu.realize(net, x)))
      True

    References:
      Petersen, Voigtlaender (2018), `arXiv:1709.05289 <https://arxiv.org/abs/1709.05289>`_.
    """
    nnx = _require("flax.nnx", "to_nnx")
    _checks.network("net", net)
    _checks.activation("activation", activation)
    items, rngs = [], nnx.Rngs(0)  # unused: the initializers return the weights
    for k, (A, b) in enumerate(net.layers):
        if k:
            items.append(activation)
        items.append(nnx.Linear(
            A.shape[1], A.shape[0], dtype=A.dtype, param_dtype=A.dtype, rngs=rngs,
            kernel_init=lambda *_, A=A: A.T, bias_init=lambda *_, b=b: b))
    return nnx.Sequential(*items)


# -- PyTorch ------------------------------------------------------------------------------------


def _torch_abs_class():
    """``torch.nn`` has no abs module: a minimal one, picklable as ``jrelu.interop._TorchAbs``."""
    cls = globals().get("_TorchAbs")
    if cls is None:
        torch = _require("torch", "to_torch")

        class _TorchAbs(torch.nn.Module):
            """Elementwise :math:`|z|` (``torch.abs``); jrelu's :class:`jrelu.Abs`."""

            def forward(self, z):
                return torch.abs(z)

        _TorchAbs.__module__, _TorchAbs.__qualname__ = __name__, "_TorchAbs"
        globals()["_TorchAbs"] = cls = _TorchAbs
    return cls


def __getattr__(name: str):
    if name == "_TorchAbs":  # for unpickling a model made by to_torch
        return _torch_abs_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_TORCH_DTYPES = ("float16", "float32", "float64")
_SOFTPLUS_MIN_THRESHOLD = 20.0


def _torch_classify(torch):
    nn = torch.nn
    abs_cls = _torch_abs_class()

    def classify(item, where):
        if isinstance(item, nn.Linear):
            if str(item.weight.dtype).removeprefix("torch.") not in _TORCH_DTYPES:
                raise ValueError(f"{where} has dtype {item.weight.dtype}; convert the model "
                                 "with .double() or .float() first")
            W = jnp.array(item.weight.detach().cpu().numpy())  # a copy: torch may mutate
            b = None if item.bias is None else jnp.array(item.bias.detach().cpu().numpy())
            return "linear", (W, _bias(b, W.shape[0], W.dtype))
        kind = type(item)
        if kind is nn.ReLU:
            return "activation", ReLU()
        if kind is nn.LeakyReLU:
            return "activation", LeakyReLU(negative_slope=float(item.negative_slope))
        if kind is nn.Hardtanh:
            if (item.min_val, item.max_val) != (-1.0, 1.0):
                raise ValueError(f"{where} clips to [{item.min_val}, {item.max_val}]; jrelu's "
                                 "HardTanh clips to [-1, 1]")
            return "activation", HardTanh()
        if kind is nn.Softplus:
            if item.beta != 1.0 or item.threshold < _SOFTPLUS_MIN_THRESHOLD:
                raise ValueError(f"{where} has beta={item.beta}, threshold={item.threshold}; "
                                 "jrelu's Softplus is log(1 + e^z): beta=1 and threshold >= "
                                 f"{_SOFTPLUS_MIN_THRESHOLD:g}")
            return "activation", Softplus()
        if kind is nn.Tanh:
            return "activation", Tanh()
        if kind is abs_cls:
            return "activation", Abs()
        raise ValueError(f"{where} is not supported; expected torch.nn.Linear and one of "
                         "ReLU, LeakyReLU, Hardtanh(-1, 1), Softplus, Tanh (or the abs "
                         "module of jrelu.interop.to_torch)")
    return classify


def from_torch(model, *, activation: Activation = _RELU) -> Network:
    r"""The jrelu network of a ``torch.nn.Sequential`` of ``Linear`` layers and activations.

    ``model`` is ``Sequential(Linear, act, Linear, ..., act, Linear)``. PyTorch stores the
    weight :math:`W_k` as (out, in), like jrelu, so :math:`A_k=W_k` and :math:`b_k` is the
    bias (zeros for ``bias=False``), copied bit for bit in the model's dtype (``double()``
    models give float64 networks; that needs ``jax_enable_x64``). The activation modules map
    as ``ReLU`` → :class:`jrelu.ReLU`, ``LeakyReLU(a)`` → ``LeakyReLU(negative_slope=a)``,
    ``Hardtanh(-1, 1)`` → :class:`jrelu.HardTanh`, ``Softplus()`` → :class:`jrelu.Softplus`
    (``beta=1``; PyTorch returns :math:`z` above ``threshold`` (default 20), within
    :math:`\log(1+e^{-20})<3\cdot10^{-9}` of :math:`\log(1+e^z)`), ``Tanh`` →
    :class:`jrelu.Tanh`, and the abs module of :func:`to_torch` → :class:`jrelu.Abs`; each
    must compute the function of ``activation``. PyTorch's autograd takes the derivative at
    a kink to be 0 for ReLU, Hardtanh and abs and the negative slope for LeakyReLU, the
    defaults of jrelu's ``deriv_at_kink``.

    Args:
      model: a ``torch.nn.Sequential`` starting and ending with ``torch.nn.Linear``.
      activation: the jrelu activation the network will be used with; checked against the
        model's activation modules.

    Returns:
      the :class:`jrelu.Network` (float32 or float64, as the model).

    Raises:
      ImportError: PyTorch is not installed (``pip install 'jrelu[torch]'``).
      TypeError: ``model`` is not a ``torch.nn.Sequential`` or ``activation`` is not a
        :class:`jrelu.Activation`.
      ValueError: a module is not supported (the message names it, e.g. ``GELU`` or
        ``Dropout``), two ``Linear`` or two activations follow each other, the model ends
        with an activation, or an activation is not the function of ``activation``.

    Example:
      >>> import torch
      >>> model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(),
      ...                             torch.nn.Linear(8, 1)).double()
      >>> net = jrelu.interop.from_torch(model)
      >>> net.widths
      (3, 8, 1)
      >>> x = np.array([0.5, -1.0, 2.0])
      >>> y = model(torch.from_numpy(x)).detach().numpy()
      >>> bool(np.allclose(jrelu.realize(net, jnp.asarray(x)), y))
      True

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    torch = _require("torch", "from_torch")
    if not isinstance(model, torch.nn.Sequential):
        raise TypeError(f"model must be a torch.nn.Sequential, got {type(model).__name__}")
    _checks.activation("activation", activation)
    layers, acts, names = _stack(list(model), _torch_classify(torch), "model")
    _check_activation(acts, activation)
    return _chain(layers, names)


def _torch_activation(torch, activation: Activation):
    nn, kind = torch.nn, type(activation)
    if kind is ReLU:
        return nn.ReLU()
    if kind is LeakyReLU:
        return nn.LeakyReLU(negative_slope=activation.negative_slope)
    if kind is HardTanh:
        return nn.Hardtanh(-1.0, 1.0)
    if kind is Softplus:
        return nn.Softplus()
    if kind is Tanh:
        return nn.Tanh()
    if kind is Abs:
        return _torch_abs_class()()
    raise ValueError(f"activation={activation!r} has no PyTorch module; supported: ReLU, "
                     "LeakyReLU, HardTanh, Softplus, Tanh, Abs")


def to_torch(net: Network, *, activation: Activation = _RELU):
    r"""A ``torch.nn.Sequential`` computing :math:`R\Phi` with the weights of ``net``.

    The model is ``Sequential(Linear_1, act, ..., act, Linear_L)`` with
    ``Linear_k.weight`` :math:`=A_k` and ``Linear_k.bias`` :math:`=b_k`, copied bit for
    bit in the network's dtype (float32 → ``torch.float32``, float64 → ``torch.float64``).
    ``act`` is ``torch.nn.ReLU()``, ``LeakyReLU(negative_slope)``, ``Hardtanh(-1, 1)``,
    ``Softplus()``, ``Tanh()``, or for :class:`jrelu.Abs` a small module applying
    ``torch.abs`` (``torch.nn`` has none). PyTorch's autograd uses its own value of the
    derivative at a kink (0 for ReLU, Hardtanh, abs; the negative slope for LeakyReLU),
    whatever ``deriv_at_kink`` says.

    Args:
      net: the network (float16, float32 or float64).
      activation: the activation of the hidden layers.

    Returns:
      a ``torch.nn.Sequential`` on the CPU mapping ``(..., N_0)`` to ``(..., N_L)``.

    Raises:
      ImportError: PyTorch is not installed (``pip install 'jrelu[torch]'``).
      TypeError: ``net`` is not a :class:`jrelu.Network` or ``activation`` is not a
        :class:`jrelu.Activation`.
      ValueError: ``activation`` has no PyTorch module (e.g. :class:`jrelu.Smoothing`) or
        the network's dtype has no NumPy-compatible PyTorch dtype.

    Example:
      >>> import torch
      >>> net = jrelu.init(jax.random.key(0), (2, 8, 1))
      >>> model = jrelu.interop.to_torch(net)
      >>> model
      Sequential(
        (0): Linear(in_features=2, out_features=8, bias=True)
        (1): ReLU()
        (2): Linear(in_features=8, out_features=1, bias=True)
      )
      >>> x = np.array([0.3, -0.7], dtype=net.dtype)
      >>> y = model(torch.from_numpy(x)).detach().numpy()
      >>> bool(np.allclose(y, jrelu.realize(net, jnp.asarray(x))))
      True

    References:
      Berner, Elbrächter, Grohs, Jentzen (2019),
      `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_.
    """
    torch = _require("torch", "to_torch")
    _checks.network("net", net)
    _checks.activation("activation", activation)
    if str(net.dtype) not in _TORCH_DTYPES:
        raise ValueError(f"net has dtype {net.dtype}; to_torch supports {_TORCH_DTYPES}")
    mods = []
    for k, (A, b) in enumerate(net.layers):
        if k:
            mods.append(_torch_activation(torch, activation))
        lin = torch.nn.Linear(A.shape[1], A.shape[0], device="meta")  # no random init
        lin.weight = torch.nn.Parameter(torch.tensor(np.asarray(A)))
        lin.bias = torch.nn.Parameter(torch.tensor(np.asarray(b)))
        mods.append(lin)
    if len(net.layers) == 1:
        _torch_activation(torch, activation)  # refuse an unsupported activation all the same
    return torch.nn.Sequential(*mods)
