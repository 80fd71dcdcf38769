"""The honest output of `jrelu run` (jrelu/_outputs.py): what the weighted ratio means, the zero
network's reference, the local-to-global wrap (measured vs guaranteed), the noise floor of the
loss, errors.png and the printed table. Small synthetic cases; no training."""

import json
import math
import os

import helpers
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jrelu
from jrelu import _outputs as O
from jrelu import config as jconfig
from jrelu import experiment
from jrelu.constructions import global_bound


class _Points:
    """A stand-in sampler: fixed points, index i -> points[i]."""

    def __init__(self, points):
        self.x = np.asarray(points, np.float64)

    def points(self, key, index, *, dtype=None):
        idx = np.asarray(index) % len(self.x)
        return jnp.asarray(self.x[idx], dtype)


_RAW = {"problem": {"name": "heat_square", "dimension": 2, "T": 0.25, "box": [0.0, 1.0]},
        "network": {"hidden": [8]}, "training": {"steps": 10, "batch_size": 8},
        "sweep": {"points": 512, "box_points": 256, "r_max": 100.0, "num_shells": 8,
                  "kappa": 2.0}}


def _cfg(**sections):
    raw = {k: dict(v) for k, v in _RAW.items()}
    raw.update(sections)
    return jconfig.parse_config(raw, "t.toml")


