"""jrelu.interop: Equinox, Flax (linen and NNX) and PyTorch converters.

Round trips are bit-exact both ways, realizations agree in float64 (torch double), and at a
planted kink jrelu.derivative equals the framework's autodiff where the conventions match.
"""

import pickle
import subprocess
import sys

import helpers
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jrelu
from jrelu import interop

WIDTHS = (3, 6, 6, 2)


def _net(dtype=jnp.float64, widths=WIDTHS, seed=0):
    """A generic network (NumPy draws with jrelu.init's distributions: no compilation)."""
    return helpers.np_init(seed, widths, dtype)


def _planted(net, value=0.0):
    """``net`` with b_1[0] = value, so x = 0 puts neuron 1 of layer 1 at z = value."""
    (A1, b1), *rest = net.layers
    return jrelu.Network([(A1, b1.at[0].set(value)), *rest])


def _assert_same(a, b):
    assert a.widths == b.widths
    for (A, c), (A2, c2) in zip(a.layers, b.layers):
        assert A.dtype == A2.dtype and c.dtype == c2.dtype
        np.testing.assert_array_equal(A, A2)
        np.testing.assert_array_equal(c, c2)


def _points(d, dtype=jnp.float64, n=16):
    return jnp.asarray(np.random.default_rng(9).normal(size=(n, d)), dtype)


