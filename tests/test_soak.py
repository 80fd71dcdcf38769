"""Kill-and-resume soak of ``jrelu run`` (training): SIGKILL at 20 random moments.

A tiny float64 learning run (quickstart, widths (10, 8, 8, 1), 200 steps, a checkpoint every
5 steps, a 512-point sweep) runs once uninterrupted. Then chains of runs into fresh output
folders: each chain launches the same command, SIGKILLs it at a random moment (startup,
training, a checkpoint being written, the box errors, the sweep and its checkpoint, the
final files), launches it again (it resumes), kills it again, up to 5 kills a chain (a run
that ends before its moment ends the chain), then lets it finish; chains go on until 20
kills were made. Every chain must end bit-identical to the uninterrupted run: report.json
without its timings, and every array of network.npz. Marked slow (5-6 minutes on the shared
2-core machine).
"""

import json
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SETS = ["dtype=\"float64\"", "network.hidden=[8, 8]", "training.steps=200",
        "training.batch_size=32", "training.checkpoint_every=5", "training.log_every=20",
        "sweep.points=512", "sweep.box_points=256", "sweep.chunk_size=64"]
ARGS = [sys.executable, "-m", "jrelu", "run", str(ROOT / "configs" / "quickstart.toml"),
        "--no-plot", "--quiet", *[a for s in SETS for a in ("--set", s)]]
ENV = {**os.environ, "JAX_PLATFORMS": "cpu"}
KILLS, KILLS_PER_CHAIN = 20, 5
TIMING_KEYS = {"seconds", "points_per_second", "resumed_from_step"}


def _without_timings(obj):
    if isinstance(obj, dict):
        return {k: _without_timings(v) for k, v in obj.items() if k not in TIMING_KEYS}
    if isinstance(obj, list):
        return [_without_timings(v) for v in obj]
    return obj


def _result(out: pathlib.Path):
    report = _without_timings(json.loads((out / "report.json").read_text()))
    with np.load(out / "network.npz", allow_pickle=False) as f:
        arrays = {n: f[n] for n in f.files}
    return report, arrays


def _finish(out: pathlib.Path):
    r = subprocess.run(ARGS + ["--out", str(out)], env=ENV, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stderr
    return r


@pytest.mark.slow
def test_sigkill_at_20_random_moments_then_resume_is_bit_identical(tmp_path):
    t0 = time.perf_counter()
    _finish(tmp_path / "reference")
    span = time.perf_counter() - t0
    ref_report, ref_arrays = _result(tmp_path / "reference")
    rng = random.Random(12)
    kills, resumed, chain = 0, 0, 0
    while kills < KILLS:
        out = tmp_path / f"chain{chain}"
        chain += 1
        done = 0
        while done < KILLS_PER_CHAIN and kills < KILLS:
            proc = subprocess.Popen(ARGS + ["--out", str(out)], env=ENV,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            moment = rng.uniform(0.2, span)
            try:
                proc.wait(timeout=moment)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                done += 1
                kills += 1
            else:
                assert proc.returncode == 0, proc.stderr.read().decode()
                break  # finished before the kill: the chain is over
            finally:
                proc.stderr.close()
        _finish(out)
        raw = json.loads((out / "report.json").read_text())
        resumed += raw["training"]["resumed_from_step"] > 0
        report, arrays = _result(out)
        assert report == ref_report, f"chain {chain}: report differs"
        assert arrays.keys() == ref_arrays.keys()
        for name in arrays:
            np.testing.assert_array_equal(arrays[name], ref_arrays[name], err_msg=name)
    assert kills == KILLS
    assert resumed >= 1  # the final run of a chain resumed from a checkpoint
    print(f"{kills} kills in {chain} chains, {time.perf_counter() - t0:.0f}s "
          f"(uninterrupted run {span:.1f}s)")
