"""The backend-dependent evaluation plan (issue 13): fixed cache-sized blocks on CPU, whole
batches on accelerators unless memory runs out. The accelerator branch is tested on CPU by
passing the backend and the memory explicitly, and by running value_and_derivative under a
plan of that shape."""

import dataclasses
import importlib
import json

import jax
import numpy as np
import pytest
from helpers import dyadic_network, dyadic_point, plant_kinks

import jrelu
from jrelu.derivative import Blocking, evaluation_blocking

derivative_module = importlib.import_module("jrelu.derivative")



def _zeros(widths, dtype=np.float32):
    return jrelu.Network([(np.zeros((m, n), dtype), np.zeros(m, dtype))
                          for n, m in zip(widths[:-1], widths[1:])])


NET32 = _zeros((100, 256, 256, 256, 1))


def test_cpu_plan_is_the_cache_sized_one_for_every_network_and_memory():
    for widths in [(2, 8, 1), (100, 256, 256, 256, 1), (3, 4000, 2)]:
        net = _zeros(widths)
        for memory in (None, 1, 2**40):
            plan = evaluation_blocking(net, backend="cpu", memory_bytes=memory)
            assert (plan.block_size, plan.blocked_from, plan.chunk_size) == (1024, 4096, 8192)
            assert plan.backend == "cpu" and plan.memory_bytes is None
    # the lexicographic tangents: as many points as fit in 2 MiB (one point's widest
    # tangent array is 256 x 100 float32 = 102400 bytes: 20.48 points, so 16)
    assert evaluation_blocking(NET32, backend="cpu").tangent_block_size == 16
    assert evaluation_blocking(_zeros((2, 8, 1)), backend="cpu").tangent_block_size == 1024
    assert evaluation_blocking(_zeros((4096, 1024, 1)), backend="cpu").tangent_block_size == 1
    assert jax.default_backend() == "cpu"
    assert evaluation_blocking(NET32) == evaluation_blocking(NET32, backend="cpu")


@pytest.mark.parametrize("backend", ["gpu", "tpu"])
def test_accelerator_plan_fits_the_memory(backend):
    P = evaluation_blocking(NET32, backend=backend, memory_bytes=2**30).bytes_per_point
    # input 100, three hidden layers of 256 (value, slope, activation), output 1, and the
    # Jacobian products 1 x (256 + 100), twice: float32 bytes
    assert P == 4 * (100 + 3 * 768 + 1 + 2 * 356)
    previous = 0
    for memory in [2**20, 2**30, 16 * 2**30, 80 * 10**9, 2**50]:
        plan = evaluation_blocking(NET32, backend=backend, memory_bytes=memory)
        b = plan.block_size
        assert b & (b - 1) == 0 and 1024 <= b <= 2**24, b  # a power of two in range
        if 1024 < b < 2**24:  # the largest power of two with 32 P b <= M
            assert 32 * P * b <= memory < 32 * P * 2 * b
        assert plan.blocked_from == plan.chunk_size == 4 * b
        t = plan.tangent_block_size  # three tangent arrays of 256 x 100 floats a point
        assert t & (t - 1) == 0 and 1 <= t <= 2**24
        if 1 < t < 2**24:
            assert 32 * 3 * 102400 * t <= memory < 32 * 3 * 102400 * 2 * t
        assert plan.memory_bytes == memory and plan.backend == backend
        assert b >= previous
        previous = b
    assert evaluation_blocking(NET32, backend=backend, memory_bytes=2**20).block_size == 1024
    assert evaluation_blocking(NET32, backend=backend, memory_bytes=2**50).block_size == 2**24
    # 16 GiB: 2^34 / (32 * 12468) = 43060.6..., so blocks of 2^15 points
    assert evaluation_blocking(NET32, backend=backend,
                               memory_bytes=16 * 2**30).block_size == 2**15


def test_float64_points_take_twice_the_memory():
    with jax.enable_x64(True):
        net64 = _zeros((100, 256, 256, 256, 1), np.float64)
        p64 = evaluation_blocking(net64, backend="gpu", memory_bytes=16 * 2**30)
    p32 = evaluation_blocking(NET32, backend="gpu", memory_bytes=16 * 2**30)
    assert p64.bytes_per_point == 2 * p32.bytes_per_point
    assert p64.block_size == p32.block_size // 2


def test_device_memory_is_read_from_the_device_or_falls_back():
    # no GPU here: jax.devices("gpu") fails, and the plan assumes 2 GiB
    plan = evaluation_blocking(NET32, backend="gpu")
    assert plan.memory_bytes == 2**31
    assert plan == evaluation_blocking(NET32, backend="gpu", memory_bytes=2**31)


def test_plan_is_a_json_able_report():
    plan = evaluation_blocking(NET32, backend="gpu", memory_bytes=2**33)
    assert isinstance(plan, Blocking)
    assert json.loads(json.dumps(plan.to_dict())) == plan.to_dict()
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.block_size = 3


def test_bad_arguments_name_themselves():
    with pytest.raises(TypeError, match="^net must be"):
        evaluation_blocking(NET32.layers)
    with pytest.raises(TypeError, match="^backend must be a string"):
        evaluation_blocking(NET32, backend=3)
    for bad in ("1GB", 1.5, True):
        with pytest.raises(TypeError, match="^memory_bytes must be an integer"):
            evaluation_blocking(NET32, backend="gpu", memory_bytes=bad)
    with pytest.raises(ValueError, match="^memory_bytes must be an integer >= 1"):
        evaluation_blocking(NET32, backend="gpu", memory_bytes=0)
    with pytest.raises(TypeError):
        evaluation_blocking(NET32, "gpu")  # options are keyword-only


@pytest.mark.parametrize("block, blocked_from", [(8, 16), (16, 64), (64, 10**9)])
def test_any_plan_gives_bitwise_the_same_values_and_derivatives(monkeypatch, block,
                                                                blocked_from):
    """value_and_derivative under accelerator-like plans (small here, so that the test is
    fast): padded blocks, exact blocks and no blocking give the per-point numbers exactly."""
    rng = np.random.default_rng(13)
    x0 = dyadic_point(rng, 3)
    net = plant_kinks(dyadic_network(rng, (3, 6, 5, 2)), x0, rng)
    X = rng.integers(-12, 13, (37, 3)) / 4
    X[5] = X[36] = x0  # planted kinks, in the first and in the padded last block
    per_point = jax.jit(jax.vmap(lambda t: jrelu.value_and_derivative(net, t)))(X[:, None])
    plan = Blocking(block, blocked_from, 4 * block, "gpu", 2**30, 1, block)
    monkeypatch.setattr(derivative_module, "evaluation_blocking", lambda net: plan)
    y, D = jrelu.value_and_derivative(net, X.reshape(1, 37, 3))
    assert y.shape == (1, 37, 2) and D.shape == (1, 37, 2, 3)
    np.testing.assert_array_equal(y[0], per_point[0][:, 0])
    np.testing.assert_array_equal(D[0], per_point[1][:, 0])
    np.testing.assert_array_equal(jax.jit(jrelu.derivative)(net, X), D[0])
