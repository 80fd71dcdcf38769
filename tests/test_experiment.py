"""The experiment runner's parts (jrelu.experiment), each on its own: fast, no full run."""

import os

import helpers
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jrelu
from jrelu import config as jconfig
from jrelu import experiment

_RAW = {
    "problem": {"name": "heat_square", "dimension": 3, "T": 0.5, "box": [-1.0, 1.0]},
    "network": {"hidden": [8]},
    "training": {"steps": 100, "batch_size": 16},
}


def _cfg(**sections):
    raw = {k: dict(v) for k, v in _RAW.items()}
    for name, values in sections.items():
        if isinstance(values, dict):
            raw.setdefault(name, {}).update(values)
        else:
            raw[name] = values
    return jconfig.parse_config(raw, "t.toml")


@pytest.mark.parametrize("schedule", ["constant", "cosine", "exponential", "piecewise"])
def test_make_optimizer_schedules(schedule):
    cfg = _cfg(optimizer={"schedule": schedule, "learning_rate": 0.1, "warmup_steps": 10,
                          "milestones": [0.5, 0.75], "decay_factor": 0.5,
                          "final_learning_rate": 0.001})
    opt, sched = experiment.make_optimizer(cfg)
    assert isinstance(opt, optax.GradientTransformation)
    assert float(sched(0)) == 0.0 and float(sched(10)) == pytest.approx(0.1)  # warm-up
    if schedule == "constant":
        assert float(sched(99)) == pytest.approx(0.1)
    elif schedule == "piecewise":
        assert float(sched(60)) == pytest.approx(0.05) and float(sched(80)) == pytest.approx(0.025)
    else:
        assert float(sched(100)) == pytest.approx(0.001)


def test_make_optimizer_variants():
    for name in ("adam", "adamw", "sgd"):
        opt, _ = experiment.make_optimizer(_cfg(optimizer={"name": name, "clip_norm": 1.0}))
        net = helpers.np_init(0, (3, 4, 1))  # generic (no init compilations)
        # under jit, as the runner uses it (one compilation, not one per operation and leaf)
        state = jax.jit(opt.init)(net)
        grads = jax.tree_util.tree_map(np.ones_like, net)
        updates, _ = jax.jit(opt.update)(grads, state, net)
        assert jax.tree_util.tree_structure(updates) == jax.tree_util.tree_structure(net)


def test_fingerprint_depends_on_what_determines_the_network():
    a = experiment.fingerprint(_cfg())
    assert a == experiment.fingerprint(_cfg())
    assert a == experiment.fingerprint(_cfg(training={"log_every": 7}))  # logging only
    assert a == experiment.fingerprint(_cfg(sweep={"points": 7}))  # measuring only
    assert a != experiment.fingerprint(_cfg(seed=1))
    assert a != experiment.fingerprint(_cfg(network={"hidden": [9]}))
    assert a != experiment.fingerprint(_cfg(training={"checkpoint_every": 10}))


def test_segments_stop_at_checkpoints_and_log_lines():
    stops, step = [], 0
    while step < 25:
        step = experiment._next_stop(step, 25, 10, 4)
        stops.append(step)
    assert stops == [4, 8, 10, 12, 16, 20, 24, 25]


def test_loss_curve_windows():
    c = experiment.loss_curve(np.arange(1.0, 11.0), points=3)
    assert c == {"window": 4, "step": [4, 8], "loss": [2.5, 6.5]}
    assert experiment.loss_curve(np.zeros(0)) == {"window": 1, "step": [], "loss": []}


def test_sweep_sampler_of_each_kind():
    s = experiment.sweep_sampler(_cfg(), jconfig.build_problem(_cfg()))
    assert isinstance(s, jrelu.samplers.RadialShells) and s.dim == 3
    assert (s.r_min, s.r_max, s.num_shells) == (0.01, 100.0, 16)
    cases = {"uniform_box": jrelu.samplers.UniformBox, "halton": jrelu.samplers.Halton,
             "grid": jrelu.samplers.TensorGrid, "gaussian": jrelu.samplers.Gaussian}
    for name, cls in cases.items():
        cfg = _cfg(sweep={"sampler": name})
        s = experiment.sweep_sampler(cfg, cfg.problem.build())
        assert type(s) is cls
        if name != "gaussian":
            assert np.all(np.asarray(s.low) == -1.0) and np.all(np.asarray(s.high) == 1.0)


def test_square_bound_and_describe_problem():
    cfg = _cfg(solver="constructive")
    problem = cfg.problem.build()
    # |box| + 4·sqrt(2T) = 1 + 4 = 5 -> 8
    assert experiment.square_bound(cfg, problem) == 8.0
    assert experiment.square_bound(_cfg(solver="constructive", constructive={"bound": 3.0}),
                                   problem) == 3.0
    d = experiment.describe_problem(problem)
    assert d == {"name": "heat_square", "description": "heat_square, d = 3, T = 0.5, "
                 "ξ ~ U([-1, 1]^3)", "dim": 3, "T": 0.5, "box": (-1.0, 1.0)}


