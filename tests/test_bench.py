"""`jrelu bench --smoke`: every suite runs at tiny sizes and prints finite ratios.

Speed is never asserted here (the sizes are far too small to mean anything); this checks that
the suites run against the current API and report what they promise.
"""

import math
import re

import pytest

from jrelu import bench

RATIOS = {
    "derivative": ["speedup_vs_vmap_grad", "speedup_vs_torch_func", "roofline_fraction"],
    "kinks": ["kink_report_over_forward", "kink_report_with_kink_over_forward",
              "lex_over_n0_plus_1_forwards", "lex_no_kink_over_derivative"],
    "sweep": ["ratio_to_derivative", "roofline_fraction", "derivative_roofline_fraction",
              "sampling_share_of_sweep", "ratio_to_sampling_plus_derivative"],
    "train": ["ratio_no_kink_count", "ratio_with_kink_count"],
    "bounds": ["linear/exact median", "interval/exact median"],
}
TARGETS = {  # issue 13's table (and the training overheads of issue 10)
    "derivative": {"roofline_fraction": ">= 0.9", "speedup_vs_vmap_grad": ">= 1.5",
                   "speedup_vs_torch_func": ">= 1.3"},
    "kinks": {"kink_report_over_forward": "<= 1.1",
              "kink_report_with_kink_over_forward": "<= 1.1",
              "lex_over_n0_plus_1_forwards": "<= 1.2"},
    "sweep": {"ratio_to_derivative": ">= 0.9"},
    "train": {"ratio_no_kink_count": "<= 1.05", "ratio_with_kink_count": "<= 1.25"},
    "bounds": {},  # its targets are against auto_LiRPA, printed only where it is installed
}


def _section(out: str, suite: str) -> str:
    head = f"== jrelu bench {suite} =="
    assert head in out, out
    return out.split(head, 1)[1].split("== jrelu bench", 1)[0]


def test_every_suite_runs_at_smoke_sizes_and_prints_finite_ratios(capsys):
    assert set(bench.SMOKE) == set(bench.SUITES) == set(RATIOS)
    assert bench.main(["--smoke"]) == 0
    out = capsys.readouterr().out
    for suite, names in RATIOS.items():
        section = _section(out, suite)
        for name in names:
            m = re.search(rf"^  {name}\s+(\S+)(   \(target ([<>]=) ([0-9.]+)\))?$", section,
                          re.M)
            assert m, f"{suite}: no {name} in\n{section}"
            value = float(m.group(1))
            assert math.isfinite(value) and value > 0, f"{suite}: {name} = {value}"
            # every ratio of the table prints its target next to it
            assert (m.group(2) is not None) == (name in TARGETS[suite]), f"{suite}: {name}"
            if name in TARGETS[suite]:
                assert f"{m.group(3)} {m.group(4)}" == TARGETS[suite][name]
    train = _section(out, "train")
    for regime in ("gaussian", "quantized_1/256", "sparse_zero_bias"):
        for dtype in ("float32", "float64"):
            assert re.search(rf"kinks_{re.escape(regime)}_{dtype}\s+\d+ of \d+ \(", train)


def test_torch_func_baseline_is_optional(monkeypatch):
    """Without torch the derivative suite says so instead of a ratio."""
    import builtins

    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("no torch here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    result = bench.bench_derivative(**bench.SMOKE["derivative"])
    assert result["speedup_vs_torch_func"] == "torch not installed"
    assert "torch_func_s" not in result and result["roofline_fraction"] > 0


def test_unknown_suite_is_an_error(capsys):
    assert bench.main(["--smoke", "derivative", "nope"]) == 2
    assert "unknown benchmark suite(s) ['nope']" in capsys.readouterr().out
    with pytest.raises(ValueError, match="^suites has unknown"):
        bench.run(["nope"])


def test_suite_options_are_keyword_only():
    import inspect

    for name, fn in [*bench.SUITES.items(), ("peak_flops", bench.peak_flops)]:
        for p in inspect.signature(fn).parameters.values():
            assert p.kind is p.KEYWORD_ONLY, f"{name}({p.name}) is not keyword-only"
