r"""Order-independent running statistics of a sweep's pointwise errors (private to the sweep).

Everything here is exact or order-independent, so the statistics do not depend on how the
sample is split into chunks:

* maxima with their argmax (ties go to the smallest point index);
* an *exact* sum of the float64 errors in integer arithmetic (:func:`exact_sum`), so the
  mean is the correctly rounded mean of the per-point errors;
* integer histogram counts on a fixed log-spaced grid, from which quantiles are read
  with relative resolution :data:`QUANTILE_RESOLUTION`;
* per-shell maxima for the radial profile.

Only :mod:`jrelu.sweep` imports this module.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np

__all__: list[str] = []  # private: nothing here is public API

HIST_BINS_PER_DECADE = 100
HIST_MIN_EXP, HIST_MAX_EXP = -40, 40  # edges 10^-40 .. 10^40
HIST_EDGES = 10.0 ** (np.arange(HIST_MIN_EXP * HIST_BINS_PER_DECADE,
                                HIST_MAX_EXP * HIST_BINS_PER_DECADE + 1)
                      / HIST_BINS_PER_DECADE)
#: Relative resolution of the reported quantiles: Q ≤ Q̂ ≤ Q · (1 + QUANTILE_RESOLUTION).
QUANTILE_RESOLUTION = float(10.0 ** (1.0 / HIST_BINS_PER_DECADE) - 1.0)
SUM_SHIFT = 1126  # 2^-1126 divides every float64 (subnormals are multiples of 2^-1074)
NUM_HIST_BINS = len(HIST_EDGES) + 2
_MIN_FREXP_EXP = -1073  # frexp's exponent of the smallest subnormal, 2^-1074 = 0.5 · 2^-1073
_SUM_PIECE = 2**25


def hist_bins(v: np.ndarray) -> np.ndarray:
    r"""Bin 0: exact zeros; 1: (0, e_0); k+2: [e_k, e_{k+1}); last: [e_max, inf).

    ``searchsorted(HIST_EDGES, v, side="right") + 1`` (v ≥ 0), computed as a guess from
    :math:`\log_{10}v` that is then corrected against the edges themselves, so the bins
    are exactly those of the binary search, several times faster."""
    v = np.asarray(v, np.float64)
    last = len(HIST_EDGES) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.floor(np.log10(v) * HIST_BINS_PER_DECADE) - HIST_MIN_EXP * HIST_BINS_PER_DECADE
    g = np.clip(np.nan_to_num(g, nan=-1.0, posinf=last, neginf=-1.0), -1, last).astype(np.int64)
    # g: the index of the largest edge <= v (-1 if none), up to rounding of log10: fix it
    for _ in range(4):
        up = (g < last) & (HIST_EDGES[np.minimum(g + 1, last)] <= v)
        down = (g >= 0) & (HIST_EDGES[np.maximum(g, 0)] > v)
        if not (up.any() or down.any()):
            break
        g = g + up - down
    else:  # pragma: no cover - log10 is never this far off; the binary search then
        return np.where(v == 0, 0, np.searchsorted(HIST_EDGES, v, side="right") + 1)
    return np.where(v == 0, 0, g + 2)


def hist_upper(b: int) -> float:
    """The upper edge of histogram bin ``b`` (0 for the bin of exact zeros)."""
    if b == 0:
        return 0.0
    return float(HIST_EDGES[b - 1]) if b - 1 < len(HIST_EDGES) else math.inf


def exact_sum(v: np.ndarray) -> int:
    r""":math:`2^{1126}\sum_i v_i` exactly, as a Python int (v: finite float64 ≥ 0)."""
    if v.size == 0:
        return 0
    if v.size > _SUM_PIECE:  # keep every per-exponent sum below 2^53 (exact in float64)
        return sum(exact_sum(v[i:i + _SUM_PIECE]) for i in range(0, v.size, _SUM_PIECE))
    m, e = np.frexp(v)
    M = (m * 2.0**53).astype(np.int64)  # v = M 2^(e-53), exact
    hi, lo = M >> 27, M & ((1 << 27) - 1)
    # per binary exponent, the sums of the 26-bit high and 27-bit low parts: integers below
    # 2^27 · 2^25 < 2^53, so bincount's float64 accumulation is exact
    e = e - _MIN_FREXP_EXP
    shi = np.bincount(e, weights=hi.astype(np.float64))
    slo = np.bincount(e, weights=lo.astype(np.float64))
    total = 0
    for ex in np.flatnonzero((shi != 0) | (slo != 0)).tolist():
        a, b = int(shi[ex]), int(slo[ex])
        total += ((a << 27) + b) << (ex + _MIN_FREXP_EXP - 53 + SUM_SHIFT)
    return total


@dataclasses.dataclass
class Running:
    """Running statistics of one weighted pointwise error (host side, float64)."""

    n_shells: int
    sup: float = -math.inf
    argmax: list | None = None
    argmax_index: int = -1
    sup_raw: float = -math.inf
    argmax_raw: list | None = None
    argmax_raw_index: int = -1
    total: int = 0
    hist: np.ndarray = None
    shell_max: np.ndarray = None

    def __post_init__(self):
        if self.hist is None:
            self.hist = np.zeros(NUM_HIST_BINS, np.int64)
        if self.shell_max is None:
            self.shell_max = np.full(self.n_shells, -math.inf)

    def update(self, start, w, raw, iw, xw, iraw, xraw, shells):
        """Fold in one chunk: weighted errors ``w`` and unweighted ``raw`` of the points
        ``start, start + 1, ...``, their in-chunk argmax indices and points, and the
        shell index of every point."""
        mw = float(w[iw])
        if mw > self.sup:
            self.sup, self.argmax, self.argmax_index = mw, xw, start + int(iw)
        mr = float(raw[iraw])
        if mr > self.sup_raw:
            self.sup_raw, self.argmax_raw, self.argmax_raw_index = mr, xraw, start + int(iraw)
        self.total += exact_sum(w)
        self.hist += np.bincount(hist_bins(w), minlength=NUM_HIST_BINS)
        np.maximum.at(self.shell_max, shells, w)

    def mean(self, n: int) -> float:
        """The correctly rounded mean of the weighted errors of ``n`` points."""
        return float(Fraction(self.total, n << SUM_SHIFT))

    def quantiles(self, n: int, levels) -> dict:
        """``{"q": Q̂}``: histogram upper bounds of the ⌈qn⌉-th smallest value, ≤ ``sup``."""
        cum = np.cumsum(self.hist)
        qs = {}
        for q in levels:
            j = max(1, math.ceil(q * n))  # the j-th smallest value, 1-based
            b = int(np.searchsorted(cum, j))
            qs[f"{q:g}"] = min(hist_upper(b), self.sup)
        return qs

    def to_json(self) -> dict:
        """The state as plain JSON (the checkpoint format)."""
        nz = np.flatnonzero(self.hist)
        return {"sup": self.sup, "argmax": self.argmax, "argmax_index": self.argmax_index,
                "sup_raw": self.sup_raw, "argmax_raw": self.argmax_raw,
                "argmax_raw_index": self.argmax_raw_index, "total": str(self.total),
                "hist_bins": nz.tolist(), "hist_counts": self.hist[nz].tolist(),
                "shell_max": [None if v == -math.inf else v for v in self.shell_max.tolist()]}

    @classmethod
    def from_json(cls, d: dict, n_shells: int) -> Running:
        """The state saved by :meth:`to_json`."""
        r = cls(n_shells)
        r.sup, r.argmax, r.argmax_index = d["sup"], d["argmax"], d["argmax_index"]
        r.sup_raw, r.argmax_raw = d["sup_raw"], d["argmax_raw"]
        r.argmax_raw_index = d["argmax_raw_index"]
        r.total = int(d["total"])
        r.hist[np.asarray(d["hist_bins"], np.int64)] = np.asarray(d["hist_counts"], np.int64)
        r.shell_max = np.array([-math.inf if v is None else v for v in d["shell_max"]])
        return r