def _sweep_dict(net, problem, sampler, key, n, kappa):
    """What error_sweep(...).to_dict() holds of a sweep (the fields the outputs read), from
    the same points and pointwise errors, without compiling a sweep."""
    x = np.concatenate(list(O.sweep_points(sampler, key, n, dtype=net.dtype)))
    e = O.pointwise(net, problem, x, kappa)
    edges = [0.0, 0.1, 1.0, 10.0, np.inf]
    prof = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (e["r"] >= lo) & (e["r"] < hi)
        prof.append({"r_min": lo, "r_max": None if hi == np.inf else hi, "count": int(m.sum()),
                     "value_sup": float(e["value_w"][m].max()) if m.any() else 0.0,
                     "derivative_sup": float(e["grad_w"][m].max()) if m.any() else 0.0})
    iv, ig = int(np.argmax(e["value_w"])), int(np.argmax(e["grad_w"]))
    return {"kappa": kappa, "num_points": n, "sampler": {"sampler": type(sampler).__name__},
            "value": {"sup": float(e["value_w"][iv]), "argmax": x[iv].tolist()},
            "derivative": {"sup": float(e["grad_w"][ig]), "argmax": x[ig].tolist()},
            "radial_profile": prof}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The end of a tiny learning run, without the training: a random network (float64),
    its sweep, then experiment._honest_outputs with [global_wrap] enabled."""
    cfg = _cfg(dtype="float64", global_wrap={"enabled": True, "num_points": 512})
    problem = cfg.problem.build()
    key = jax.random.key(cfg.seed)
    net = jrelu.init(jax.random.fold_in(key, 0), (2, 8, 1), dtype=jnp.float64)
    xs = problem.sample_box(jax.random.fold_in(key, 2), cfg.sweep.box_points, dtype=jnp.float64)
    report = {"name": "t", "solver": "learning", "problem": experiment.describe_problem(problem),
              "network": {"widths": list(net.widths)},
              "training": {"steps": 10, "batch_size": 8, "final_loss": 1.0, "seconds": 0.1},
              "box_errors": {"points": 256, "value_rel_l2": 0.5, "grad_rel_l2": 0.25,
                             "value_max_abs": 2.0, "grad_max_abs": 1.0}}
    sampler = experiment.sweep_sampler(cfg, problem)
    report["sweep"] = _sweep_dict(net, problem, sampler, jax.random.fold_in(key, 5), 512, 2.0)
    losses = np.linspace(5.0, 1.0, 50)
    out = str(tmp_path_factory.mktemp("outputs"))
    files, wrap_points, x_sweep = experiment._honest_outputs(
        cfg, problem, net, sampler, report, key, xs, out, losses, verbose=False)
    report["files"], report["seconds"] = ["report.json", *files], 0.0
    return {"cfg": cfg, "problem": problem, "net": net, "report": report, "xs": xs,
            "files": files, "wrap_points": wrap_points, "x_sweep": x_sweep, "out": out,
            "losses": losses}


# -- growth constants and the noise floor ------------------------------------------------


def test_growth_constants_bound_u_and_its_gradient():
    x = np.concatenate([np.random.default_rng(0).normal(size=(200, 3)) * s
                        for s in (0.01, 1.0, 100.0)])
    for problem in (jrelu.pde.HeatSquare(dim=3, T=0.7), jrelu.pde.HeatSquare(dim=3, T=0.01),
                    jrelu.pde.HeatCosine(dim=3, T=0.3)):
        c, nu, why = O.problem_growth(problem)
        F = c * (1 + np.linalg.norm(x, axis=-1) ** nu)
        assert np.all(np.abs(problem.solution(x)) <= F) and why
        assert np.all(np.linalg.norm(problem.solution_grad(x), axis=-1) <= F)
    assert O.problem_growth(jrelu.pde.HeatSquare(dim=10, T=0.1))[:2] == (2.0, 2.0)
    bs = jrelu.pde.make_problem("black_scholes_geometric", dim=2)
    assert O.problem_growth(bs)[:2] == (None, None)


def test_noise_floor_closed_form_and_monte_carlo():
    p = jrelu.pde.HeatSquare(dim=3, T=0.5, box=(-1.0, 2.0))
    exact = O.noise_floor(p, jax.random.key(0))
    # 8T d (a²+ab+b²)/3 + 8T²d = 8·0.5·3·3/3 + 8·0.25·3 = 12 + 6
    assert exact["value"] == 18.0 and exact["num_samples"] is None
    mc = O.noise_floor(p, jax.random.key(1), method="monte_carlo", num_samples=2**15)
    assert mc["num_samples"] == 2**15 and 0 < mc["standard_error"] < 0.05 * mc["value"]
    assert abs(mc["value"] - exact["value"]) <= 3 * mc["standard_error"]
    with pytest.raises(ValueError, match="method"):
        O.noise_floor(p, jax.random.key(0), method="exact")


def test_noise_floor_is_that_of_the_training_targets(run):
    assert run["report"]["noise_floor"]["horizon"] == 0.25
    assert run["report"]["noise_floor"]["box"] == [0.0, 1.0]
    if "averaging" not in jconfig.SECTIONS:
        pytest.skip("no [averaging] section")
    cfg = _cfg(averaging={"tau": 0.125, "enlarge": 0.5})  # t = 1/8 on [-1/2, 3/2]²
    floor = experiment.noise_floor_as_trained(cfg, cfg.problem.build(), jax.random.key(0))
    # 8t d (a²+ab+b²)/3 + 8t²d = 8·(1/8)·2·(1/4 - 3/4 + 9/4)/3 + 8·(1/64)·2 = 7/6 + 1/4
    assert floor["horizon"] == 0.125 and floor["box"] == [-0.5, 1.5]
    assert floor["value"] == pytest.approx(7 / 6 + 1 / 4, rel=1e-15)


def test_noise_floor_of_the_quickstart_is_the_issue_s_3_47():
    p = jrelu.pde.HeatSquare(dim=10, T=0.1, box=(0.0, 1.0))
    assert O.noise_floor(p, jax.random.key(0))["value"] == pytest.approx(8 / 3 + 0.8, rel=1e-15)


# -- the zero network and the meaning line -----------------------------------------------


def test_zero_network_reference_on_a_tiny_case():
    p = jrelu.pde.HeatSquare(dim=1, T=0.5)  # u = x² + 1, u' = 2x
    pts = _Points([[0.5], [-2.0], [4.0]])
    shells = [{"r_min": 0.0, "r_max": 1.0}, {"r_min": 1.0, "r_max": None}]
    z = O.zero_network_reference(p, pts, None, 3, [1.0, 2.0], shells=shells,
                                 dtype=jnp.float64)
    k1, k2 = z["kappas"]["1"], z["kappas"]["2"]
    # κ = 1: |u|/(1+|x|) = 1.25/1.5, 5/3, 17/5; |u'|/(1+|x|) = 1/1.5, 4/3, 8/5
    assert k1["value_sup"] == 17.0 / 5.0 and k1["derivative_sup"] == 8.0 / 5.0
    assert [s["value_sup"] for s in k1["radial_profile"]] == [1.25 / 1.5, 17.0 / 5.0]
    assert [s["value_sup_unweighted"] for s in k1["radial_profile"]] == [1.25, 17.0]
    # κ = 2: 1.25/1.25, 5/5, 17/17 and 1/1.25, 4/5, 8/17
    assert k2["value_sup"] == 1.0 and k2["derivative_sup"] == 0.8
    assert z["num_points"] == 3


def test_meaning_line_and_zero_reference_in_report_and_table(run, capsys):
    rep = run["report"]
    line = rep["weighted_ratio_meaning"]
    assert "\n" not in line and "zero network N = 0" in line and "far out" in line
    z = rep["zero_network"]["kappas"]["2"]
    # the zero network's reference equals |u|/(1+|x|²) over the sweep's own points
    sampler = experiment.sweep_sampler(run["cfg"], run["problem"])
    x = np.concatenate(list(O.sweep_points(sampler, jax.random.fold_in(jax.random.key(0), 5),
                                           512, dtype=jnp.float64)))
    r = np.linalg.norm(x, axis=-1)
    u = np.abs(np.asarray(run["problem"].solution(x)))
    assert z["value_sup"] == pytest.approx(float(np.max(u / (1 + r**2))), rel=1e-14)
    assert "3" in rep["zero_network"]["kappas"]  # the theorem's κ = ν + 1, for the guarantee
    experiment.print_table(rep, run["out"])
    text = capsys.readouterr().out
    assert f"meaning: {line}" in text
    assert "same, zero network N = 0 (reference)" in text
    assert "noise floor 2.33" in text  # 8·0.25·2/3 + 8·0.0625·2 = 4/3 + 1
    assert rep["noise_floor"]["value"] == pytest.approx(4 / 3 + 1.0, rel=1e-15)
    g = [ln for ln in text.splitlines() if ln.startswith("local-to-global guarantee")]
    assert len(g) == 1 and "[guaranteed" in g[0] and "measured on 512 points" in g[0]
    assert "not a certificate" in g[0]
    # the report is valid JSON (no NaN/inf) with the lines in it
    back = json.loads(json.dumps(rep, allow_nan=False))
    assert back["weighted_ratio_meaning"] == line
    assert back["global_guarantee"]["line"] == g[0]


def test_meaning_line_says_when_the_network_does_no_better_than_zero():
    p = jrelu.pde.HeatSquare(dim=2, T=0.5)
    sweep = {"kappa": 2.0, "num_points": 10,
             "value": {"sup": 0.9, "argmax": [60.0, 80.0]},
             "derivative": {"sup": 0.5, "argmax": [0.3, 0.4]},
             "radial_profile": [
                 {"r_min": 0.1, "r_max": 1.0, "count": 5, "value_sup": 0.3, "derivative_sup": 0.5},
                 {"r_min": 10.0, "r_max": None, "count": 5, "value_sup": 0.9,
                  "derivative_sup": 0.02}]}
    zero = {"kappas": {"2": {"value_sup": 2.0, "derivative_sup": 1.0, "radial_profile": [
        {"r_min": 0.1, "value_sup": 2.0, "derivative_sup": 1.0},
        {"r_min": 10.0, "value_sup": 1.0, "derivative_sup": 0.02}]}}}
    line = O.ratio_meaning(sweep, zero, p)
    assert "no better than predicting 0" in line and "|x|^2" in line
    assert "are at |x| = 100 / 0.5" in line
    better = dict(sweep, radial_profile=[sweep["radial_profile"][0], dict(
        sweep["radial_profile"][1], value_sup=0.01, derivative_sup=0.001)])
    assert "better than predicting 0 far out" in O.ratio_meaning(better, zero, p)


# -- the local-to-global wrap ------------------------------------------------------------


def test_wrap_writes_a_global_network_with_measured_and_guaranteed_parts(run):
    rep, problem = run["report"], run["problem"]
    w = rep["global_wrap"]
    assert run["files"] == ["network_global.npz"] and w["status"] == "built"
    assert w["certified"] is False
    assert "measured" in w["measured"]["note"] and "not a certificate" in w["measured"]["note"]
    assert w["guaranteed"]["note"].startswith("guaranteed by the construction's algebra")
    net = jrelu.io.load_network(os.path.join(run["out"], "network_global.npz"))
    rec = w["record"]
    assert list(net.widths) == rec["widths"] and rec["kappa"] == 3.0
    # the local error fits: measured <= delta = eps/2, on the cube (-B-1, B+1)^d
    m = w["measured"]
    assert max(m["local_value_error"], m["local_derivative_error"]) <= rec["delta"]
    assert m["cube"] == [-(rec["B"] + 1), rec["B"] + 1]
    # outside the cube the wrapped network and its D^N are exactly 0
    vd = jax.jit(jrelu.value_and_derivative)
    far = jnp.array([[rec["B"] + 1.5, 0.0], [0.0, -(rec["B"] + 7.0)], [1e3, 1e3]])
    v, d = vd(net, far)
    assert not np.any(np.asarray(v)) and not np.any(np.asarray(d))
    # inside [-B, B]^d, χ = 1: RΦ_ε = M(1, RN) within η, D^NΦ_ε = g·D^N N with |g - 1| <= β
    x = helpers.uniform(jax.random.key(3), (64, 2), jnp.float64, -rec["B"], rec["B"])
    v, d = vd(net, x)
    vn, dn = vd(run["net"], x)
    assert np.all(np.abs(np.asarray(v - vn)) <= rec["eta"] * (1 + 1e-12))
    gap = np.linalg.norm(np.asarray(d - dn)[:, 0], axis=-1)
    assert np.all(gap <= rec["beta"] * np.linalg.norm(np.asarray(dn)[:, 0], axis=-1) + 1e-12)
    # the envelope is above the errors on the sampled sweep points
    ec = w["envelope_check"]
    assert ec["points"] == 512 and ec["value_violations"] == 0
    assert ec["derivative_violations"] == 0
    assert ec["value_max_error_over_envelope"] <= 1.0 + 1e-12  # = 1 where |u| is the envelope
    e = O.pointwise(net, problem, run["x_sweep"])
    env = global_bound(jrelu.constructions.GlobalRecord(**{
        **rec, "widths": tuple(rec["widths"]), "local_widths": tuple(rec["local_widths"])}),
        np.asarray(run["x_sweep"]))
    assert np.all(e["value"] <= env.value * (1 + 1e-12))
    assert np.all(e["grad"] <= env.derivative * (1 + 1e-12))
    # and the theorem's weighted sups are within ε and Cε^r
    t = w["theorem_check"]
    assert t["value_bound_holds"] and t["grad_bound_holds"] and t["value_bound"] == rec["eps"]
    assert set(w["sweeps"]) == {"2", "3"}


def test_wrap_table_rows(run, capsys):
    experiment.print_table(run["report"], run["out"])
    text = capsys.readouterr().out
    for row in ("wrapped Phi_eps: relative L2 error on the box",
                "wrapped Phi_eps: sup error/(1+|x|^2)", "wrapped Phi_eps: sup error/(1+|x|^3)",
                "guaranteed: eps and C eps^r", "global_wrap: wrote network_global.npz"):
        assert row in text


def test_epsilon_search_fits_the_measured_local_error():
    p = jrelu.pde.HeatSquare(dim=1, T=0.5)  # c = max(1, 2Td) = 1
    exact = jrelu.Network([(jnp.zeros((1, 1)), jnp.zeros(1))])  # N = 0: error |u| on the cube

    def measure(half_width):  # sup over (-h, h) of max(|u|, |u'|) = h² + 1
        return half_width**2 + 1.0, 2.0 * half_width

    eps, tried = O.choose_epsilon(measure, 1.0)
    assert tried[0] == {"epsilon": 4.0, "half_width": 2.0, "value_error": 5.0,
                        "derivative_error": 4.0, "fits": False}
    assert eps == 10.0  # B = 1 fails (5 > 2), so ε = 2·5: B = max(1, 4/10) = 1, δ = 5
    w = O.wrap_global(exact, p, jax.random.key(0), num_points=64)
    assert w["status"] == "built" and w["guaranteed"]["epsilon"] >= 2 * max(
        w["measured"]["local_value_error"], w["measured"]["local_derivative_error"])
    small = O.wrap_global(exact, p, jax.random.key(0), epsilon=0.01, num_points=64)
    assert small["status"] == "skipped" and "exceeds the requested delta" in small["reason"]
    bs = jrelu.pde.make_problem("black_scholes_geometric", dim=1)
    assert O.wrap_global(exact, bs, jax.random.key(0))["status"] == "skipped"
    assert "positive prices" in O.guarantee_line(O.wrap_global(exact, bs, jax.random.key(0)),
                                                 None)


def test_wrap_in_float32():
    p = jrelu.pde.HeatSquare(dim=1, T=0.25)  # c = 1, ν = 2
    net = jrelu.Network([(jnp.ones((1, 1), jnp.float32), jnp.zeros(1, jnp.float32))])  # N = x
    w = O.wrap_global(net, p, jax.random.key(1), num_points=128)
    assert w["status"] == "built" and w["network"].dtype == jnp.float32
    rec = w["record"]
    x = jnp.array([[0.5], [rec.B + 2.0]], jnp.float32)
    v = jrelu.realize(w["network"], x)
    assert v.dtype == jnp.float32 and float(v[1, 0]) == 0.0  # 0 outside the cube
    assert abs(float(v[0, 0]) - 0.5) <= rec.eta * (1 + 1e-6)  # M(1, N(x)) = N(x) within η


def test_global_wrap_config_is_typed_and_optional():
    assert _cfg().global_wrap is None
    cfg = _cfg(global_wrap={"enabled": True, "epsilon": 0.5, "growth_c": 2.0,
                            "growth_nu": 2.0, "num_points": 100})
    assert cfg.global_wrap.enabled and cfg.global_wrap.epsilon == 0.5
    assert cfg.to_dict()["global_wrap"]["num_points"] == 100
    for key, value, msg in (("enabled", 1, "must be true or false"),
                            ("epsilon", -1.0, "must be > 0"), ("num_points", 0, "≥ 1"),
                            ("growth_nu", "2", "must be a number"), ("nope", 1, "unknown key")):
        with pytest.raises(jconfig.ConfigError, match=f"global_wrap.{key}: .*{msg}"):
            _cfg(global_wrap={key: value})


# -- errors.png ----------------------------------------------------------------------------


def test_errors_png_has_the_promised_panels(run):
    pytest.importorskip("matplotlib")
    rep, problem = run["report"], run["problem"]
    pw = O.plot_sample(problem, run["net"], run["x_sweep"], run["xs"], rep["sweep"]["kappa"],
                       n=256)
    assert pw["box"]["in_box"].all() and pw["box"]["r"].shape == (256,)
    path = os.path.join(run["out"], "errors.png")
    fig = O.plot_report(path, rep, pw, run["losses"], problem, wrap_points=run["wrap_points"])
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    axes = fig.axes
    titles = [ax.get_title() for ax in axes]
    assert titles[:2] == ["error of u (raw)", r"error of $\nabla u$ (raw)"]
    assert titles[3].startswith("weighted error of u") and "1+" in titles[3]
    assert titles[4].startswith(r"weighted error of $\nabla u$")
    assert titles[2].startswith("training") and titles[5].startswith("wrapped network")
    for ax in axes:
        assert ax.get_xlabel() and ax.get_ylabel()
    for ax in axes[:2] + axes[3:5]:
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any(lb.startswith("points in the training box") for lb in labels)
        assert any(lb.startswith("sweep points outside the box") for lb in labels)
        assert any(lb.startswith("zero network") for lb in labels)
    weighted = [t.get_text() for t in axes[3].get_legend().get_texts()]
    assert any("largest value in each shell" in lb for lb in weighted)
    floor = [t.get_text() for t in axes[2].get_legend().get_texts() if "noise floor" in
             t.get_text()]
    assert len(floor) == 1 and "2.333" in floor[0]
    (line,) = [ln for ln in axes[2].get_lines() if ln.get_label().startswith("noise floor")]
    assert line.get_ydata()[0] == pytest.approx(4 / 3 + 1.0)
    assert "N" in fig._suptitle.get_text() and "exact solution" in fig._suptitle.get_text()
    # without a wrapped network the last panel says how to read the numbers
    fig = O.plot_report(None, {k: v for k, v in rep.items() if k != "global_wrap"}, pw,
                        run["losses"], problem)
    text = " ".join(t.get_text() for t in fig.axes[5].texts)
    assert "How to read these numbers" in text and "zero network" in text


def test_box_membership_uses_the_box_not_the_radius(run):
    p, net = run["problem"], run["net"]  # box [0, 1]², a compiled network
    # same radius 0.5, one point in [0, 1]², one outside it
    x = jnp.array([[0.3, 0.4], [-0.3, 0.4]])
    pw = O.plot_sample(p, net, x, x[:1], 2.0)
    assert pw["sweep"]["in_box"].tolist() == [True, False]
    assert pw["sweep"]["r"].tolist() == pytest.approx([0.5, 0.5])
    assert math.isclose(pw["sweep"]["value_w"][0] * 1.25, pw["sweep"]["value"][0])


@pytest.mark.slow  # ~2.5 s; the default suite reaches this path through test_cli's quickstart
def test_structured_network_gets_its_guarantee_without_being_densified(run, monkeypatch):
    if not hasattr(jrelu.pde, "AveragingNetwork"):
        pytest.skip("no structured averaging network")
    p = run["problem"]
    s, c = jrelu.pde.path_maps(p, 2, key=jax.random.key(1), dtype=jnp.float64)
    avg = jrelu.pde.AveragingNetwork(run["net"], s, c)
    dense = O.wrap_global(avg, p, jax.random.key(2), num_points=256)  # small: densified
    assert dense["status"] == "built" and isinstance(dense["network"], jrelu.Network)
    monkeypatch.setattr(O, "DENSE_LIMIT", 0)
    w = O.wrap_global(avg, p, jax.random.key(2), num_points=256)
    assert w["status"] == "skipped" and "not built" in w["reason"] and "network" not in w
    for part in ("measured", "guaranteed"):  # the same numbers as for the dense network
        for k in ("local_value_error", "local_derivative_error", "epsilon", "C", "kappa"):
            if k in w[part]:
                assert w[part][k] == pytest.approx(dense[part][k], rel=1e-12)
    line = O.guarantee_line(w, None)
    assert line.startswith("local-to-global guarantee (kappa = 3)") and "[guaranteed" in line
