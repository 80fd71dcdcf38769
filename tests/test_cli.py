"""`jrelu run`: configs and their validation, npz save/load, checkpoints and resume, reports."""

import contextlib
import io
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import helpers
import jax
import numpy as np
import pytest

import jrelu
from jrelu import config as jconfig
from jrelu.cli import main
from jrelu.io import (
    load_checkpoint,
    load_network,
    save_checkpoint,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*.toml"))


def _load(path):
    """The network of a run: a plain network file, or (runs with ``[averaging] tau > 0``) an
    averaging network file."""
    try:
        return load_network(path)
    except ValueError as e:
        if "load_averaging_network" not in str(e):
            raise
        return jrelu.io.load_averaging_network(path)


# -- configs -----------------------------------------------------------------------------------


def test_shipped_configs_exist_and_validate():
    names = {p.stem for p in CONFIGS}
    assert {"quickstart", "heat_d100", "black_scholes_geometric_d50", "constructive_heat_d20",
            "global_square_d10"} <= names
    for path in CONFIGS:
        cfg = jconfig.load_config(path)
        assert cfg.name == path.stem
        jconfig.build_problem(cfg)


def test_packaged_default_config_is_configs_quickstart():
    assert jconfig.default_config_text() == (ROOT / "configs" / "quickstart.toml").read_text()
    cfg = jconfig.load_config()
    assert cfg.problem.name == "heat_square" and cfg.problem.dimension == 10


def _write(tmp_path, text, name="c.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


_BASE = """
[problem]
name = "heat_square"
dimension = 3
[network]
hidden = [8]
[training]
steps = 10
batch_size = 16
"""


@pytest.mark.parametrize("edit, key, words", [
    (("dimension = 3", "dimensoin = 3"), "problem.dimensoin", "unknown key"),
    (("dimension = 3", "dimension = -2"), "problem.dimension", "≥ 1"),
    (("dimension = 3", "dimension = 2.5"), "problem.dimension", "integer"),
    (("steps = 10", "steps = \"ten\""), "training.steps", "integer"),
    (("hidden = [8]", "hidden = [8, 0]"), "network.hidden[1]", "≥ 1"),
    (("hidden = [8]", "hidden = []"), "network.hidden", "non-empty"),
    (("name = \"heat_square\"", "name = \"wave\""), "problem.name", "one of"),
    (("dimension = 3", "dimension = 3\nstrike = 5.0"), "problem.strike", "black_scholes"),
    (("dimension = 3", "dimension = 3\nbox = [1.0, 0.0]"), "problem.box", "a < b"),
    (("dimension = 3", "dimension = 3\nT = 0.0"), "problem.T", "> 0"),
    (("[training]", "[trainig]"), "trainig", "unknown key"),
    (("steps = 10", ""), "training.steps", "missing"),
])
def test_invalid_configs_give_one_line_naming_the_key_and_exit_2(tmp_path, capsys, edit, key,
                                                                  words):
    path = _write(tmp_path, _BASE.replace(*edit))
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("jrelu run: error: c.toml: "), err
    assert key in err and words in err, err
    assert not (tmp_path / "o").exists()  # nothing started


def test_more_config_errors(tmp_path, capsys):
    assert main(["run", str(tmp_path / "missing.toml")]) == 2
    assert "no such config file" in capsys.readouterr().err
    assert main(["run", str(_write(tmp_path, "seed = \n"))]) == 2
    assert "invalid TOML" in capsys.readouterr().err
    assert main(["run", str(_write(tmp_path, _BASE)), "--set", "training.steps=0"]) == 2
    assert "training.steps" in capsys.readouterr().err
    bs = _BASE.replace("heat_square", "black_scholes_geometric") + "[sweep]\nsampler = " \
        "\"gaussian\"\n"
    assert main(["run", str(_write(tmp_path, bs))]) == 2
    assert "sweep.sampler" in capsys.readouterr().err


def test_config_error_in_a_subprocess_has_no_traceback(tmp_path):
    path = _write(tmp_path, _BASE.replace("dimension = 3", "dimension = -1"))
    r = subprocess.run([sys.executable, "-m", "jrelu", "run", str(path)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr
    assert "problem.dimension" in r.stderr


def test_bench_still_dispatches(capsys):
    assert main(["bench", "no-such-suite"]) == 2
    assert "unknown benchmark suite" in capsys.readouterr().out


# -- reduced-size runs of the shipped configs ----------------------------------------------------

_SMALL = {
    "quickstart": ["dtype=\"float64\"", "network.hidden=[16, 16]", "training.steps=60",
                   "training.batch_size=64", "training.checkpoint_every=20",
                   "training.log_every=20", "sweep.points=256", "sweep.box_points=1024",
                   "averaging.paths=20", "global_wrap.num_points=256"],
    "heat_d100": ["problem.dimension=5", "network.hidden=[16]", "training.steps=20",
                  "training.batch_size=32", "sweep.points=128", "sweep.box_points=256",
                  "averaging.paths=10", "global_wrap.num_points=256"],
    "black_scholes_geometric_d50": ["problem.dimension=3", "network.hidden=[16]",
                                    "training.steps=20", "training.batch_size=32",
                                    "sweep.points=128", "sweep.box_points=256",
                                    "averaging.paths=6"],
    "constructive_heat_d20": ["problem.dimension=3", "constructive.paths=2",
                              "constructive.paths_study=[1, 2, 8]", "constructive.square_depth=4",
                              "sweep.points=128", "sweep.box_points=256"],
    "global_square_d10": ["problem.dimension=2", "constructive.epsilon=0.5", "sweep.points=512",
                          "sweep.box_points=256"],
}


def _run(name, out, extra=(), plot=True):
    sets = [a for s in _SMALL[name] + list(extra) for a in ("--set", s)]
    assert main(["run", str(ROOT / "configs" / f"{name}.toml"), "--out", str(out), "--quiet",
                 *sets] + ([] if plot else ["--no-plot"])) == 0
    return json.loads((out / "report.json").read_text())


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory):
    """One reduced quickstart run (with its plot): its folder, report and printed output,
    shared by the tests that need a finished run."""
    out = tmp_path_factory.mktemp("quickstart")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rep = _run("quickstart", out, plot=True)
    return out, rep, buf.getvalue()


@pytest.mark.parametrize("name", sorted(_SMALL))
def test_reduced_run_of_every_shipped_config(tmp_path, capsys, request, name):
    plot = name in ("quickstart", "constructive_heat_d20", "global_square_d10")
    if name == "quickstart":  # the shared run
        tmp_path, rep, out = request.getfixturevalue("quickstart_run")
    else:
        rep = _run(name, tmp_path, plot=plot)
        out = capsys.readouterr().out
    assert "relative L2 error on the box" in out and "wrote" in out
    assert {"report.json", "network.npz"} <= {p.name for p in tmp_path.iterdir()}
    assert not plot or (tmp_path / "errors.png").stat().st_size > 10_000
    assert rep["config"]["name"] == name and rep["versions"]["jax"] == jax.__version__
    assert set(rep["versions"]) >= {"jrelu", "jax", "optax", "python"}
    be = rep["box_errors"]
    assert all(np.isfinite(be[k]) for k in ("value_rel_l2", "grad_rel_l2"))
    # the saved network reproduces the reported box errors
    net = _load(tmp_path / "network.npz")
    cfg = jconfig.load_config(ROOT / "configs" / f"{name}.toml", _SMALL[name])
    assert cfg.to_dict() == rep["config"]  # the report echoes the typed config
    problem = jconfig.build_problem(cfg)
    key = jax.random.key(cfg.seed)
    xs = problem.sample_box(jax.random.fold_in(key, 2), cfg.sweep.box_points, dtype=net.dtype)
    again = jrelu.pde.relative_l2_errors(net, problem, xs, chunk_size=cfg.sweep.chunk_size)
    assert again.to_dict() == be
    if name == "constructive_heat_d20":
        c = rep["constructive"]
        assert [r["paths"] for r in c["paths_study"]] == [1, 2, 8]
        built, pathwise = c["built_vs_pathwise"]["grad_rel_l2"]
        assert built == pytest.approx(pathwise, rel=1e-10)
    if name == "global_square_d10":
        t = rep["global"]["theorem_check"]
        assert t["value_bound_holds"] and t["grad_bound_holds"]
    if "training" in rep:
        assert len(rep["training"]["loss_curve"]["loss"]) > 0


def test_checkpoint_of_another_config_is_refused(tmp_path, capsys, quickstart_run):
    shutil.copytree(quickstart_run[0], tmp_path, dirs_exist_ok=True)  # a finished run's folder
    assert (tmp_path / "checkpoint.npz").exists()
    sets = [a for s in _SMALL["quickstart"] + ["seed=1"] for a in ("--set", s)]
    cmd = ["run", str(ROOT / "configs" / "quickstart.toml"), "--out", str(tmp_path), "--quiet",
           "--no-plot", *sets]
    assert main(cmd) == 2
    assert "different config" in capsys.readouterr().err
    assert main(cmd + ["--fresh"]) == 0
    assert json.loads((tmp_path / "report.json").read_text())["config"]["seed"] == 1


def _untimed(report):
    """The report without its wall times (every key that names seconds)."""
    if isinstance(report, dict):
        return {k: _untimed(v) for k, v in report.items() if "second" not in k}
    if isinstance(report, list):
        return [_untimed(v) for v in report]
    return report


def _cache_files(folder):
    return sorted(p.name for p in pathlib.Path(folder).iterdir()) if folder.exists() else []


def test_killed_run_resumes_to_the_same_report_and_the_compile_cache_changes_no_number(
        tmp_path):
    """SIGKILL `jrelu run` mid-training, run it again: it resumes from the checkpoint and the
    final report numbers and network equal those of an uninterrupted run (float64, same seed).

    The compilation cache: the uninterrupted run b runs without it (--no-compile-cache); the
    killed and resumed run a fills a fresh cache; a third run c (b's arguments) then finds
    every program it needs in that cache (it adds no entry) and writes bitwise b's
    network.npz and b's report, timing aside."""
    steps = 600
    sets = ["dtype=\"float64\"", "network.hidden=[16, 16]", f"training.steps={steps}",
            "training.batch_size=64", "training.checkpoint_every=50", "training.log_every=50",
            "sweep.points=256", "sweep.box_points=1024"]
    args = [sys.executable, "-m", "jrelu", "run", str(ROOT / "configs" / "quickstart.toml"),
            "--no-plot", *[a for s in sets for a in ("--set", s)]]
    cache = tmp_path / "cache"
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_COMPILATION_CACHE_DIR": str(cache),
           "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
    env.pop("JRELU_COMPILE_CACHE", None)
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    # the uninterrupted run b goes on beside the killed and resumed run a
    uninterrupted = subprocess.Popen(args + ["--out", str(b), "--no-compile-cache"], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    proc = subprocess.Popen(args + ["--out", str(a)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    ckpt = a / "checkpoint.npz"
    deadline = time.time() + 300
    while not ckpt.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert ckpt.exists(), proc.stderr.read().decode()
    step = load_checkpoint(ckpt).step
    assert 0 < step < steps and not (a / "report.json").exists()
    r1 = subprocess.run(args + ["--out", str(a)], env=env, capture_output=True, text=True,
                        timeout=600)
    assert r1.returncode == 0, r1.stderr
    assert f"resuming from {ckpt} at step" in r1.stdout
    _, err = uninterrupted.communicate(timeout=600)
    assert uninterrupted.returncode == 0, err.decode()
    ra = json.loads((a / "report.json").read_text())
    rb = json.loads((b / "report.json").read_text())
    assert ra["training"]["resumed_from_step"] > 0 and rb["training"]["resumed_from_step"] == 0
    assert ra["box_errors"] == rb["box_errors"]
    for part in ("value", "derivative"):
        for k in ("sup", "mean", "argmax", "sup_unweighted"):
            assert ra["sweep"][part][k] == rb["sweep"][part][k]
    assert ra["training"]["loss_curve"] == rb["training"]["loss_curve"]
    assert ra["training"]["final_loss"] == rb["training"]["final_loss"]
    na, nb = _load(a / "network.npz"), _load(b / "network.npz")
    assert type(na) is type(nb)
    la, lb = jax.tree.leaves(na), jax.tree.leaves(nb)
    assert len(la) == len(lb) > 0
    for x, y in zip(la, lb):
        np.testing.assert_array_equal(x, y)
    # the compilation cache: filled by a (b wrote nothing); c runs entirely from it
    filled = _cache_files(cache)
    assert len(filled) > 10, filled
    r2 = subprocess.run(args + ["--out", str(c)], env=env, capture_output=True, text=True,
                        timeout=600)
    assert r2.returncode == 0, r2.stderr
    assert _cache_files(cache) == filled  # every compilation of c was a cache hit
    assert (c / "network.npz").read_bytes() == (b / "network.npz").read_bytes()
    rc = json.loads((c / "report.json").read_text())
    assert _untimed(rc) == _untimed(rb)
    assert rc["sweep"]["value"]["sup"] == rb["sweep"]["value"]["sup"]  # (not a timing key)


def test_missing_matplotlib_is_refused_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # find_spec → None: not installed
    assert main(["run", "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("jrelu run: error: errors.png needs matplotlib: pip install 'jrelu[plot]', "
                   "or pass --no-plot")
    assert not any(tmp_path.iterdir())  # refused before any work was done


# -- user errors: one line on stderr, exit code 2, nothing started -------------------------------

_TINY = ["network.hidden=[4]", "network.members=1", "training.steps=4", "training.batch_size=8",
         "training.checkpoint_every=2", "sweep.points=16", "sweep.box_points=32"]


def _one_line_error(capsys, *words):
    captured = capsys.readouterr()
    err = captured.err
    assert err.count("\n") == 1 and err.startswith("jrelu run: error: "), err
    assert "Traceback" not in err
    for w in words:
        assert w in err, err
    return err


def _tiny_args(out, *extra):
    return ["run", str(ROOT / "configs" / "quickstart.toml"), "--out", str(out), "--quiet",
            "--no-plot", *[a for s in _TINY + list(extra) for a in ("--set", s)]]


def test_bad_out_is_one_line_and_exit_2(tmp_path, capsys):
    afile = tmp_path / "a.txt"
    afile.write_text("keep me")
    assert main(_tiny_args(afile)) == 2
    _one_line_error(capsys, f"--out {afile}: is an existing file")
    assert main(_tiny_args(afile / "sub" / "dir")) == 2
    _one_line_error(capsys, "--out", f"lies under the file {afile}")
    assert main(_tiny_args(afile) + ["--check"]) == 2  # --check checks it too
    _one_line_error(capsys, "is an existing file")
    assert afile.read_text() == "keep me"
    assert main(_tiny_args("/proc/jrelu-no-such-folder/run")) == 2  # unwritable, even as root
    _one_line_error(capsys, "--out /proc/jrelu-no-such-folder/run: cannot write the output "
                            "folder")
    if os.geteuid() != 0:  # root may write anywhere: only then a read-only folder is testable
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        assert main(_tiny_args(ro / "x")) == 2
        _one_line_error(capsys, "cannot write the output folder")


@pytest.mark.parametrize("content", [b"", b"garbage, not a zip", "truncated"])
def test_corrupt_checkpoint_in_the_output_folder_names_it_and_suggests_fresh(tmp_path, capsys,
                                                                              content):
    ckpt = tmp_path / "checkpoint.npz"
    if content == "truncated":
        save_checkpoint(ckpt, helpers.np_init(0, (10, 4, 1)), opt_state=None, step=2,
                        key=jax.random.key(0))
        content = ckpt.read_bytes()[:-40]
    ckpt.write_bytes(content)
    assert main(_tiny_args(tmp_path)) == 2
    _one_line_error(capsys, f"{ckpt}: cannot resume from this checkpoint", "use --fresh")
    assert ckpt.read_bytes() == content  # left as it was
    assert not (tmp_path / "report.json").exists()


def test_checkpoint_with_a_torn_history_is_refused(tmp_path, capsys):
    ckpt = tmp_path / "checkpoint.npz"
    cfg = jconfig.load_config(ROOT / "configs" / "quickstart.toml", _TINY)
    from jrelu.experiment import fingerprint, make_optimizer

    net = helpers.np_init(0, (10, 4, 1), np.float32)  # a generic network
    save_checkpoint(ckpt, net, opt_state=make_optimizer(cfg)[0].init(net), step=2,
                    key=jax.random.key(0), extra={"loss": np.zeros(1), "kinks": np.zeros(1),
                                                  "seconds": np.zeros(())},
                    metadata={"fingerprint": fingerprint(cfg)})
    assert main(_tiny_args(tmp_path)) == 2
    _one_line_error(capsys, "does not match its loss history", "use --fresh")


def test_bad_set_names_set_not_the_config_file(tmp_path, capsys):
    path = _write(tmp_path, _BASE)
    out = ["--out", str(tmp_path / "o")]
    assert main(["run", str(path), *out, "--set", "training.steps=\"ten\""]) == 2
    _one_line_error(capsys, "jrelu run: error: --set: training.steps: must be an integer, "
                            "got a string 'ten'")
    assert main(["run", str(path), *out, "--set", "network.hidden=[8, 0]"]) == 2
    _one_line_error(capsys, "--set: network.hidden[1]:")
    assert main(["run", str(path), *out, "--set", "training=3"]) == 2
    _one_line_error(capsys, "--set: training: must be a table")
    # a wrong value in the file is still the file's, with --set of other keys
    bad = _write(tmp_path, _BASE.replace("steps = 10", "steps = \"ten\""), "bad.toml")
    assert main(["run", str(bad), *out, "--set", "seed=3"]) == 2
    _one_line_error(capsys, "jrelu run: error: bad.toml: training.steps: must be an integer")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("name", ["/abs/path", "../x", "..", ".", "a/b", "a\\b", "", " ",
                                  "x\ny"])
def test_a_run_name_that_is_a_path_is_refused(tmp_path, capsys, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path, _BASE)
    assert main(["run", str(path), "--set", f"name={json.dumps(name)}"]) == 2
    _one_line_error(capsys, "--set: name: must be a plain name for the folder runs/<name>")
    text = _BASE.replace("[problem]", f"name = {json.dumps(name)}\n[problem]")
    assert main(["run", str(_write(tmp_path, text))]) == 2
    _one_line_error(capsys, "c.toml: name: must be a plain name", "not a path")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]  # nothing written


def test_check_validates_and_prints_the_plan_without_running(tmp_path, capsys):
    assert main(["run", str(ROOT / "configs" / "quickstart.toml"), "--out", str(tmp_path / "o"),
                 "--check", "--set", "training.steps=7"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("config quickstart: valid\n")
    assert "7 steps" in out and f"output: {tmp_path / 'o'}\n" in out
    assert not (tmp_path / "o").exists()
    assert main(["run", "--check", "--set", "problem.dimension=0"]) == 2
    _one_line_error(capsys, "--set: problem.dimension: must be an integer ≥ 1, got 0")
    for cfg in CONFIGS:
        assert main(["run", str(cfg), "--check", "--out", str(tmp_path / cfg.stem)]) == 0
    assert capsys.readouterr().out.count("valid\n") == len(CONFIGS)


# -- smoke tests: the demo and every bench suite through the CLI ---------------------------------


def test_demo_through_the_cli(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "D^N at x = 0 for three ReLU networks" in out
    assert out.count("equal: True") == 3


def test_bench_smoke_through_the_cli(capsys, monkeypatch):
    from jrelu import bench

    assert main(["bench", "--smoke", "derivative"]) == 0  # one suite for real, tiny sizes
    out = capsys.readouterr().out
    assert "== jrelu bench derivative ==" in out
    calls = []  # every suite: the CLI hands --smoke on, so each gets its SMOKE sizes
    for name in bench.SUITES:
        monkeypatch.setitem(bench.SUITES, name,
                            lambda _n=name, **kw: calls.append((_n, kw)) or {"suite": _n})
    assert main(["bench", "--smoke"]) == 0
    assert calls == [(n, bench.SMOKE[n]) for n in bench.SUITES]
    calls.clear()
    assert main(["bench", "train"]) == 0
    assert calls == [("train", {})]


def test_corrupt_sweep_checkpoint_is_refused_naming_it(tmp_path, capsys):
    sweep_ckpt = tmp_path / "sweep_checkpoint.json"
    sweep_ckpt.write_text("{not json")
    args = _tiny_args(tmp_path, "solver=\"global\"", "problem.dimension=1",
                      "constructive.epsilon=0.5")
    assert main(args) == 2
    _one_line_error(capsys, f"{sweep_ckpt}: cannot resume the sweep", "use --fresh")
    assert sweep_ckpt.read_text() == "{not json"
    from jrelu.experiment import _prepare_output  # what --fresh does before the run

    _prepare_output(jconfig.load_config(None, ["name=\"t\""]), tmp_path, fresh=True)
    assert not sweep_ckpt.exists()


# -- the persistent compilation cache of the CLI -------------------------------------------------


def test_compile_cache_folder_switches_and_unwritable_folder(tmp_path, monkeypatch, capsys):
    from jrelu.cli import default_compile_cache_dir, enable_compile_cache

    names = ("jax_compilation_cache_dir", "jax_enable_compilation_cache",
             "jax_persistent_cache_min_compile_time_secs")
    saved = {n: getattr(jax.config, n) for n in names}
    try:
        jax.config.update("jax_compilation_cache_dir", None)  # as without JAX's variable
        monkeypatch.delenv("JRELU_COMPILE_CACHE", raising=False)
        monkeypatch.delenv("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", raising=False)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        expected = str(tmp_path / "xdg" / "jrelu" / "jax")
        assert default_compile_cache_dir() == expected
        assert enable_compile_cache() == expected and os.path.isdir(expected)
        assert jax.config.jax_compilation_cache_dir == expected
        assert jax.config.jax_persistent_cache_min_compile_time_secs == 0.0
        monkeypatch.delenv("XDG_CACHE_HOME")
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        assert default_compile_cache_dir() == str(tmp_path / "home" / ".cache" / "jrelu" / "jax")
        # a folder named by JAX's own variable (here: already in the config) is kept
        jax.config.update("jax_compilation_cache_dir", str(tmp_path / "mine"))
        assert enable_compile_cache() == str(tmp_path / "mine")
        # an unwritable folder (under a file) turns the cache off, silently
        afile = tmp_path / "a-file"
        afile.write_text("x")
        jax.config.update("jax_compilation_cache_dir", None)
        monkeypatch.setenv("XDG_CACHE_HOME", str(afile))
        assert enable_compile_cache() is None
        assert jax.config.jax_enable_compilation_cache is False
        assert capsys.readouterr() == ("", "")
        jax.config.update("jax_enable_compilation_cache", True)
        # the two switches
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert enable_compile_cache(disable=True) is None
        assert jax.config.jax_enable_compilation_cache is False
        jax.config.update("jax_enable_compilation_cache", True)
        for off in ("0", "off", "False", " no "):
            monkeypatch.setenv("JRELU_COMPILE_CACHE", off)
            assert enable_compile_cache() is None
    finally:
        for n, v in saved.items():
            jax.config.update(n, v)
    for command in ("run", "demo", "bench"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = " ".join(capsys.readouterr().out.split())
        assert "--no-compile-cache" in out and "JRELU_COMPILE_CACHE=0" in out, out
        assert "~/.cache/jrelu/jax" in out
