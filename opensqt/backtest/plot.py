"""Plots of a backtest: price with the grid's resting orders and fills, equity, position. A PNG through
matplotlib (Agg, no display) and a self-contained HTML page (inline SVG and a few lines of JS, no CDN)."""

from __future__ import annotations

import html as _html
import itertools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from opensqt.backtest.result import BacktestResult

MAX_POINTS = 2000


def order_segments(result: BacktestResult) -> list[tuple[int, int, float, int]]:
    """(start ms, end ms, price, side) of every accepted order: from placement to its fill or cancel."""
    rec = result.record
    end_of: dict[str, int] = {}
    for f in rec.fills:
        end_of[f[2]] = f[0]
    for o in rec.orders:
        if o[1] == "cancel" and o[8] == "cancelled":
            end_of[o[2]] = o[0]
    out = []
    for o in rec.orders:
        if o[1] == "place" and o[8] == "accepted":
            out.append((o[0], end_of.get(o[2], rec.end_ms), float(o[4]), 1 if o[3] == "buy" else -1))
    return out


def _price_series(result: BacktestResult) -> tuple[np.ndarray, np.ndarray]:
    """Trade prices reduced to at most ~MAX_POINTS points, keeping each bucket's low and high."""
    ts, px = result._trade_ts, result._trade_px * float(result.instrument.tick_size)
    if len(ts) <= MAX_POINTS:
        return ts, px
    edges = np.linspace(0, len(ts), MAX_POINTS // 2 + 1).astype(np.int64)
    out_t, out_p = [], []
    for a, b in itertools.pairwise(edges):
        if b <= a:
            continue
        seg = px[a:b]
        i, j = int(seg.argmin()), int(seg.argmax())
        for k in sorted((i, j)):
            out_t.append(ts[a + k])
            out_p.append(seg[k])
    return np.array(out_t), np.array(out_p)


def plot_png(result: BacktestResult, path: str | Path | None) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    ts, px = _price_series(result)
    eq_ts, _, pos, eq = result.equity_arrays()
    f_ts, f_px, f_side = result.fill_side_arrays()
    fig, axes = plt.subplots(3, 1, figsize=(12, 8), sharex=True, gridspec_kw={"height_ratios": [3, 1.3, 1]})
    t0 = result.record.start_ms

    def minutes(a: np.ndarray) -> np.ndarray:
        return (np.asarray(a, dtype=np.float64) - t0) / 60_000.0

    ax = axes[0]
    segs = order_segments(result)
    if segs:
        lines = [[(minutes(np.array([s]))[0], p), (minutes(np.array([e]))[0], p)] for s, e, p, _ in segs]
        colors = ["#2a9d8f55" if side > 0 else "#e76f5155" for *_, side in segs]
        ax.add_collection(LineCollection(lines, colors=colors, linewidths=1.0))
    ax.plot(minutes(ts), px, color="#264653", linewidth=0.7, label="last trade")
    if len(f_ts):
        buy = f_side > 0
        ax.scatter(
            minutes(f_ts[buy]), f_px[buy], marker="^", color="#2a9d8f", s=18, label="buy fill", zorder=3
        )
        ax.scatter(
            minutes(f_ts[~buy]), f_px[~buy], marker="v", color="#e76f51", s=18, label="sell fill", zorder=3
        )
    ax.set_ylabel(f"price ({result.instrument.quote})")
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title(f"{result.instrument.symbol}: grid orders (lines), fills and price")
    axes[1].plot(minutes(eq_ts), eq, color="#6a4c93", linewidth=1.0)
    axes[1].set_ylabel("equity")
    axes[2].step(minutes(eq_ts), pos, where="post", color="#f4a261", linewidth=1.0)
    axes[2].set_ylabel("position")
    axes[2].set_xlabel("minutes since start")
    for a in axes:
        a.grid(alpha=0.3)
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    plt.close(fig)
    return fig


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>%(title)s</title>
<style>
body{font:13px system-ui,sans-serif;margin:16px;color:#222}svg{background:#fff;border:1px solid #ddd}
table{border-collapse:collapse;margin:12px 0}td{padding:2px 10px;border-bottom:1px solid #eee}
#tip{position:fixed;pointer-events:none;background:#222;color:#fff;padding:4px 6px;border-radius:3px;
font-size:12px;display:none}
</style></head><body>
<h2>%(title)s</h2>
<svg id="chart" width="1100" height="620"></svg><div id="tip"></div>
<h3>Summary</h3><table>%(summary)s</table>
%(warnings)s
<script>
const D = %(data)s;
const svg = document.getElementById('chart'), NS = 'http://www.w3.org/2000/svg';
const W = 1100, L = 70, R = 20, panels = [[10, 330, 'price'], [360, 130, 'equity'], [510, 90, 'position']];
const t0 = D.t0, t1 = D.t1, x = t => L + (t - t0) / Math.max(1, t1 - t0) * (W - L - R);
function el(tag, attrs, parent) { const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]); (parent || svg).appendChild(e); return e; }
function scale(vals, top, h) { let lo = Math.min(...vals), hi = Math.max(...vals);
  if (!(hi > lo)) { lo -= 1; hi += 1; } const pad = (hi - lo) * 0.05; lo -= pad; hi += pad;
  return [v => top + h - (v - lo) / (hi - lo) * h, lo, hi]; }
