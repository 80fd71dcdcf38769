"""Kill-and-resume soak of a float64 error sweep: SIGKILL at 20 random moments.

A child process runs a checkpointed sweep and is killed (SIGKILL) at a random moment: during
start-up, mid-sweep, or while it writes its checkpoint. The next child resumes from the file.
After every kill the checkpoint is a valid one (never half-written); some of these states
are also resumed on their own to completion. Every resumed sweep must end bit-identical to an
uninterrupted one (timing aside).
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import jrelu

PROBLEM = """
import jax, jax.numpy as jnp, jrelu
jax.config.update("jax_enable_x64", True)
net = jrelu.init(jax.random.key(1), (3, 16, 16, 2))
def target(x):
    return jnp.stack([jnp.sum(jnp.sin(x)), jnp.prod(x)])
sampler = jrelu.samplers.RadialShells(3, r_max=1e3, num_shells=6, r_min=1e-2)
KW = dict(num_points=60000, key=jax.random.key(7), kappa=1.0, chunk_size=500,
          checkpoint_every=1, progress=False)
"""
TIMING = ("seconds", "points_per_second")


def _untimed(d):
    return {k: v for k, v in d.items() if k not in TIMING}


def _child(path):
    script = PROBLEM + textwrap.dedent(f"""
        r = jrelu.error_sweep(net, target, sampler, checkpoint={path!r}, **KW)
        print("REPORT " + r.to_json(indent=None))
    """)
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _next_chunk(path):
    if not os.path.exists(path):
        return -1
    with open(path) as f:
        return json.load(f)["next_chunk"]  # a kill never leaves a half-written file


def _finish(path):
    p = _child(path)
    out, err = p.communicate(timeout=600)
    assert p.returncode == 0, err[-3000:]
    return json.loads(next(ln for ln in out.splitlines() if ln.startswith("REPORT "))[7:])


@pytest.mark.slow
def test_sigkill_at_20_random_moments_then_resume_is_bit_identical(tmp_path):
    ns = {}
    exec(PROBLEM, ns)  # noqa: S102 - the text the children run
    whole = jrelu.error_sweep(ns["net"], ns["target"], ns["sampler"], **ns["KW"]).to_dict()
    num_chunks = whole["num_chunks"]
    path = str(tmp_path / "sweep.json")
    rng = random.Random(12)
    kills, progress, saved = 0, [], []
    t0 = time.time()
    while kills < 20:
        before = _next_chunk(path)
        p = _child(path)
        try:
            if kills % 4 == 0:  # a random moment from the start (import, compile, probe)
                time.sleep(rng.uniform(0.0, 4.0))
            else:  # a random moment once this child is writing checkpoints
                deadline = time.time() + 120
                while _next_chunk(path) <= before and p.poll() is None \
                        and time.time() < deadline:
                    time.sleep(0.005)
                time.sleep(rng.uniform(0.0, 0.3))
            if p.poll() is not None:  # finished before the kill: start over
                p.communicate()
                os.remove(path)
                continue
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
            p.communicate()
        kills += 1
        progress.append(_next_chunk(path))
        if kills % 5 == 0 and os.path.exists(path):
            saved.append(str(tmp_path / f"copy{kills}.json"))
            shutil.copy(path, saved[-1])
    assert any(0 < c < num_chunks for c in progress), progress  # kills landed mid-sweep
    for d in [_finish(path)] + [_finish(c) for c in saved]:
        assert _untimed(d) == _untimed(whole)
    with open(path) as f:
        assert json.load(f)["next_chunk"] == num_chunks
    print(f"soak: 20 kills at chunks {progress}, {len(saved)} extra resumes, "
          f"{time.time() - t0:.0f} s")