def test_interop_imports_no_framework_until_a_converter_runs():
    code = ("import sys, jrelu, jrelu.interop; print(','.join(m for m in ('torch', 'equinox', "
            "'flax') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("module, extra, call", [
    ("torch", "torch", lambda: interop.to_torch(_net())),
    ("torch", "torch", lambda: interop.from_torch(None)),
    ("equinox", "equinox", lambda: interop.to_equinox(_net())),
    ("equinox", "equinox", lambda: interop.from_equinox(None)),
    ("flax", "flax", lambda: interop.to_flax(_net())),
    ("flax", "flax", lambda: interop.from_flax({})),
    ("flax", "flax", lambda: interop.to_nnx(_net())),
    ("flax", "flax", lambda: interop.from_nnx([])),
])
def test_missing_framework_names_the_extra(monkeypatch, module, extra, call):
    for name in list(sys.modules):
        if name == module or name.startswith(module + "."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(ImportError, match=rf"pip install 'jrelu\[{extra}\]'"):
        call()


# -- Equinox -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_equinox_round_trips_are_bit_exact(dtype):
    import equinox as eqx

    net = _net(dtype)
    mlp = interop.to_equinox(net)
    assert (mlp.in_size, mlp.out_size, mlp.width_size, mlp.depth) == (3, 2, 6, 2)
    for (A, b), layer in zip(net.layers, mlp.layers):
        np.testing.assert_array_equal(layer.weight, A)
        np.testing.assert_array_equal(layer.bias, b)
    _assert_same(interop.from_equinox(mlp), net)
    native = eqx.nn.MLP(4, 3, 5, 3, dtype=dtype, key=jax.random.key(1))
    back = interop.to_equinox(interop.from_equinox(native))
    for l1, l2 in zip(native.layers, back.layers):
        np.testing.assert_array_equal(l1.weight, l2.weight)
        np.testing.assert_array_equal(l1.bias, l2.bias)


def test_equinox_realization_and_derivative_at_a_kink_agree():
    import equinox as eqx

    native = eqx.nn.MLP(3, 2, 6, 2, dtype=jnp.float64, key=jax.random.key(2))
    native = eqx.tree_at(lambda m: m.layers[0].bias, native, native.layers[0].bias.at[0].set(0))
    net = interop.from_equinox(native)
    xs = _points(3)
    np.testing.assert_allclose(jrelu.realize(net, xs), jax.vmap(native)(xs), rtol=1e-13,
                               atol=1e-14)
    x0 = jnp.zeros(3)  # neuron 1 of layer 1 at its kink; jax.nn.relu'(0) = 0
    J = jrelu.derivative(net, x0, activation=jrelu.ReLU(deriv_at_kink=0.0))
    np.testing.assert_allclose(J, jax.jacrev(native)(x0), rtol=1e-13, atol=1e-15)
    J1 = jrelu.derivative(net, x0, activation=jrelu.ReLU(deriv_at_kink=1.0))
    assert not np.allclose(J1, J)  # the kink matters at this point
    # to_equinox carries the jrelu activation, so any deriv_at_kink convention carries over
    act = jrelu.ReLU(deriv_at_kink=1.0)
    mlp = interop.to_equinox(net, activation=act)
    np.testing.assert_allclose(jax.jacrev(mlp)(x0), J1, rtol=1e-13, atol=1e-15)


def test_equinox_activations_scan_and_errors():
    import functools

    import equinox as eqx

    k = jax.random.key(3)
    leaky = eqx.nn.MLP(2, 1, 4, 2, activation=functools.partial(jax.nn.leaky_relu,
                                                                negative_slope=0.2), key=k)
    interop.from_equinox(leaky, activation=jrelu.LeakyReLU(negative_slope=0.2))
    with pytest.raises(ValueError, match=r"mlp.activation computes jrelu.LeakyReLU\("
                                         r"negative_slope=0.2\), but activation=ReLU"):
        interop.from_equinox(leaky)
    tanh = eqx.nn.MLP(2, 1, 4, 2, activation=jnp.tanh, key=k)
    interop.from_equinox(tanh, activation=jrelu.Tanh())
    shape_only = lambda **kw: eqx.filter_eval_shape(eqx.nn.MLP, 2, 1, 4, 2, key=k, **kw)  # noqa
    with pytest.raises(ValueError, match="gelu"):
        interop.from_equinox(shape_only(activation=jax.nn.gelu))
    with pytest.raises(ValueError, match="final_activation"):
        interop.from_equinox(shape_only(final_activation=jax.nn.relu))
    scanned = eqx.nn.MLP(2, 1, 4, 3, scan=True, dtype=jnp.float64, key=k)
    net = interop.from_equinox(scanned)
    assert net.widths == (2, 4, 4, 4, 1)
    xs = _points(2)
    np.testing.assert_allclose(jrelu.realize(net, xs), jax.vmap(scanned)(xs), rtol=1e-13)
    no_bias = eqx.nn.MLP(2, "scalar", 4, 1, use_bias=False, key=k)
    assert interop.from_equinox(no_bias).widths == (2, 4, 1)
    assert not np.any(interop.from_equinox(no_bias).layers[0][1])
    with pytest.raises(ValueError, match="one width"):
        interop.to_equinox(_net(widths=(2, 3, 4, 1)))
    single = interop.to_equinox(_net(widths=(3, 2)))
    assert single.depth == 0
    with pytest.raises(TypeError, match="^mlp must be an equinox.nn.MLP"):
        interop.from_equinox(eqx.nn.Linear(2, 1, key=k))
    with pytest.raises(TypeError, match="^activation must be a jrelu.Activation"):
        interop.to_equinox(_net(), activation=jax.nn.relu)
    with pytest.raises(TypeError, match="^net must be a jrelu.Network"):
        interop.to_equinox({"a": 1})


# -- Flax linen ---------------------------------------------------------------------------------


def _linen_mlp(widths, act=jax.nn.relu, dtype=jnp.float64):
    import flax.linen as nn

    class MLP(nn.Module):
        @nn.compact
        def __call__(self, x):
            for n in widths[1:-1]:
                x = act(nn.Dense(n, param_dtype=dtype, dtype=dtype)(x))
            return nn.Dense(widths[-1], param_dtype=dtype, dtype=dtype)(x)

    return MLP()


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_flax_round_trips_are_bit_exact(dtype):
    net = _net(dtype)
    params = interop.to_flax(net)
    assert sorted(params["params"]) == ["Dense_0", "Dense_1", "Dense_2"]
    for (A, b), k in zip(net.layers, range(3)):
        np.testing.assert_array_equal(params["params"][f"Dense_{k}"]["kernel"], A.T)
        np.testing.assert_array_equal(params["params"][f"Dense_{k}"]["bias"], b)
    _assert_same(interop.from_flax(params), net)
    _assert_same(interop.from_flax(params["params"]), net)
    model = _linen_mlp(WIDTHS, dtype=dtype)
    native = model.init(jax.random.key(4), jnp.zeros(3, dtype))
    back = interop.to_flax(interop.from_flax(native))
    jax.tree_util.tree_map(np.testing.assert_array_equal, back, dict(native))


def test_flax_realization_and_derivative_at_a_kink_agree():
    net = _planted(_net())
    model = _linen_mlp(WIDTHS)
    params = interop.to_flax(net)
    xs = _points(3)
    np.testing.assert_allclose(model.apply(params, xs), jrelu.realize(net, xs), rtol=1e-13,
                               atol=1e-14)
    x0 = jnp.zeros(3)
    J = jrelu.derivative(net, x0, activation=jrelu.ReLU(deriv_at_kink=0.0))
    np.testing.assert_allclose(jax.jacrev(lambda x: model.apply(params, x))(x0), J,
                               rtol=1e-13, atol=1e-15)
    assert not np.allclose(jrelu.derivative(net, x0, activation=jrelu.ReLU(deriv_at_kink=1.0)),
                           J)


def test_flax_layer_order_names_and_errors():
    widths = (2,) + (3,) * 11 + (1,)  # 12 Dense layers: Dense_10 comes after Dense_9
    net = _net(widths=widths)
    params = interop.to_flax(net)
    shuffled = {"params": dict(sorted(params["params"].items()))}  # Dense_0, Dense_1, Dense_10
    assert list(shuffled["params"])[2] == "Dense_10"
    _assert_same(interop.from_flax(shuffled), net)
    seq = {"params": {"layers_0": params["params"]["Dense_0"],
                      "layers_2": params["params"]["Dense_1"]}}  # nn.Sequential's names
    assert interop.from_flax(seq).widths == (2, 3, 3)
    no_bias = {"Dense_0": {"kernel": jnp.ones((2, 3))}}
    assert not np.any(interop.from_flax(no_bias).layers[0][1])
    with pytest.raises(ValueError, match="different names"):
        interop.from_flax({"Dense_0": params["params"]["Dense_0"],
                           "layers_1": params["params"]["Dense_1"]})
    with pytest.raises(ValueError, match=r"params\['Conv_0'\] is not a Dense layer"):
        interop.from_flax({"Conv_0": {"kernel": jnp.ones((3, 2, 4)), "bias": jnp.ones(4),
                                      "scale": 1.0}})
    with pytest.raises(ValueError, match="must be a matrix"):
        interop.from_flax({"Conv_0": {"kernel": jnp.ones((3, 2, 4))}})
    with pytest.raises(ValueError, match="not a numbered layer"):
        interop.from_flax({"params": {"MLP": {"Dense_0": params["params"]["Dense_0"]}},
                           "batch_stats": {}})
    with pytest.raises(ValueError, match=r"params\['Dense_1'\] has 4 inputs"):
        interop.from_flax({"Dense_0": {"kernel": jnp.ones((2, 3))},
                           "Dense_1": {"kernel": jnp.ones((4, 1))}})
    with pytest.raises(TypeError, match="^params must be a dict"):
        interop.from_flax([jnp.ones((2, 3))])
    with pytest.raises(TypeError, match="^net must be a jrelu.Network"):
        interop.to_flax(params)


# -- Flax NNX -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_nnx_round_trips_are_bit_exact(dtype):
    from flax import nnx

    net = _net(dtype)
    model = interop.to_nnx(net)
    linears = [m for m in model.layers if isinstance(m, nnx.Linear)]
    for (A, b), lin in zip(net.layers, linears):
        assert lin.kernel[...].dtype == dtype
        np.testing.assert_array_equal(lin.kernel[...], A.T)
        np.testing.assert_array_equal(lin.bias[...], b)
    _assert_same(interop.from_nnx(model), net)
    native = nnx.Sequential(nnx.Linear(3, 5, param_dtype=dtype, rngs=nnx.Rngs(0)), nnx.relu,
                            nnx.Linear(5, 2, param_dtype=dtype, rngs=nnx.Rngs(1)))
    back = interop.to_nnx(interop.from_nnx(native))
    for i in (0, 2):
        np.testing.assert_array_equal(back.layers[i].kernel[...], native.layers[i].kernel[...])
        np.testing.assert_array_equal(back.layers[i].bias[...], native.layers[i].bias[...])


def test_nnx_realization_and_derivative_at_a_kink_agree():
    from flax import nnx

    net = _planted(_net())
    (A1, b1), (A2, b2), (A3, b3) = net.layers
    native = nnx.Sequential(
        nnx.Linear(3, 6, param_dtype=jnp.float64, rngs=nnx.Rngs(0)), nnx.relu,
        nnx.Linear(6, 6, param_dtype=jnp.float64, rngs=nnx.Rngs(0)), nnx.relu,
        nnx.Linear(6, 2, param_dtype=jnp.float64, rngs=nnx.Rngs(0)))
    for lin, A, b in zip(native.layers[::2], (A1, A2, A3), (b1, b2, b3)):
        lin.kernel[...] = A.T
        lin.bias[...] = b
    _assert_same(interop.from_nnx(native), net)
    xs = _points(3)
    np.testing.assert_allclose(native(xs), jrelu.realize(net, xs), rtol=1e-13, atol=1e-14)
    x0 = jnp.zeros(3)
    J = jrelu.derivative(net, x0, activation=jrelu.ReLU(deriv_at_kink=0.0))
    np.testing.assert_allclose(jax.jacrev(native)(x0), J, rtol=1e-13, atol=1e-15)
    act = jrelu.ReLU(deriv_at_kink=1.0)  # to_nnx carries the jrelu activation
    np.testing.assert_allclose(jax.jacrev(interop.to_nnx(net, activation=act))(x0),
                               jrelu.derivative(net, x0, activation=act), rtol=1e-13,
                               atol=1e-15)


def test_nnx_activation_checks_and_errors():
    from flax import nnx

    r = nnx.Rngs(0)
    lin = lambda i, o: nnx.Linear(i, o, rngs=r)  # noqa: E731
    assert interop.from_nnx([lin(2, 3), jnp.abs, lin(3, 1)],
                            activation=jrelu.Abs()).widths == (2, 3, 1)
    with pytest.raises(ValueError, match=r"model\[1\] .* computes jrelu.Tanh\(\), but "
                                         r"activation=ReLU"):
        interop.from_nnx([lin(2, 3), jnp.tanh, lin(3, 1)])
    with pytest.raises(ValueError, match=r"model\[1\] \(Dropout\) is not supported"):
        interop.from_nnx([lin(2, 3), nnx.Dropout(0.1, rngs=r), lin(3, 1)])
    with pytest.raises(ValueError, match="follows another linear layer"):
        interop.from_nnx([lin(2, 3), lin(3, 1)])
    with pytest.raises(ValueError, match="ends with an activation"):
        interop.from_nnx(nnx.Sequential(lin(2, 3), nnx.relu))
    with pytest.raises(ValueError, match="does not follow a linear layer"):
        interop.from_nnx([nnx.relu, lin(2, 3)])
    with pytest.raises(ValueError, match="no linear layers"):
        interop.from_nnx([])
    with pytest.raises(TypeError, match="^model must be an nnx.Sequential"):
        interop.from_nnx(lin(2, 3))
    nobias = nnx.Linear(2, 3, use_bias=False, rngs=r)
    assert not np.any(interop.from_nnx([nobias]).layers[0][1])


# -- PyTorch ------------------------------------------------------------------------------------


def _torch_jacobian(model, x):
    import torch

    return torch.autograd.functional.jacobian(model, torch.from_numpy(np.array(x))).numpy()


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_torch_round_trips_are_bit_exact(dtype):
    import torch

    net = _net(dtype)
    model = interop.to_torch(net)
    tdtype = {jnp.float32: torch.float32, jnp.float64: torch.float64}[dtype]
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    for (A, b), lin in zip(net.layers, linears):
        assert lin.weight.dtype == tdtype and lin.weight.device.type == "cpu"
        np.testing.assert_array_equal(lin.weight.detach().numpy(), A)
        np.testing.assert_array_equal(lin.bias.detach().numpy(), b)
    _assert_same(interop.from_torch(model), net)
    torch.manual_seed(0)
    native = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(),
                                 torch.nn.Linear(5, 2)).to(tdtype)
    back = interop.to_torch(interop.from_torch(native))
    for a, b in zip(native.parameters(), back.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_from_torch_copies_the_weights():
    import torch

    model = interop.to_torch(_net())
    net = interop.from_torch(model)
    before = np.array(net.layers[0][0])
    with torch.no_grad():
        model[0].weight.add_(1.0)  # an optimizer step in torch must not move the jrelu net
    np.testing.assert_array_equal(net.layers[0][0], before)


CASES = [  # (jrelu activation, torch module factory, z at which layer 1 neuron 1 sits)
    (jrelu.ReLU(), lambda nn: nn.ReLU(), 0.0),
    (jrelu.LeakyReLU(negative_slope=0.2), lambda nn: nn.LeakyReLU(0.2), 0.0),
    (jrelu.HardTanh(), lambda nn: nn.Hardtanh(-1.0, 1.0), 1.0),
    (jrelu.HardTanh(), lambda nn: nn.Hardtanh(-1.0, 1.0), -1.0),
    (jrelu.Abs(), None, 0.0),
    (jrelu.Softplus(), lambda nn: nn.Softplus(), 0.0),
    (jrelu.Tanh(), lambda nn: nn.Tanh(), 0.0),
]


@pytest.mark.parametrize("act, make, kink", CASES, ids=lambda c: getattr(c, "__name__", None)
                         if not isinstance(c, jrelu.Activation) else type(c).__name__)
def test_torch_realization_and_derivative_at_a_kink_agree(act, make, kink):
    """torch's ReLU'(0)=0, LeakyReLU'(0)=slope, Hardtanh'(±1)=0, abs'(0)=0: jrelu's defaults."""
    import torch

    net = _planted(_net(), kink)
    model = interop.to_torch(net, activation=act)
    if make is not None:
        assert type(model[1]) is type(make(torch.nn))
    _assert_same(interop.from_torch(model, activation=act), net)
    xs = _points(3)
    y = model(torch.from_numpy(np.array(xs))).detach().numpy()
    np.testing.assert_allclose(y, jrelu.realize(net, xs, activation=act), rtol=1e-13,
                               atol=1e-14)
    x0 = jnp.zeros(3)
    J = jrelu.derivative(net, x0, activation=act)
    np.testing.assert_allclose(_torch_jacobian(model, x0), J, rtol=1e-13, atol=1e-15)
    if act.kinks:  # the planted kink matters: another convention gives another answer
        other = type(act)(**{**_fields(act), "deriv_at_kink": 0.5})
        assert not np.allclose(jrelu.derivative(net, x0, activation=other), J)


def _fields(act):
    import dataclasses

    return {f.name: getattr(act, f.name) for f in dataclasses.fields(act)}


def test_torch_abs_module_pickles():
    net = _net()
    model = interop.to_torch(net, activation=jrelu.Abs())
    back = pickle.loads(pickle.dumps(model))
    _assert_same(interop.from_torch(back, activation=jrelu.Abs()), net)


def test_torch_refuses_what_jrelu_cannot_represent():
    import torch

    nn = torch.nn
    with pytest.raises(ValueError, match=r"model\[1\] \(GELU\) is not supported"):
        interop.from_torch(nn.Sequential(nn.Linear(2, 3), nn.GELU(), nn.Linear(3, 1)))
    with pytest.raises(ValueError, match=r"model\[1\] \(Dropout\) is not supported"):
        interop.from_torch(nn.Sequential(nn.Linear(2, 3), nn.Dropout(), nn.Linear(3, 1)))
    with pytest.raises(ValueError, match=r"Hardtanh\) clips to \[-2.0, 2.0\]"):
        interop.from_torch(nn.Sequential(nn.Linear(2, 3), nn.Hardtanh(-2.0, 2.0),
                                         nn.Linear(3, 1)), activation=jrelu.HardTanh())
    with pytest.raises(ValueError, match="beta=2"):
        interop.from_torch(nn.Sequential(nn.Linear(2, 3), nn.Softplus(beta=2),
                                         nn.Linear(3, 1)), activation=jrelu.Softplus())
    with pytest.raises(ValueError, match=r"model\[1\] \(Tanh\) computes jrelu.Tanh\(\), but "
                                         r"activation=ReLU"):
        interop.from_torch(nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)))
    with pytest.raises(ValueError, match=r"negative_slope=0.1\), but activation=LeakyReLU"):
        interop.from_torch(nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(0.1), nn.Linear(3, 1)),
                           activation=jrelu.LeakyReLU(negative_slope=0.2))
    with pytest.raises(ValueError, match="ends with an activation"):
        interop.from_torch(nn.Sequential(nn.Linear(2, 3), nn.ReLU()))
    with pytest.raises(ValueError, match=r"model\[2\] \(Linear\) has 4 inputs, but model\[0\] "
                                         r"\(Linear\) has 3 outputs"):
        interop.from_torch(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(4, 1)))
    with pytest.raises(ValueError, match="follows another linear layer"):
        interop.from_torch(nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1)))
    with pytest.raises(ValueError, match="dtype torch.bfloat16"):
        interop.from_torch(nn.Sequential(nn.Linear(2, 3)).to(torch.bfloat16))
    with pytest.raises(TypeError, match="^model must be a torch.nn.Sequential"):
        interop.from_torch(nn.Linear(2, 3))
    no_bias = interop.from_torch(nn.Sequential(nn.Linear(2, 3, bias=False)).double())
    assert no_bias.widths == (2, 3) and not np.any(no_bias.layers[0][1])

    class Odd(jrelu.ReLU):
        pass

    with pytest.raises(ValueError, match="has no PyTorch module"):
        interop.to_torch(_net(), activation=Odd())
    with pytest.raises(ValueError, match="has no PyTorch module"):
        interop.to_torch(_net(widths=(2, 1)), activation=Odd())
    with pytest.raises(TypeError, match="^activation must be a jrelu.Activation"):
        interop.to_torch(_net(), activation=torch.nn.ReLU())
