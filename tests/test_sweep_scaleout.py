"""Error sweeps at scale: multi-device, two-process (jax.distributed), checkpoint/resume."""

import functools
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import jax
import pytest

import jrelu

TIMING = ("seconds", "points_per_second")
PY = sys.executable

# The problem every test here sweeps; subprocess scripts rebuild it from this text.
PROBLEM = """
import jax, jax.numpy as jnp, jrelu
net = jrelu.init(jax.random.key(1), (3, 16, 16, 2))
def target(x):
    return jnp.stack([jnp.sum(jnp.sin(x)), jnp.prod(x)])
from jrelu.samplers import Gaussian, Halton, RadialShells
SAMPLERS = [Gaussian(3, std=2.0), Halton(3, low=-2.0, high=2.0, scramble=True),
            RadialShells(3, r_max=100.0, num_shells=5)]
KW = dict(kappa=1.0, chunk_size=100, progress=False)
"""


# The case where batch-dependent rounding showed (issue 12): RadialShells, 6001 points.
HARD = """
import jax, jax.numpy as jnp, jrelu
hnet = jrelu.init(jax.random.key(1), (3, 16, 16, 2))
def htarget(x):
    return jnp.stack([jnp.sum(jnp.sin(x)), jnp.prod(x)])
hs = jrelu.samplers.RadialShells(3, r_max=1e3, num_shells=6, r_min=1e-2)
hkw = dict(num_points=6001, key=jax.random.key(2), kappa=1.0, progress=False)
"""


def _problem():
    ns = {}
    exec(PROBLEM, ns)  # noqa: S102 - the same text the subprocesses run
    return ns


def _untimed(d: dict, drop=()) -> dict:
    d = dict(d)
    for k in TIMING + tuple(drop):
        d.pop(k)
    return d


def _xla_flags(*extra: str) -> str:
    """The inherited ``XLA_FLAGS`` (e.g. the test session's single-threaded XLA, conftest.py)
    without any host device count, plus ``extra``."""
    kept = [f for f in os.environ.get("XLA_FLAGS", "").split()
            if not f.startswith("--xla_force_host_platform_device_count")]
    return " ".join(kept + list(extra))


def _run(script: str, env_extra=None, timeout=300) -> subprocess.CompletedProcess:
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([PY, "-c", script], capture_output=True, text=True, env=env,
                          timeout=timeout)


@functools.cache
def _single_device_report(i):
    """The single-device sweep of SAMPLERS[i] (computed once per test session)."""
    ns = _problem()
    return jrelu.error_sweep(ns["net"], ns["target"], ns["SAMPLERS"][i], num_points=1001,
                             key=jax.random.key(2), **ns["KW"])


def _single_device_reports(samplers=(0,)):
    return [_single_device_report(i) for i in samplers]