function axis(top, h, lo, hi, name) { el('rect', {x: L, y: top, width: W - L - R, height: h,
  fill: 'none', stroke: '#ccc'}); for (let i = 0; i <= 4; i++) { const v = lo + (hi - lo) * i / 4;
  const y = top + h - h * i / 4; el('text', {x: 4, y: y + 4, 'font-size': 10}).textContent = v.toFixed(2); }
  el('text', {x: L + 4, y: top + 12, 'font-size': 11, fill: '#555'}).textContent = name; }
function line(ts, vs, sy, color, step) { let d = ''; for (let i = 0; i < ts.length; i++) {
  const X = x(ts[i]).toFixed(1), Y = sy(vs[i]).toFixed(1);
  if (i === 0) d += 'M' + X + ' ' + Y; else if (step) d += 'H' + X + 'V' + Y; else d += 'L' + X + ' ' + Y; }
  el('path', {d, fill: 'none', stroke: color, 'stroke-width': 1}); }
const [py, plo, phi] = scale(D.price.concat(D.fills.map(f => f[1])), panels[0][0], panels[0][1]);
axis(panels[0][0], panels[0][1], plo, phi, 'price, resting orders, fills');
for (const s of D.orders) el('line', {x1: x(s[0]), x2: x(s[1]), y1: py(s[2]), y2: py(s[2]),
  stroke: s[3] > 0 ? '#2a9d8f66' : '#e76f5166', 'stroke-width': 1});
line(D.ts, D.price, py, '#264653', false);
for (const f of D.fills) el('circle', {cx: x(f[0]), cy: py(f[1]), r: 3,
  fill: f[2] > 0 ? '#2a9d8f' : '#e76f51'});
const [ey, elo, ehi] = scale(D.equity, panels[1][0], panels[1][1]);
axis(panels[1][0], panels[1][1], elo, ehi, 'equity'); line(D.ets, D.equity, ey, '#6a4c93', false);
const [qy, qlo, qhi] = scale(D.position, panels[2][0], panels[2][1]);
axis(panels[2][0], panels[2][1], qlo, qhi, 'position'); line(D.ets, D.position, qy, '#f4a261', true);
const cross = el('line', {y1: 10, y2: 600, stroke: '#999', 'stroke-dasharray': '3 3'});
const tip = document.getElementById('tip');
function near(ts, t) { let a = 0, b = ts.length - 1; while (a < b) { const m = (a + b + 1) >> 1;
  if (ts[m] <= t) a = m; else b = m - 1; } return a; }
svg.addEventListener('mousemove', ev => { const r = svg.getBoundingClientRect(), X = ev.clientX - r.left;
  if (X < L || X > W - R) { tip.style.display = 'none'; return; }
  const t = t0 + (X - L) / (W - L - R) * (t1 - t0); cross.setAttribute('x1', X); cross.setAttribute('x2', X);
  const i = near(D.ts, t), j = near(D.ets, t);
  tip.innerHTML = new Date(t).toISOString().replace('T', ' ').slice(0, 19) + '<br>price ' +
    D.price[i].toFixed(2) + '<br>equity ' + D.equity[j].toFixed(2) + '<br>position ' + D.position[j];
  tip.style.display = 'block'; tip.style.left = (ev.clientX + 12) + 'px';
  tip.style.top = (ev.clientY + 12) + 'px'; });
svg.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
</script></body></html>
"""


def plot_html(result: BacktestResult, path: str | Path) -> None:
    """One HTML file with everything inline (data as JSON, SVG drawn by a small script): opens offline."""
    ts, px = _price_series(result)
    eq_ts, _, pos, eq = result.equity_arrays()
    f_ts, f_px, f_side = result.fill_side_arrays()
    segs = order_segments(result)
    if len(segs) > 5000:
        segs = segs[-5000:]
    data = {
        "t0": int(result.record.start_ms),
        "t1": int(result.record.end_ms),
        "ts": [int(t) for t in ts],
        "price": [round(float(p), 8) for p in px],
        "ets": [int(t) for t in eq_ts],
        "equity": [round(float(e), 4) for e in eq],
        "position": [float(p) for p in pos],
        "fills": [[int(t), float(p), int(s)] for t, p, s in zip(f_ts, f_px, f_side, strict=True)],
        "orders": [[s, e, p, side] for s, e, p, side in segs],
    }
    summary = result.summary()
    rows = "".join(
        f"<tr><td>{_html.escape(k)}</td><td>{_html.escape(str(v))}</td></tr>" for k, v in summary.table_rows()
    )
    warnings = ""
    if result.warnings:
        items = "".join(f"<li>{_html.escape(w)}</li>" for w in result.warnings)
        warnings = f"<h3>Warnings</h3><ul>{items}</ul>"
    title = _html.escape(f"Backtest {result.instrument.symbol}")
    page = _PAGE % {
        "title": title,
        "summary": rows,
        "warnings": warnings,
        # '</' could close the script element early
        "data": json.dumps(data, separators=(",", ":")).replace("</", "<\\/"),
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(page, encoding="utf-8")