def test_mc_average_is_the_averaging_network():
    problem = jrelu.pde.HeatSquare(dim=3, T=0.5)
    phi = helpers.np_init(0, (3, 6, 1))  # a generic float64 network
    s, c = jrelu.pde.path_maps(problem, 4, key=jax.random.key(1), dtype=jnp.float64)
    x = problem.sample_box(jax.random.key(2), 16, dtype=jnp.float64)
    v, g = experiment.mc_average(phi, s, c, x)
    net = jrelu.pde.averaging_network(phi, s, c)
    np.testing.assert_allclose(v, np.asarray(jrelu.realize(net, x))[:, 0], rtol=1e-13,
                               atol=1e-14)
    np.testing.assert_allclose(g, np.asarray(jrelu.derivative(net, x))[:, 0, :], rtol=1e-13,
                               atol=1e-14)


def test_run_error_is_raised_for_a_diverged_or_foreign_checkpoint(tmp_path):
    cfg = _cfg(training={"steps": 4, "checkpoint_every": 2})
    problem = cfg.problem.build()
    key = jax.random.key(0)
    net, losses, info = experiment.train_learning(cfg, problem, key, tmp_path, verbose=False)
    assert info["steps"] == 4 and len(losses) == 4 and info["resumed_from_step"] == 0
    other = _cfg(seed=3, training={"steps": 4, "checkpoint_every": 2})
    with pytest.raises(experiment.RunError, match="different config"):
        experiment.train_learning(other, problem, key, tmp_path, verbose=False)
    bad = _cfg(training={"steps": 2}, optimizer={"learning_rate": 1e30, "schedule": "constant"})
    with pytest.raises(experiment.RunError, match="diverged"):
        experiment.train_learning(bad, problem, key, tmp_path / "b", verbose=False)


def test_output_folder_is_checked_without_being_created(tmp_path):
    from jrelu.experiment import RunError, output_folder

    cfg = _cfg(name="t")
    assert output_folder(cfg) == os.path.join("runs", "t")
    assert output_folder(cfg, tmp_path / "a" / "b") == str(tmp_path / "a" / "b")
    assert not (tmp_path / "a").exists()
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(RunError, match=r"^--out .*file: is an existing file, not a folder"):
        output_folder(cfg, f)
    with pytest.raises(RunError, match=r"^--out .*: lies under the file .*file, not a folder"):
        output_folder(cfg, f / "sub" / "dir")


def test_fingerprint_keeps_old_configs_and_sees_the_new_training_keys():
    a = experiment.fingerprint(_cfg())
    assert a == experiment.fingerprint(_cfg(network={"hidden": [8], "members": 1}))
    assert a == experiment.fingerprint(_cfg(averaging={"paths": 8}))  # the average only
    assert a != experiment.fingerprint(_cfg(network={"members": 2}))
    assert a != experiment.fingerprint(_cfg(averaging={"tau": 0.1}))
    assert a != experiment.fingerprint(_cfg(averaging={"enlarge": 0.5}))
    split = experiment.fingerprint(_cfg(averaging={"tau": 0.1}))
    assert split == experiment.fingerprint(_cfg(averaging={"tau": 0.1, "inputs": "box"}))
    assert split != experiment.fingerprint(_cfg(averaging={"tau": 0.1, "inputs": "paths"}))
    assert a == experiment.fingerprint(_cfg(averaging={"inputs": "paths"}))  # τ = 0: unused
    assert a != experiment.fingerprint(_cfg(training={"target_paths": 2}))
    assert a != experiment.fingerprint(_cfg(training={"normalize": True}))


def test_scales_fold_is_exact_on_dyadic_data_at_kinks():
    from helpers import dyadic_network, plant_kinks

    rng = np.random.default_rng(3)
    x = np.array([0.25, -0.5, 0.75])  # a standardized point, kinks of Φ planted there
    net = plant_kinks(dyadic_network(rng, (3, 6, 5, 1)), x, rng)
    sc = experiment.Scales((0.5, -1.25, 2.0), (0.25, 2.0, 4.0), 3.5, 8.0)
    folded = sc.fold(net)
    assert folded.widths == net.widths
    m, s = np.array(sc.input_mean), np.array(sc.input_std)
    xs = np.stack([x, x + 0.125, x - 0.375])
    xo = xs * s + m  # the original points: kinks of the folded network at the first
    np.testing.assert_array_equal(jrelu.realize(folded, xo),
                                  3.5 + 8.0 * np.asarray(jrelu.realize(net, xs)))
    np.testing.assert_array_equal(jrelu.derivative(folded, xo),
                                  8.0 * np.asarray(jrelu.derivative(net, xs)) / s)
    assert int(jrelu.kink_report(net, x[None]).point_counts[0]) > 0  # kinks really there