def test_multi_device_equals_single_device_exactly():
    script = textwrap.dedent("""
        import json, jax
        jax.config.update("jax_enable_x64", True)
        import numpy as np
        from jax.sharding import Mesh
    """) + PROBLEM + textwrap.dedent("""
        assert len(jax.devices()) == 4, jax.devices()
        layouts = ["all", Mesh(np.array(jax.devices()).reshape(2, 2), ("a", "b")),
                   jax.devices()[:3]]
        out = []
        for i, s in enumerate(SAMPLERS[:2]):
            for dev in layouts[:3 - 2 * i]:  # all layouts for Gaussian, "all" for Halton
                r = jrelu.error_sweep(net, target, s, num_points=1001, key=jax.random.key(2),
                                      devices=dev, **KW)
                out.append(r.to_dict())
        # a network-like pytree (not a jrelu.Network) shards the same way
        @jax.tree_util.register_pytree_node_class
        class Wrapped:
            def __init__(self, net):
                self.net = net
            dtype = property(lambda self: self.net.dtype)
            input_dim = property(lambda self: self.net.input_dim)
            output_dim = property(lambda self: self.net.output_dim)
            def realize(self, x, *, activation):
                return jrelu.realize(self.net, x, activation=activation)
            def value_and_derivative(self, x, *, activation):
                return jrelu.value_and_derivative(self.net, x, activation=activation)
            def tree_flatten(self):
                return (self.net,), None
            @classmethod
            def tree_unflatten(cls, aux, children):
                return cls(*children)
        out.append(jrelu.error_sweep(Wrapped(net), target, SAMPLERS[0], num_points=1001,
                                     key=jax.random.key(2), devices="all", **KW).to_dict())
        print(json.dumps(out))
    """) + HARD + textwrap.dedent("""
        hard = [jrelu.error_sweep(hnet, htarget, hs, devices=dev, chunk_size=c, **hkw).to_dict()
                for dev, c in ((jax.devices()[:1], 97), (jax.devices()[:2], 4096), ("all", 97))]
        print(json.dumps(hard))
    """)
    p = _run(script, {"XLA_FLAGS": _xla_flags("--xla_force_host_platform_device_count=4")})
    assert p.returncode == 0, p.stderr[-3000:]
    multi = json.loads(p.stdout.splitlines()[-2])
    hard = json.loads(p.stdout.splitlines()[-1])
    single = _single_device_reports(samplers=(0, 1))
    assert [d["num_devices"] for d in multi] == [4, 4, 3, 4, 4]
    assert multi[2]["chunk_size"] == 102  # rounded up to a multiple of 3 devices
    drop = ("num_devices", "chunk_size", "num_chunks")
    for d, s in zip(multi, [0, 0, 0, 1, 0]):
        assert _untimed(d, drop) == _untimed(single[s].to_dict(), drop)
    # the hard case (big chunks, 6001 points): 1, 2 and 4 devices, chunk 97 or 4096, equal
    # the default single-device sweep bit for bit
    ns = {}
    exec(HARD, ns)  # noqa: S102
    one = jrelu.error_sweep(ns["hnet"], ns["htarget"], ns["hs"], chunk_size=4096, **ns["hkw"])
    assert [d["num_devices"] for d in hard] == [1, 2, 4]
    for d in hard:
        assert _untimed(d, drop) == _untimed(one.to_dict(), drop)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_equal_single_process_exactly():
    """Two local processes of JAX's CPU multi-process runtime (jax.distributed)."""
    port = _free_port()
    script = textwrap.dedent(f"""
        import json, sys, jax
        jax.config.update("jax_enable_x64", True)
        jax.distributed.initialize(coordinator_address="127.0.0.1:{port}", num_processes=2,
                                   process_id=int(sys.argv[1]))
    """) + PROBLEM + textwrap.dedent("""
        assert jax.process_count() == 2 and len(jax.devices()) == 2
        r = jrelu.error_sweep(net, target, SAMPLERS[0], num_points=1001, key=jax.random.key(2),
                              **KW)
        print("REPORT " + r.to_json(indent=None))
    """)
    env = dict(os.environ, XLA_FLAGS=_xla_flags())  # one device per process
    procs = [subprocess.Popen([PY, "-c", script, str(i)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for i in range(2)]
    outs = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0, err[-3000:]
            outs.append(out)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    reports = [json.loads(next(ln for ln in o.splitlines() if ln.startswith("REPORT "))[7:])
               for o in outs]
    assert reports[0]["num_processes"] == 2 and reports[0]["num_devices"] == 2
    drop = ("num_devices", "num_processes")
    single = _single_device_reports()[0].to_dict()
    assert _untimed(reports[0], drop) == _untimed(reports[1], drop) == _untimed(single, drop)


def test_resume_after_kill_equals_uninterrupted(tmp_path):
    path = str(tmp_path / "sweep.json")
    n, kw = 1200, dict(kappa=0.5, chunk_size=10, checkpoint_every=1, progress=False)
    # The child sleeps after each checkpoint write (a host-side patch of the private writer;
    # the computation is untouched), so the kill lands mid-sweep.
    script = textwrap.dedent("""
        import time, jax
        jax.config.update("jax_enable_x64", True)
        import jrelu.sweep as E
        _save = E._save_checkpoint
        def slow_save(path, state):
            _save(path, state)
            time.sleep(0.05)
        E._save_checkpoint = slow_save
    """) + PROBLEM + textwrap.dedent(f"""
        jrelu.error_sweep(net, target, SAMPLERS[2], num_points={n}, key=jax.random.key(3),
                          **{ {**kw, "checkpoint": path}!r})
    """)
    child = subprocess.Popen([PY, "-c", script], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    try:
        done, deadline = 0, time.time() + 240
        while done < 3 and time.time() < deadline and child.poll() is None:
            time.sleep(0.02)
            if os.path.exists(path):
                with open(path) as f:
                    done = json.load(f)["next_chunk"]
        assert child.poll() is None, child.stderr.read()[-3000:]
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    with open(path) as f:
        killed_at = json.load(f)["next_chunk"]
    assert 3 <= killed_at < n // 10  # the kill really interrupted the sweep

    ns = _problem()
    args = (ns["net"], ns["target"], ns["SAMPLERS"][2])
    kw = dict(kw, num_points=n, key=jax.random.key(3))
    with pytest.raises(ValueError, match="kappa: checkpoint 0.5 vs now 1.0"):
        jrelu.error_sweep(*args, **{**kw, "kappa": 1.0}, checkpoint=path)
    other = jax.tree.map(lambda a: a * 2, ns["net"])
    with pytest.raises(ValueError, match="network_sha256"):
        jrelu.error_sweep(other, *args[1:], **kw, checkpoint=path)
    with pytest.raises(ValueError, match="target_probe_sha256"):
        jrelu.error_sweep(ns["net"], lambda x: 2 * ns["target"](x), *args[2:], **kw,
                          checkpoint=path)

    resumed = jrelu.error_sweep(*args, **kw, checkpoint=path)
    whole = jrelu.error_sweep(*args, **kw)
    assert _untimed(resumed.to_dict()) == _untimed(whole.to_dict())
    with open(path) as f:
        assert json.load(f)["next_chunk"] == n // 10
    again = jrelu.error_sweep(*args, **kw, checkpoint=path)  # complete: returned at once
    assert _untimed(again.to_dict()) == _untimed(whole.to_dict())

    with open(path, "w") as f:
        f.write("not json")
    with pytest.raises(ValueError, match="not a jrelu sweep checkpoint"):
        jrelu.error_sweep(*args, **kw, checkpoint=path)


@pytest.mark.slow
def test_ten_million_points_d100_memory():
    """Peak RSS of a 10^7-point sweep in d = 100 stays under 1.5 GB (float32)."""
    script = textwrap.dedent("""
        import resource, jax, jax.numpy as jnp, jrelu
        net = jrelu.init(jax.random.key(0), (100, 256, 256, 256, 1), dtype=jnp.float32)
        r = jrelu.error_sweep(net, lambda x: jnp.sum(x**2), jrelu.samplers.Gaussian(100),
                              num_points=10**7, key=jax.random.key(1), kappa=2.0,
                              progress=False)
        print("RSS_MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              r.points_per_second)
    """)
    p = _run(script, timeout=3600)
    assert p.returncode == 0, p.stderr[-3000:]
    rss_mb = float(p.stdout.split("RSS_MB")[1].split()[0])
    assert rss_mb < 1500, rss_mb
