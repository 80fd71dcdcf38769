"""The ``bounds`` benchmark suite (issue 11): it runs at smoke sizes and reports ratios, and
its exact region enumerator agrees with brute force."""

from fractions import Fraction

import jax.numpy as jnp
import numpy as np
import pytest

import jrelu
from jrelu import _bench_bounds as bb


def test_smoke_sizes_run_and_give_ratios(capsys):
    result = bb.bench_bounds(**bb.SMOKE_SIZES, print_table=True)
    assert result["suite"] == "bounds" and result["num_cases"] == 1
    (row,) = result["cases"]
    for m in result["methods"]:
        assert result[f"{m}_all_sound"] is True
        assert row[f"{m}/exact"] >= 1.0  # a bound: at or above the exact value
        assert result[f"{m}/exact median"] == result[f"{m}/exact worst"] == row[f"{m}/exact"]
        assert row[f"{m}_s"] > 0
    assert row["sampled"] <= row["exact"] + 1e-12 and result["exact_ge_sampled"] is True
    if "linear" in result["methods"]:
        assert result["linear_never_looser_than_interval"] is True
    assert "interval" in result["table"] and "2-4-4-1" in capsys.readouterr().out


def _tiny_net():
    rng = np.random.default_rng(3)  # He init in numpy: no initializer to compile
    widths = (2, 3, 3, 1)
    return jrelu.Network([(jnp.asarray(rng.normal(size=(m, n)) * np.sqrt(2.0 / n)),
                           jnp.asarray(rng.uniform(-1, 1, m) / np.sqrt(n)))
                          for n, m in zip(widths[:-1], widths[1:])])


def test_exact_enumerator_agrees_with_brute_force():
    net = _tiny_net()
    box = (np.array([-1.0, -0.5]), np.array([0.75, 1.0]))
    regs = bb.exact_regions(net, box)
    assert len(regs) > 3
    # the polygons tile the box (exact areas)
    area = sum(bb._area2(v) for v, _ in regs) / 2
    assert area == Fraction(7, 4) * Fraction(3, 2)
    # on every polygon f is affine with the region's Jacobian (exact, at every vertex pair)
    for v, J in regs:
        vals = [bb.exact_realize(net, list(p))[0] for p in v]
        for p, fp in zip(v[1:], vals[1:]):
            assert fp - vals[0] == J[0][0] * (p[0] - v[0][0]) + J[0][1] * (p[1] - v[0][1])
    # brute force: the gradient at every point of a fine grid is one of the region
    # Jacobians, and the grid maximum is the exact maximum (every region is hit)
    n = 200
    t = (np.arange(n) + 0.5) / n
    g0, g1 = np.meshgrid(-1.0 + 1.75 * t, -0.5 + 1.5 * t)
    pts = jnp.asarray(np.stack([g0.ravel(), g1.ravel()], -1))
    grads = np.asarray(jrelu.derivative(net, pts))[:, 0, :]
    table = np.array([[float(J[0][0]), float(J[0][1])] for _, J in regs])
    dist = np.min(np.max(np.abs(grads[:, None, :] - table[None]), axis=-1), axis=1)
    assert np.max(dist) < 1e-13
    hit = np.unique(np.argmin(np.max(np.abs(grads[:, None, :] - table[None]), -1), 1))
    distinct = np.unique(np.round(table, 12), axis=0)
    assert len(np.unique(np.round(table[hit], 12), axis=0)) == len(distinct)
    exact = bb.exact_lipschitz(net, box)
    assert np.max(np.abs(grads).sum(-1)) == pytest.approx(float(exact), rel=1e-14, abs=0)


def test_exact_values_of_known_networks():
    # S_3 on [-1, 1]^2: the steepest pieces have slope 2 - 2^-3 in each coordinate
    net = jrelu.constructions.squared_norm_network(2, 1.0, 3, dtype=jnp.float64)
    assert bb.exact_lipschitz(net, (-np.ones(2), np.ones(2))) == Fraction(15, 4)
    # |x_1| + 2|x_2| at the origin: four limiting Jacobians (±1, ±2)
    A = jnp.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    net = jrelu.Network([(A, jnp.zeros(4)), (jnp.array([[1.0, 1.0, 2.0, 2.0]]), jnp.zeros(1))])
    lims = bb.exact_limiting_jacobians(net, np.zeros(2))
    assert lims == {((Fraction(s1), Fraction(2 * s2)),) for s1 in (-1, 1) for s2 in (-1, 1)}
    with pytest.raises(ValueError, match="net must have 2 inputs"):
        bb.exact_regions(jrelu.Network([(jnp.ones((2, 3)), jnp.zeros(2))]),
                         (np.zeros(3), np.ones(3)))


def test_methods_of_the_suite():
    assert bb.available_methods() == ("interval", "linear", "alpha")
    assert bb.SMOKE_SIZES["methods"] == ("interval", "linear")  # alpha compiles too long


@pytest.mark.slow  # compiles method="alpha" (about 20 s of CPU)
def test_smoke_sizes_with_alpha():
    result = bb.bench_bounds(**{**bb.SMOKE_SIZES, "methods": ("linear", "alpha")})
    (row,) = result["cases"]
    assert result["alpha_all_sound"] is True and result["alpha_never_looser_than_linear"]
    assert 1.0 <= row["alpha/exact"] <= row["linear/exact"]
    assert "alpha" in result["table"]
