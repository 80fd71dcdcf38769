"""scripts/device-check: runs on CPU in a subprocess and writes its JSON; a failed math
check makes the exit code nonzero. The default test runs one check and one bench suite at
smoke sizes; the full run (every check in float32 and float64, every bench suite) is slow."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import pytest

from jrelu import bench

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "device-check"


def _run(tmp_path, *args):
    out = tmp_path / "dc.json"
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    r = subprocess.run([sys.executable, str(SCRIPT), str(out), "--sizes", "smoke", *args],
                       capture_output=True, text=True, timeout=900, env=env)
    return r, (json.loads(out.read_text()) if out.exists() else None)


def _check_device(rep):
    dev = rep["device"]
    assert dev["backend"] == "cpu" and dev["num_devices"] >= 1
    assert dev["x64"] is True and dev["jax"] and dev["jrelu"]
    assert {"kind", "platform", "memory_bytes", "id"} <= set(dev["devices"][0])
    assert dev["host_memory_bytes"] is None or dev["host_memory_bytes"] > 0


def test_device_check_runs_on_cpu_and_writes_its_json(tmp_path):
    r, rep = _run(tmp_path, "--checks", "kink_values", "--bench", "derivative")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "math checks passed" in r.stdout
    _check_device(rep)
    assert rep["passed"] is True and rep["sizes"] == "smoke"
    assert [(c["name"], c["dtype"], c["passed"]) for c in rep["checks"]] == [
        ("kink_values", "float32", True), ("kink_values", "float64", True)]
    (b,) = rep["bench"]
    assert b["suite"] == "derivative" and b["ok"], b
    assert b["sizes"]["batch"] == bench.SMOKE["derivative"]["batch"]
    assert b["result"]["speedup_vs_vmap_grad"] > 0


def _load_script():
    loader = importlib.machinery.SourceFileLoader("device_check", str(SCRIPT))
    spec = importlib.util.spec_from_loader("device_check", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_a_failed_math_check_is_recorded_and_exits_nonzero(tmp_path, monkeypatch, capsys):
    dc = _load_script()

    def wrong(dtype):
        raise AssertionError("D^N(0) = 7, by hand 5")

    def crash(dtype):
        raise RuntimeError("no such device")

    monkeypatch.setitem(dc.CHECKS, "kink_values", wrong)
    monkeypatch.setitem(dc.CHECKS, "chain_rule", crash)
    out = tmp_path / "x.json"
    code = dc.main([str(out), "--no-bench", "--no-float64", "--checks", "kink_values",
                    "chain_rule", "sweep_device_layouts"])
    assert code == 1
    rep = json.loads(out.read_text())
    assert rep["passed"] is False
    got = {c["name"]: c for c in rep["checks"]}
    assert got["float64"]["skipped"] and "--no-float64" in got["float64"]["detail"]
    assert got["kink_values"]["passed"] is False and "by hand 5" in got["kink_values"]["detail"]
    assert got["chain_rule"]["passed"] is False
    assert got["chain_rule"]["detail"] == "RuntimeError: no such device"
    assert got["sweep_device_layouts"]["passed"] is None  # one CPU device: skipped
    assert "FAILED: kink_values[float32], chain_rule[float32]" in capsys.readouterr().out
    # sizes: every suite gets sizes it accepts; unknown suites fall back to their smoke sizes
    for profile in dc.SIZES:
        for name in bench.SUITES:
            sizes = dc.bench_sizes(profile, name)
            assert set(sizes) <= set(dc.inspect.signature(bench.SUITES[name]).parameters)
    with pytest.raises(SystemExit):
        dc.main([str(out), "--bench", "no-such-suite"])


@pytest.mark.slow
def test_full_device_check_on_cpu(tmp_path):
    r, rep = _run(tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    _check_device(rep)
    ran = {(c["name"], c["dtype"]) for c in rep["checks"] if c["passed"]}
    for dtype in ("float32", "float64"):
        for name in ("kink_values", "chain_rule", "autodiff_agrees", "sweep_chunk_sizes"):
            assert (name, dtype) in ran
    assert [b["suite"] for b in rep["bench"]] == list(bench.SUITES)
    assert all(b["ok"] for b in rep["bench"]), [b.get("error") for b in rep["bench"]]
