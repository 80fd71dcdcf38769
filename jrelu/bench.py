r"""Benchmark suites: ``jrelu bench [--smoke] [SUITE ...]`` or ``python -m jrelu.bench``.

Each suite times jrelu against the plain-JAX baseline on the same data, in one run,
and prints the ratios the issues name (e.g. ``speedup_vs_vmap_grad``
:math:`=t_{\mathrm{vmap\,grad}}/t_{\mathrm{jrelu}}`). Speed is measured here, never
asserted in tests. Every timing is the best of several repeats of a compiled, warmed-up
call (``block_until_ready``), so compile time is excluded. The sizes of every suite are
keyword arguments of its function; ``--smoke`` runs each suite at tiny sizes (a check that
it runs, its numbers are meaningless).

Example:
  >>> from jrelu import bench
  >>> sorted(bench.SUITES)
  ['bounds', 'derivative', 'kinks', 'sweep', 'train']
  >>> bench.derivative_flops((3, 4, 1), batch=2)
  128
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp

from ._bench_bounds import SMOKE_SIZES as BOUNDS_SMOKE_SIZES
from ._bench_bounds import bench_bounds
from .activations import ReLU
from .derivative import derivative, evaluation_blocking
from .network import Network, init, realize

__all__ = ["SUITES", "SMOKE", "time_call", "peak_flops", "derivative_flops", "run", "main"]

_RELU = ReLU()  # the activation of every suite (ReLU'(0) = 0, as jax.nn.relu)
_PEAK_SIZES = (1024, 2048, 4096)


def time_call(fn: Callable, *args, repeats: int = 7) -> float:
    r"""Best wall time in seconds of ``fn(*args)`` over ``repeats`` runs, after a warm-up.

    :math:`t=\min_{1\le i\le r}t_i`, each :math:`t_i` up to ``block_until_ready``.

    Args:
      fn: the (compiled) function to time.
      *args: its arguments.
      repeats: the number of timed runs :math:`r`.

    Returns:
      the best time in seconds.

    Example:
      >>> t = time_call(jnp.sin, jnp.zeros(3), repeats=2)
      >>> t > 0
      True
    """
    jax.block_until_ready(fn(*args))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return best


def peak_flops(*, sizes=_PEAK_SIZES, dtype=jnp.float32, repeats: int = 5) -> float:
    r"""The machine's measured matmul rate (flop/s): the best over n×n by n×n products
    (:math:`2n^3` flops each) of the listed sizes.

    Args:
      sizes: the matrix sizes n.
      dtype: the dtype of the matrices.
      repeats: timed runs per size (:func:`time_call`).

    Returns:
      :math:`\max_n 2n^3/t_n` in flop/s.

    Example:
      >>> peak_flops(sizes=(8,), repeats=1) > 0
      True
    """
    best = 0.0
    for n in sizes:
        k1, k2 = jax.random.split(jax.random.key(n))
        a = jax.random.normal(k1, (n, n), dtype)
        b = jax.random.normal(k2, (n, n), dtype)
        best = max(best, 2.0 * n**3 / time_call(jax.jit(jnp.matmul), a, b, repeats=repeats))
    return best


def derivative_flops(widths, *, batch: int) -> int:
    r"""Exact flop count of :func:`jrelu.derivative` for N_L < N_0 (reverse order).

    Forward to the last hidden layer: :math:`\sum_{k<L}(2N_kN_{k-1}+3N_k)` a point
    (matmul, bias, activation and its derivative); reverse product:
    :math:`\sum_{k<L}(N_LN_k + 2N_LN_kN_{k-1})` (mask scaling and matmul).

    Args:
      widths: the architecture :math:`(N_0,\dots,N_L)`.
      batch: the number of points.

    Returns:
      the flop count for ``batch`` points.

    Example:
      >>> derivative_flops((3, 4, 1), batch=1)
      64
    """
    L, nl = len(widths) - 1, widths[-1]
    fwd = sum(2 * widths[k] * widths[k - 1] + 3 * widths[k] for k in range(1, L))
    bwd = sum(nl * widths[k] + 2 * nl * widths[k] * widths[k - 1] for k in range(1, L))
    return batch * (fwd + bwd)


def _torch_func_grad(net: Network, x):
    """``torch.func.vmap(torch.func.grad(f))`` for the same network and points (float32;
    on CUDA when JAX runs on a GPU and torch sees one, else on CPU), as a function of no
    arguments, or None when torch is not installed (it is optional: imported here only)."""
    try:
        import torch
    except ImportError:
        return None
    import numpy as np

    cuda = jax.default_backend() == "gpu" and torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    layers = [(torch.from_numpy(np.array(A)).to(device), torch.from_numpy(np.array(b)).to(device))
              for A, b in net.layers]

    def f(p):
        h = p
        for A, b in layers[:-1]:
            h = torch.relu(A @ h + b)  # torch.relu'(0) = 0, as jrelu.ReLU()
        A, b = layers[-1]
        return (A @ h + b)[0]

    grad = torch.func.vmap(torch.func.grad(f))
    points = torch.from_numpy(np.array(x)).to(device)

    def run():
        out = grad(points)
        if cuda:
            torch.cuda.synchronize()
        return out

    return run


def _products_only(net: Network, x, plan):
    """The matrix products of ``derivative`` on the reverse route (N_L < N_0), with the
    same shapes, order and blocking, but none of its elementwise work (bias, activation,
    slopes): what the products alone cost on this machine. The backward product starts
    from the last hidden layer (not from a broadcast row, which XLA would fold away)."""

    def chain(xb):
        h = xb
        for A, _ in net.layers[:-1]:
            h = jnp.matmul(h, A.T)
        J = h[:, None, :] * net.layers[-1][0]
        for A, _ in reversed(net.layers[:-1]):
            J = jnp.matmul(J, A)
        return J

    n = x.shape[0]
    k, block = plan.blocks(n)  # the blocks of value_and_derivative
    if k == 1:
        return chain(x)
    xs = jnp.pad(x, ((0, k * block - n), (0, 0))).reshape(k, block, -1)
    return jax.lax.map(chain, xs).reshape(k * block, net.output_dim, -1)[:n]


def bench_derivative(*, batch: int = 8192, widths=(100, 256, 256, 256, 1),
                     peak_sizes=_PEAK_SIZES, repeats: int = 20) -> dict:
    r"""``jrelu.derivative`` vs ``vmap(grad(realize))``, ``torch.func.vmap(torch.func.grad)``
    and the FLOP roofline, float32.

    Ratios: ``speedup_vs_vmap_grad`` :math:`=t_{\mathrm{vmap\,grad}}/t_{D^N}`,
    ``speedup_vs_torch_func`` :math:`=t_{\mathrm{torch.func}}/t_{D^N}` (when torch is
    installed; "torch not installed" otherwise) and ``roofline_fraction``
    :math:`=F/(t_{D^N}P)` with F from :func:`derivative_flops` and the peak rate P, the
    best :math:`2n^3/t_n` of n×n products (as :func:`peak_flops`). Where the rest of the
    peak goes (reverse route, :math:`N_L<N_0`): ``products_only_roofline_fraction``
    :math:`=F/(t_{\mathrm{prod}}P)`, with :math:`t_{\mathrm{prod}}` the time of the same
    matrix products in the same blocks without the elementwise work (the fraction the
    derivative would reach if that work were free), and ``derivative_over_products_only``
    :math:`=t_{D^N}/t_{\mathrm{prod}}`. All of them are timed in alternation (best of
    ``repeats`` rounds), so that load from other processes hits each alike.

    Args:
      batch: the number of points.
      widths: the architecture :math:`(N_0,\dots,N_L)`.
      peak_sizes: the matrix sizes n of the peak rate.
      repeats: interleaved timing rounds.

    Returns:
      the suite's result dict (sizes, seconds, ratios and their ``targets``).
    """
    net = init(jax.random.key(0), widths, dtype=jnp.float32)
    x = jax.random.normal(jax.random.key(1), (batch, widths[0]), jnp.float32)
    ours = jax.jit(derivative, static_argnames="activation")
    grad_fn = jax.grad(lambda x_, n_: realize(n_, x_, activation=_RELU)[0])
    base = jax.jit(jax.vmap(grad_fn, in_axes=(0, None)))
    plan = evaluation_blocking(net)
    calls = [(ours, (net, x)), (base, (x, net))]
    reverse = widths[-1] < widths[0]  # the route _products_only mirrors
    if reverse:
        calls.append((jax.jit(lambda n_, x_: _products_only(n_, x_, plan)), (net, x)))
    torch_grad = _torch_func_grad(net, x)
    if torch_grad is not None:
        calls.append((torch_grad, ()))
    matmul = jax.jit(jnp.matmul)
    for n in peak_sizes:
        k1, k2 = jax.random.split(jax.random.key(n))
        calls.append((matmul, (jax.random.normal(k1, (n, n), jnp.float32),
                               jax.random.normal(k2, (n, n), jnp.float32))))
    times = _time_interleaved(calls, repeats=repeats)
    t_ours, t_base = times[0], times[1]
    peak = max(2.0 * n**3 / t for n, t in zip(peak_sizes, times[len(times) - len(peak_sizes):]))
    flops = derivative_flops(widths, batch=batch)
    result = {
        "suite": "derivative",
        "widths": list(widths), "batch": batch, "dtype": "float32",
        "block_size": plan.block_size, "l2_cache_bytes": plan.cache_bytes,
        "jrelu_derivative_s": t_ours,
        "vmap_grad_s": t_base,
        "speedup_vs_vmap_grad": t_base / t_ours,
    }
    if torch_grad is None:
        result["speedup_vs_torch_func"] = "torch not installed"
    else:
        result["torch_func_s"] = times[2 + reverse]
        result["speedup_vs_torch_func"] = times[2 + reverse] / t_ours
    result.update({
        "flops": flops,
        "peak_flops_per_s": peak,
        "achieved_flops_per_s": flops / t_ours,
        "roofline_fraction": flops / t_ours / peak,
    })
    if reverse:  # where the rest of the peak goes: the products' own rate, and the rest
        t_products = times[2]
        result.update({"products_only_s": t_products,
                       "products_only_roofline_fraction": flops / t_products / peak,
                       "derivative_over_products_only": t_ours / t_products})
    result.update({
        "targets": {"roofline_fraction": ">= 0.9", "speedup_vs_vmap_grad": ">= 1.5",
                    "speedup_vs_torch_func": ">= 1.3"},
    })
    return result


def _plain_train_fn(optimizer, steps: int, batch: int):
    """The plain-JAX baseline: ``jax.grad`` of an MLP with ``jax.nn.relu`` + optax, in one
    jitted scan with the same minibatch sampling as :func:`jrelu.train`."""
    import optax

    def risk(params, x, y):
        h = x
        for W, c in params[:-1]:
            h = jax.nn.relu(h @ W.T + c)
        W, c = params[-1]
        return jnp.mean((h @ W.T + c - y) ** 2)

    @jax.jit
    def run(params, state, key, xs, ys):
        def body(carry, i):
            p, s = carry
            idx = jax.random.randint(jax.random.fold_in(key, i), (batch,), 0, xs.shape[0])
            value, g = jax.value_and_grad(risk)(p, xs[idx], ys[idx])
            u, s = optimizer.update(g, s, p)
            return (optax.apply_updates(p, u), s), value

        return jax.lax.scan(body, (params, state), jnp.arange(steps))

    return run


def _kink_study(*, steps: int = 300, batch: int = 128, widths=(20, 64, 64, 1),
                num_data: int = 2048) -> dict:
    """How often SGD evaluates ReLU'(0) exactly, float32 vs float64 (Berner et al.'s
    question): total kink hits and hit rate per hidden pre-activation over a training run,
    in three data regimes."""
    import optax

    from .train import train

    out = {}
    sgd = optax.sgd(1e-2)  # one object: the regimes share the compiled training loop
    for regime in ("gaussian", "quantized_1/256", "sparse_zero_bias"):
        for dtype in ("float32", "float64"):
            with jax.enable_x64(dtype == "float64"):
                kx, ky, kn = jax.random.split(jax.random.key(0), 3)
                xs = jax.random.normal(kx, (num_data, widths[0]), jnp.float64 if dtype ==
                                       "float64" else jnp.float32)
                if regime == "quantized_1/256":
                    xs = jnp.round(jax.random.uniform(kx, xs.shape, xs.dtype) * 256) / 256
                net = init(kn, widths, dtype=dtype)
                if regime == "sparse_zero_bias":
                    xs = xs * (jax.random.uniform(ky, xs.shape) < 0.1)  # 90% exact zeros
                    net = Network([(A, jnp.zeros_like(b)) for A, b in net.layers])
                ys = jnp.sum(jnp.sin(xs[:, :3]), axis=1, keepdims=True)
                _, hist = train(net, (xs, ys), optimizer=sgd, steps=steps,
                                batch_size=batch, key=jax.random.key(1))
                hits = int(jnp.sum(hist.kinks))
                total = steps * hist.preactivations_per_step
                out[f"kinks_{regime}_{dtype}"] = f"{hits} of {total} ({hits / total:.2e})"
    return out


def bench_train(*, steps: int = 200, batch: int = 512, widths=(16, 256, 256, 256, 1),
                M: int = 8192, rounds: int = 5, kink_steps: int = 300,
                kink_batch: int = 128, kink_widths=(20, 64, 64, 1),
                kink_data: int = 2048) -> dict:
    r"""A :func:`jrelu.train` step, with and without the per-step kink count, vs a plain
    ``jax.grad`` + optax step on the same network, data and sampling (float32, Adam);
    then the kink study (``kink_*`` sizes).

    Ratios: ``ratio_no_kink_count`` and ``ratio_with_kink_count``, the time per jrelu step
    over the time per plain step (best of ``rounds`` interleaved rounds).

    Args:
      steps: training steps per timed call.
      batch: the minibatch size.
      widths: the architecture.
      M: the number of training points.
      rounds: interleaved timing rounds.
      kink_steps: training steps of each run of the kink study.
      kink_batch: its minibatch size.
      kink_widths: its architecture.
      kink_data: its number of training points.

    Returns:
      the suite's result dict (sizes, seconds per step, ratios, kink-study counts).
    """
    import optax

    from .train import train

    net = init(jax.random.key(0), widths, dtype=jnp.float32)
    kx, key = jax.random.split(jax.random.key(1))
    xs = jax.random.normal(kx, (M, widths[0]), jnp.float32)
    ys = jnp.sum(jnp.sin(xs[:, :4]), axis=1, keepdims=True)
    opt = optax.adam(1e-3)
    params = [(A, b) for A, b in net.layers]
    plain = _plain_train_fn(opt, steps, batch)
    state = opt.init(params)
    fns = {
        "plain": lambda: plain(params, state, key, xs, ys),
        "no_kink": lambda: train(net, (xs, ys), optimizer=opt, steps=steps, batch_size=batch,
                                 key=key, count_kinks=False)[1].loss,
        "kink": lambda: train(net, (xs, ys), optimizer=opt, steps=steps, batch_size=batch,
                              key=key)[1].loss,
    }
    # interleaved rounds, best of each: fair under a fluctuating machine load
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            best[name] = min(best[name], time_call(fn, repeats=2))
    t_plain, t_nokink, t_kink = (best[n] / steps for n in ("plain", "no_kink", "kink"))
    result = {
        "suite": "train",
        "widths": list(widths), "batch": batch, "steps": steps, "data": M, "dtype": "float32",
        "plain_step_s": t_plain,
        "jrelu_step_no_kink_count_s": t_nokink,
        "jrelu_step_with_kink_count_s": t_kink,
        "ratio_no_kink_count": t_nokink / t_plain,
        "ratio_with_kink_count": t_kink / t_plain,
        "targets": {"ratio_no_kink_count": "<= 1.05", "ratio_with_kink_count": "<= 1.25"},
    }
    result.update(_kink_study(steps=kink_steps, batch=kink_batch, widths=kink_widths,
                              num_data=kink_data))
    return result


def bench_sweep(*, num_points: int = 2**18, chunk_size: int = 8192,
                widths=(100, 256, 256, 256, 1), repeats: int = 5,
                peak_sizes=_PEAK_SIZES) -> dict:
    r"""``jrelu.error_sweep`` (values and gradients, float32) vs bare ``jrelu.derivative``.

    Target :math:`f(x)=\|x\|^2+2Td` (T = 1, the heat equation's solution at the origin
    time), :math:`\nabla f=2x`, Gaussian points. The sweep's rate includes sampling, the
    target, the error norms and all host-side statistics; the baseline is
    ``jit(derivative)`` on a pre-drawn chunk of the same points.

    Ratios: ``ratio_to_derivative`` (points per second of the sweep over those of
    ``derivative``), the roofline fractions, and, to read the first,
    ``sampling_share_of_sweep`` (drawing the points alone, as the sweep does, point i from
    ``fold_in(key, i)``) and ``ratio_to_sampling_plus_derivative`` (the sweep against
    drawing the points and then ``derivative``). The three are timed in alternation
    (``repeats`` rounds of one sweep, then the baselines; the best of each counts), so that
    load from other processes hits each alike.

    Args:
      num_points: the points of the timed sweep.
      chunk_size: the sweep's chunk size (and the baseline's batch).
      widths: the architecture.
      repeats: rounds of timing (one sweep and the baselines each).
      peak_sizes: the matrix sizes of :func:`peak_flops`.

    Returns:
      the suite's result dict (sizes, seconds, points per second, ratios, sup errors).
    """
    from .samplers import Gaussian
    from .sweep import error_sweep

    d, T = widths[0], 1.0
    net = init(jax.random.key(0), widths, dtype=jnp.float32)
    sampler = Gaussian(d)
    key = jax.random.key(1)

    def target(x):
        return jnp.sum(x * x) + 2.0 * T * d

    def target_grad(x):
        return 2.0 * x

    def sweep(n):
        return error_sweep(net, target, sampler, num_points=n, key=key, kappa=2.0,
                           chunk_size=chunk_size, target_grad=target_grad, progress=False)

    sweep(chunk_size)  # compile (the chunk function is cached across calls)
    x = sampler(key, chunk_size, dtype=jnp.float32)
    der = jax.jit(derivative, static_argnames="activation")
    # the sweep draws its points itself (point i from fold_in(key, i)): that share of its
    # time is reported apart, so the ratio's distance from 1 can be read
    index = jnp.arange(chunk_size, dtype=jnp.int32)
    pts = jax.jit(lambda k, i: sampler.points(k, i, dtype=jnp.float32))
    best = t_der = t_pts = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        report = sweep(num_points)
        best = min(best, time.perf_counter() - t0)
        t_der = min(t_der, time_call(der, net, x, repeats=3))
        t_pts = min(t_pts, time_call(pts, key, index, repeats=3))
    sweep_pps, der_pps = num_points / best, chunk_size / t_der
    peak = peak_flops(sizes=peak_sizes)
    flops_pp = derivative_flops(widths, batch=1) + 2 * widths[-2] * widths[-1]  # + value
    return {
        "suite": "sweep",
        "widths": list(widths), "num_points": num_points, "chunk_size": chunk_size,
        "dtype": "float32", "target": "||x||^2 + 2Td, grad 2x", "sampler": "Gaussian",
        "sweep_s": best,
        "sweep_points_per_s": sweep_pps,
        "derivative_points_per_s": der_pps,
        "ratio_to_derivative": sweep_pps / der_pps,
        "sampling_s_per_chunk": t_pts,
        "sampling_share_of_sweep": t_pts * num_points / chunk_size / best,
        "ratio_to_sampling_plus_derivative": sweep_pps * (t_pts + t_der) / chunk_size,
        "flops_per_point": flops_pp,
        "peak_flops_per_s": peak,
        "roofline_fraction": flops_pp * sweep_pps / peak,
        "derivative_roofline_fraction": derivative_flops(widths, batch=1) * der_pps / peak,
        "sup_value_error": report.sup_value_error,
        "sup_derivative_error": report.sup_derivative_error,
        "targets": {"ratio_to_derivative": ">= 0.9"},
    }


def _time_interleaved(calls, *, repeats: int = 25) -> list[float]:
    """Best wall times of several ``(fn, args)`` calls, measured in alternation."""
    for fn, args in calls:
        jax.block_until_ready(fn(*args))
    best = [float("inf")] * len(calls)
    for _ in range(repeats):
        for i, (fn, args) in enumerate(calls):
            t0 = time.perf_counter()
            jax.block_until_ready(fn(*args))
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def bench_kinks(*, batch: int = 4096, lex_batch: int = 256,
                widths=(100, 256, 256, 256, 1), repeats: int = 25) -> dict:
    r"""``kink_report`` vs one forward pass on a training-sized batch, and
    ``lexicographic_jacobian`` vs N_0 + 1 forward passes (and vs ``derivative``), float32.

    Ratios (times, jrelu over baseline; each group timed in alternation):
    ``kink_report_over_forward`` (a batch without kinks, the common case),
    ``kink_report_with_kink_over_forward`` (the same batch with one point on a kink),
    ``lex_over_n0_plus_1_forwards`` (a batch with one point on a kink, so that the
    tangents are carried) and ``lex_no_kink_over_derivative``.

    Args:
      batch: the batch of the kink report and the forward pass.
      lex_batch: the batch of the lexicographic Jacobian.
      widths: the architecture.
      repeats: interleaved timing rounds of the kink reports (a fifth as many for the
        lexicographic Jacobians).

    Returns:
      the suite's result dict (sizes, seconds, ratios and their ``targets``).
    """
    from .derivative import kink_report, lexicographic_jacobian

    net = init(jax.random.key(0), widths, dtype=jnp.float32)
    x = jax.random.normal(jax.random.key(1), (batch, widths[0]), jnp.float32)
    # one point on a kink: x = 0 and b_1 = 0 for neuron 1 of layer 1
    A1, b1 = net.layers[0]
    net_k = Network(((A1, b1.at[0].set(0.0)),) + net.layers[1:])
    x_k = x.at[0].set(0.0)
    forward = jax.jit(realize, static_argnames="activation")
    report = jax.jit(kink_report, static_argnames="activation")
    # interleaved best-of-N, so that load from other processes hits all alike
    t_fwd, t_rep, t_rep_k = _time_interleaved(
        [(forward, (net, x)), (report, (net, x)), (report, (net_k, x_k))], repeats=repeats)
    xl, xl_k = x[:lex_batch], x_k[:lex_batch]
    # without any kink the lexicographic Jacobian is D^N; with one, the tangents are carried
    x_rep = jnp.broadcast_to(xl, (widths[0] + 1,) + xl.shape)  # N_0 + 1 forward passes
    lex = jax.jit(lexicographic_jacobian, static_argnames="activation")
    der = jax.jit(derivative, static_argnames="activation")
    kinked = int(jnp.sum(report(net_k, xl_k).point_counts > 0))
    t_lex, t_fwd_n, t_lex_generic, t_der = _time_interleaved(
        [(lex, (net_k, xl_k)), (forward, (net, x_rep)), (lex, (net, xl)), (der, (net, xl))],
        repeats=max(1, repeats // 5))
    return {
        "suite": "kinks",
        "widths": list(widths), "dtype": "float32",
        "batch": batch,
        "forward_s": t_fwd,
        "kink_report_s": t_rep,
        "kink_report_over_forward": t_rep / t_fwd,
        "kink_report_with_kink_s": t_rep_k,
        "kink_report_with_kink_over_forward": t_rep_k / t_fwd,
        "lex_batch": lex_batch,
        "lex_batch_points_at_kink": kinked,
        "lexicographic_jacobian_s": t_lex,
        "n0_plus_1_forward_passes_s": t_fwd_n,
        "lex_over_n0_plus_1_forwards": t_lex / t_fwd_n,
        "lex_no_kink_batch_s": t_lex_generic,
        "derivative_s": t_der,
        "lex_no_kink_over_derivative": t_lex_generic / t_der,
        "targets": {"kink_report_over_forward": "<= 1.1",
                    "kink_report_with_kink_over_forward": "<= 1.1",
                    "lex_over_n0_plus_1_forwards": "<= 1.2"},
    }


SUITES: dict[str, Callable[..., dict]] = {
    "derivative": bench_derivative,
    "kinks": bench_kinks,
    "sweep": bench_sweep,
    "train": bench_train,
    "bounds": bench_bounds,
}

# Tiny sizes for ``--smoke``: every suite runs through in seconds; the numbers mean nothing.
SMOKE: dict[str, dict] = {
    "derivative": {"batch": 16, "widths": (4, 8, 8, 1), "peak_sizes": (16,), "repeats": 2},
    "kinks": {"batch": 16, "lex_batch": 4, "widths": (4, 8, 8, 1), "repeats": 2},
    "sweep": {"num_points": 64, "chunk_size": 32, "widths": (4, 8, 8, 1), "repeats": 1,
              "peak_sizes": (16,)},
    "train": {"steps": 4, "batch": 8, "widths": (4, 8, 8, 1), "M": 64, "rounds": 1,
              "kink_steps": 2, "kink_batch": 8, "kink_widths": (4, 8, 1), "kink_data": 32},
    "bounds": BOUNDS_SMOKE_SIZES,
}


def _print(result: dict) -> None:
    """One line per entry; a ratio with a target gets it in parentheses."""
    print(f"== jrelu bench {result['suite']} ==")
    targets = result.get("targets", {})
    for key, value in result.items():
        if key in ("suite", "targets", "cases", "table"):  # the bounds suite's per-case rows
            continue
        text = f"{value:.4g}" if isinstance(value, float) else f"{value}"
        if key in targets:
            text += f"   (target {targets[key]})"
        print(f"  {key:36s} {text}")
    if "table" in result:
        print(result["table"])


def run(suites: list[str] | None = None, *, smoke: bool = False) -> list[dict]:
    r"""Run the named suites (all if ``None``), print and return their results.

    Args:
      suites: names from :data:`SUITES`, or None (or empty) for all.
      smoke: run each suite at the tiny sizes of :data:`SMOKE` instead of its defaults.

    Returns:
      one dict per suite: its sizes, timings (seconds) and ratios such as
      :math:`t_{\mathrm{baseline}}/t_{\mathrm{jrelu}}`.

    Raises:
      ValueError: an unknown suite name.

    Example:
      >>> run(["nope"])
      Traceback (most recent call last):
        ...
      ValueError: suites has unknown benchmark suite(s) ['nope']; available: [...]
    """
    names = list(SUITES) if not suites else list(suites)
    unknown = [s for s in names if s not in SUITES]
    if unknown:
        raise ValueError(f"suites has unknown benchmark suite(s) {unknown}; available: "
                         f"{sorted(SUITES)}")
    results = []
    for name in names:
        result = SUITES[name](**(SMOKE[name] if smoke else {}))
        _print(result)
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    r"""The command ``jrelu bench [--smoke] [SUITE ...]``: run suites, print their results.

    Args:
      argv: the command-line arguments (``sys.argv[1:]`` if None).

    Returns:
      the exit code: 0, or 2 for an unknown suite.

    Example:
      >>> main(["--smoke", "nope"])
      jrelu bench: error: suites has unknown benchmark suite(s) ['nope']; available: [...]
      2
    """
    parser = argparse.ArgumentParser(prog="jrelu bench", description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", help=f"suites to run (default: all of {list(SUITES)})")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes: check that the suites run (the numbers mean nothing)")
    args = parser.parse_args(argv)
    try:
        run(args.suites, smoke=args.smoke)
    except ValueError as e:
        print(f"jrelu bench: error: {e}")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