def test_normalized_training_data_and_the_returned_network(tmp_path):
    cfg = _cfg(dtype="float64", network={"hidden": [8], "members": 2},
               training={"steps": 3, "batch_size": 16, "normalize": True, "target_paths": 2,
                         "antithetic_targets": True},
               averaging={"tau": 0.125, "paths": 4, "inputs": "paths"})
    problem = cfg.problem.build()
    data, sc = experiment.training_data(cfg, problem, jax.random.key(1))
    assert data is experiment.training_data(cfg, problem, jax.random.key(1))[0]
    x, y = data(jax.random.key(2), 20000)
    np.testing.assert_allclose(np.mean(x, 0), 0.0, atol=0.05)
    np.testing.assert_allclose(np.std(x, 0), 1.0, atol=0.05)
    y = np.asarray(y)  # the test's statistics in NumPy
    assert abs(float(np.mean(y))) < 0.05 and abs(float(np.std(y)) - 1.0) < 0.05
    assert experiment.training_data(_cfg(), _cfg().problem.build(), jax.random.key(1))[1] \
        is None
    net, losses, info = experiment.train_learning(cfg, problem, jax.random.key(0), tmp_path,
                                                  verbose=False)
    sc0 = experiment.training_data(cfg, problem, jax.random.fold_in(jax.random.key(0), 30))[1]
    assert net.widths == (3, 16, 1) and info["normalized"]["output_std"] == sc0.output_std
    # the returned network is the trained one (in the checkpoint, standardized coordinates)
    # averaged and folded: x -> mu + sigma R Phi((x - m)/s)
    trained = jrelu.io.load_checkpoint(tmp_path / "checkpoint.npz").net
    trained = jrelu.pde.ensemble_average(trained, members=2)
    xs = np.asarray(problem.sample_box(jax.random.key(5), 256))
    m, s = np.array(sc0.input_mean), np.array(sc0.input_std)
    # the affine maps in float64 NumPy (eager jnp would compile each operation)
    np.testing.assert_allclose(jrelu.realize(net, xs),
                               sc0.output_mean + sc0.output_std
                               * np.asarray(jrelu.realize(trained, (xs - m) / s)), rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(jrelu.derivative(net, xs),
                               sc0.output_std * np.asarray(jrelu.derivative(trained, (xs - m) / s))
                               / s, rtol=1e-12, atol=1e-12)
    floor = experiment.noise_floor_as_trained(cfg, problem, jax.random.key(0))
    assert floor["inputs"] == "paths" and floor["target_paths"] == 2
    # the losses are in the targets' units: at least the noise floor, up to sampling
    assert float(np.mean(losses)) > 0.5 * floor["value"]


def test_ensemble_split_training_resumes_and_averages(tmp_path):
    cfg = _cfg(network={"hidden": [8], "members": 2},
               training={"steps": 4, "checkpoint_every": 2, "batch_size": 16},
               averaging={"tau": 0.125, "paths": 4, "enlarge": 0.5, "moment_matching": False})
    problem = cfg.problem.build()
    key = jax.random.key(0)
    assert experiment.training_horizon_box(cfg, problem) == (0.375, (-1.5, 1.5))
    net, losses, info = experiment.train_learning(cfg, problem, key, tmp_path, verbose=False)
    assert net.widths == (3, 16, 1) and info["members"] == 2 and info["horizon"] == 0.375
    assert info["box"] == [-1.5, 1.5] and len(losses) == 4
    again, losses2, info2 = experiment.train_learning(cfg, problem, key, tmp_path,
                                                      verbose=False)  # resumed at the end
    assert info2["resumed_from_step"] == 4
    np.testing.assert_array_equal(jrelu.flatten(again), jrelu.flatten(net))
    avg, av = experiment.average_learned(cfg, problem, net, key, verbose=False)
    assert isinstance(avg, jrelu.pde.AveragingNetwork) and avg.members == 2
    assert avg.num_paths == 4 and av["dense_widths"] == [3, 64, 1]
    np.testing.assert_array_equal(avg.shifts[0], -avg.shifts[1])  # antithetic by default


def test_run_experiment_end_to_end_with_ensemble_and_averaging(tmp_path):
    from jrelu.io import load_averaging_network

    cfg = _cfg(network={"hidden": [8], "members": 2}, training={"steps": 3, "batch_size": 8},
               averaging={"tau": 0.125, "paths": 4, "enlarge": 0.5},
               sweep={"points": 64, "box_points": 256, "num_shells": 2})
    report = experiment.run_experiment(cfg, tmp_path, verbose=False, plot=False)
    assert report["network"]["kind"] == "averaging_network"
    assert report["network"]["num_paths"] == 4 and report["averaging"]["tau"] == 0.125
    avg = load_averaging_network(tmp_path / "network.npz")
    xs = cfg.problem.build().sample_box(jax.random.key(5), 32)
    e = jrelu.pde.relative_l2_errors(avg, cfg.problem.build(), xs)
    assert np.isfinite(e.grad_rel_l2) and 0 <= report["box_errors"]["grad_rel_l2"] < np.inf
