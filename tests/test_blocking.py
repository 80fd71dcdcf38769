"""The backend-dependent evaluation plan (issue 13): fixed cache-sized blocks on CPU, whole
batches on accelerators unless memory runs out. The accelerator branch is tested on CPU by
passing the backend and the memory explicitly, and by running value_and_derivative under a
plan of that shape."""

import dataclasses
import importlib
import json
import os
from pathlib import Path

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


def _machine_l2_bytes():
    """cpu0's L2 from sysfs, read here independently of the library (None if unreadable)."""
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            if (index / "level").read_text().strip() == "2":
                size = (index / "size").read_text().strip()
                return int(size[:-1]) * {"K": 2**10, "M": 2**20}[size[-1]]
        except (OSError, KeyError, ValueError):
            return None
    return None


def test_cpu_plan_fits_a_block_in_the_l2_cache():
    # C = 4 MiB (2 cores x 2 MiB): the widest per-point array of the bench network is 256
    # float32 = 1 KiB, so 4096 points; float64 half; narrow networks at the 8192 cap, very
    # wide ones (4000 x min(3, 2) floats) at the 256 floor
    for widths, block in [((100, 256, 256, 256, 1), 4096), ((2, 8, 1), 8192),
                          ((10, 64, 64, 1), 8192), ((100, 1024, 1024, 1), 1024),
                          ((3, 4000, 2), 256), ((2, 64, 64, 4), 8192), ((4, 512, 8), 512)]:
        for memory in (None, 1, 2**40):  # the device memory plays no part on CPU
            plan = evaluation_blocking(_zeros(widths), backend="cpu", memory_bytes=memory,
                                       cache_bytes=2**22)
            assert (plan.block_size, plan.blocked_from, plan.chunk_size) == \
                (block, 2 * block, 8192), widths
            assert plan.backend == "cpu" and plan.memory_bytes is None
            assert plan.cache_bytes == 2**22
    assert evaluation_blocking(NET32, backend="cpu", cache_bytes=2**21).block_size == 2048
    assert evaluation_blocking(NET32, backend="cpu", cache_bytes=2**21 - 1).block_size == 1024
    with jax.enable_x64(True):
        net64 = _zeros((100, 256, 256, 256, 1), np.float64)
        assert evaluation_blocking(net64, backend="cpu", cache_bytes=2**22).block_size == 2048
    # the lexicographic tangents: as many points as fit in 2 MiB (one point's widest
    # tangent array is 256 x 100 float32 = 102400 bytes: 20.48 points, so 16)
    assert evaluation_blocking(NET32, backend="cpu").tangent_block_size == 16
    assert evaluation_blocking(_zeros((2, 8, 1)), backend="cpu").tangent_block_size == 1024
    assert evaluation_blocking(_zeros((4096, 1024, 1)), backend="cpu").tangent_block_size == 1
    assert jax.default_backend() == "cpu"
    assert evaluation_blocking(NET32) == evaluation_blocking(NET32, backend="cpu")
    assert evaluation_blocking(NET32, backend="gpu", memory_bytes=2**30).cache_bytes is None


def test_cpu_cache_is_read_from_the_machine():
    """The default C is cpu0's L2 times the cores this process may use (2 MiB a core where
    Linux does not say), and that is what the default plan is sized by."""
    l2 = _machine_l2_bytes() or 2**21
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    plan = evaluation_blocking(NET32, backend="cpu")
    assert plan.cache_bytes == l2 * cores
    assert plan == evaluation_blocking(NET32, backend="cpu", cache_bytes=l2 * cores)


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
    for bad in ("2MB", 2.0**21, True):
        with pytest.raises(TypeError, match="^cache_bytes must be an integer"):
            evaluation_blocking(NET32, backend="cpu", cache_bytes=bad)
    with pytest.raises(ValueError, match="^cache_bytes must be an integer >= 1"):
        evaluation_blocking(NET32, backend="cpu", cache_bytes=-1)
    with pytest.raises(TypeError):
        evaluation_blocking(NET32, "gpu")  # options are keyword-only


@pytest.mark.parametrize("block, blocked_from", [(8, 16), (12, 24), (16, 64), (64, 10**9)])
def test_any_plan_gives_bitwise_the_same_values_and_derivatives(monkeypatch, block,
                                                                blocked_from):
    """value_and_derivative under small plans (so that the test is fast): 37 points in
    5 x 8, 4 x 10 and 3 x 13 points (each padded by fewer points than blocks), and no
    blocking, give the per-point numbers exactly."""
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


def test_block_size_changes_no_bit_on_a_non_dyadic_float32_network(monkeypatch):
    """The hard case of "every point is computed by the same formula in any plan": random
    float32 weights (rounding in every product) at the bench network's widths, 2085 points
    unblocked, in 9 blocks of 232 and in 3 blocks of 695 (not powers of two, padded)."""
    net = jrelu.init(jax.random.key(0), (100, 256, 256, 1), dtype=np.float32)
    X = jax.random.normal(jax.random.key(1), (2085, 100), np.float32)
    run = jax.jit(jrelu.value_and_derivative)
    y, D = run(net, X)
    for block in (256, 1024):
        plan = Blocking(block, 2 * block, 8192, "cpu", None, 1, 1)
        monkeypatch.setattr(derivative_module, "evaluation_blocking", lambda net, plan=plan: plan)
        yb, Db = jax.jit(jrelu.value_and_derivative)(net, X)  # a new trace: the new plan
        np.testing.assert_array_equal(yb, y)
        np.testing.assert_array_equal(Db, D)


def test_l2_size_parsing_and_fallback(tmp_path):
    """sysfs as Linux writes it (level 1 data and instruction caches, then L2), a size in
    MiB, and the 2 MiB fallback for a missing folder or an unreadable size."""
    from jrelu import _cache

    def fake(name, entries):
        root = tmp_path / name
        for i, (level, kind, size) in enumerate(entries):
            d = root / f"index{i}"
            d.mkdir(parents=True)
            (d / "level").write_text(f"{level}\n")
            (d / "type").write_text(f"{kind}\n")
            (d / "size").write_text(f"{size}\n")
        return root

    linux = fake("a", [(1, "Data", "48K"), (1, "Instruction", "32K"), (2, "Unified", "2048K"),
                       (3, "Unified", "266240K")])
    assert _cache.l2_bytes_per_core(linux) == 2**21
    assert _cache.l2_bytes_per_core(fake("b", [(2, "Unified", "1M")])) == 2**20
    assert _cache.l2_bytes_per_core(fake("c", [(2, "Unified", "lots")])) == 2**21
    assert _cache.l2_bytes_per_core(tmp_path / "missing") == 2**21
