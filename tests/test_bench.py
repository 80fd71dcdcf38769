"""`jrelu bench --smoke`: every suite runs at tiny sizes and prints finite ratios.

Speed is never asserted here (the sizes are far too small to mean anything); this checks that
the suites run against the current API and report what they promise.
"""

import math
import re

import pytest

from jrelu import bench

RATIOS = {
    "derivative": ["speedup_vs_vmap_grad", "roofline_fraction"],
    "kinks": ["kink_report_over_forward", "lex_over_n0_plus_1_forwards",
              "lex_no_kink_over_derivative"],
    "sweep": ["ratio_to_derivative", "roofline_fraction", "derivative_roofline_fraction"],
    "train": ["ratio_no_kink_count", "ratio_with_kink_count"],
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
            m = re.search(rf"^  {name}\s+(\S+)$", section, re.M)
            assert m, f"{suite}: no {name} in\n{section}"
            value = float(m.group(1))
            assert math.isfinite(value) and value > 0, f"{suite}: {name} = {value}"
    train = _section(out, "train")
    for regime in ("gaussian", "quantized_1/256", "sparse_zero_bias"):
        for dtype in ("float32", "float64"):
            assert re.search(rf"kinks_{re.escape(regime)}_{dtype}\s+\d+ of \d+ \(", train)


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
