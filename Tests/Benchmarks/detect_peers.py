#!/usr/bin/env python3
"""Published anomaly detectors for casebook-detect-bench, run on the same series as Casebook.

Reads {"series": [{"id", "bucket": "hour"|"day", "values": [number or null, ...]}],
"merge_gap": {"hour": 6, "day": 1}} from the file named by the first argument (or stdin) and
writes {"detectors": [...], "windows": {detector: {id: [[first, last], ...]}}} to the file named
by the second (or stdout): the indices of the first and last bucket of each window, the flagged
buckets of one direction at most `merge_gap` buckets apart joined into one window (the rule
Casebook's `spike-detection` merges its buckets by). Null values are gaps: never flagged,
filled by interpolation where a method needs a regular series.

Detectors, each with its authors' default settings:
  - "Robust z (MAD, 7 days)": the modified z-score of Iglewicz & Hoaglin (1993),
    0.6745 (x - median) / MAD over the trailing 7 days (168 hours or 7 days), flagged above 3.5.
  - "S-H-ESD": Seasonal Hybrid ESD (Hochenbaum, Vallis & Kejariwal 2017; Twitter's
    AnomalyDetection): STL (period one day on hourly series, one week on daily ones), residual =
    value - seasonal - median, then the generalized ESD test with median and MAD, alpha 0.05,
    max_anoms 0.10 of the series, both directions (the package's defaults).
  - "STL residual 3σ": the residual of a robust STL (same periods) flagged beyond 3 robust standard
    deviations (1.4826 MAD), the common "STL + 3 sigma" recipe.

Needs numpy, scipy and statsmodels (`python3 -m pip install numpy scipy statsmodels`).
"""

import json
import sys

import numpy as np
from scipy import stats
from statsmodels.tsa.seasonal import STL


def period(bucket, n):
    p = 24 if bucket == "hour" else 7
    return p if n >= 2 * p + 1 else None


def fill(values):
    x = np.array([np.nan if v is None else float(v) for v in values])
    ok = ~np.isnan(x)
    if ok.sum() == 0:
        return np.zeros(len(x)), ok
    idx = np.arange(len(x))
    x[~ok] = np.interp(idx[~ok], idx[ok], x[ok])
    return x, ok


def windows(flags, signs, gap, size):
    """Flagged indices (with their sign) into windows of one direction, `gap` buckets apart at most:
    [first, last, magnitude], the magnitude being the sum of `size` (the detector's |x - expected|)
    over the window's flagged buckets, by which a capped list keeps the largest."""
    out = []
    cur = None
    for i in np.flatnonzero(flags):
        s = signs[i]
        if cur is not None and cur[2] == s and i - cur[1] - 1 <= gap:
            cur[1] = int(i)
            cur[3] += float(size[i])
        else:
            if cur is not None:
                out.append([cur[0], cur[1], cur[3]])
            cur = [int(i), int(i), s, float(size[i])]
    if cur is not None:
        out.append([cur[0], cur[1], cur[3]])
    return out


def robust_z(x, ok, bucket, gap):
    w = 168 if bucket == "hour" else 7
    n = len(x)
    flags = np.zeros(n, bool)
    signs = np.zeros(n, int)
    size = np.zeros(n)
    for i in range(n):
        lo = max(0, i - w)
        hist = x[lo:i][ok[lo:i]]
        if len(hist) < max(3, w // 2) or not ok[i]:
            continue
        med = np.median(hist)
        mad = np.median(np.abs(hist - med))
        if mad > 0:
            z = 0.6745 * (x[i] - med) / mad
        else:
            # MAD 0 (common on sparse counts): the usual fallback, the mean absolute deviation.
            meanad = np.mean(np.abs(hist - med))
            if meanad == 0:
                continue
            z = (x[i] - med) / (1.253314 * meanad)
        if abs(z) > 3.5:
            flags[i] = True
            signs[i] = 1 if z > 0 else -1
            size[i] = abs(x[i] - med)
    return windows(flags, signs, gap, size)


def stl_residual(x, p):
    r = STL(x, period=p, robust=True).fit()
    return r.seasonal, r.resid


def sh_esd(x, ok, bucket, gap, alpha=0.05, max_anoms=0.10):
    n = len(x)
    p = period(bucket, n)
    if p is None:
        return []
    seasonal, _ = stl_residual(x, p)
    resid = x - seasonal - np.median(x)
    k = max(1, int(np.floor(n * max_anoms)))
    candidates = np.flatnonzero(ok)
    r = resid.copy()
    alive = np.zeros(n, bool)
    alive[candidates] = True
    removed = []
    found = 0
    for i in range(1, k + 1):
        live = np.flatnonzero(alive)
        m = len(live)
        if m < 3:
            break
        vals = r[live]
        med = np.median(vals)
        mad = np.median(np.abs(vals - med)) * 1.4826
        if mad == 0:
            break
        dev = np.abs(vals - med) / mad
        j = int(np.argmax(dev))
        removed.append(live[j])
        alive[live[j]] = False
        nn = n - i + 1
        t = stats.t.ppf(1 - alpha / (2 * nn), nn - 2)
        lam = (nn - 1) * t / np.sqrt((nn - 2 + t * t) * nn)
        if dev[j] > lam:
            found = i
    flags = np.zeros(n, bool)
    signs = np.zeros(n, int)
    for idx in removed[:found]:
        flags[idx] = True
        signs[idx] = 1 if resid[idx] > np.median(resid) else -1
    return windows(flags, signs, gap, np.abs(resid - np.median(resid)))


def stl_3sigma(x, ok, bucket, gap):
    p = period(bucket, len(x))
    if p is None:
        return []
    _, resid = stl_residual(x, p)
    med = np.median(resid[ok])
    sd = 1.4826 * np.median(np.abs(resid[ok] - med))
    if sd == 0:
        return []
    z = (resid - med) / sd
    flags = (np.abs(z) > 3) & ok
    return windows(flags, np.sign(z).astype(int), gap, np.abs(resid - med))


DETECTORS = {
    "Robust z (MAD, 7 days)": robust_z,
    "S-H-ESD": sh_esd,
    "STL residual 3σ": stl_3sigma,
}


def main():
    with open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin as f:
        req = json.load(f)
    gaps = req.get("merge_gap", {"hour": 6, "day": 1})
    out = {"detectors": list(DETECTORS), "windows": {name: {} for name in DETECTORS}}
    for s in req["series"]:
        x, ok = fill(s["values"])
        gap = int(gaps.get(s["bucket"], 1))
        for name, detect in DETECTORS.items():
            out["windows"][name][s["id"]] = detect(x, ok, s["bucket"], gap)
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as f:
            json.dump(out, f)
    else:
        json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
