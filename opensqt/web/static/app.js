// The live page: applies the server's messages to a local state, renders at most once per animation
// frame (so a burst of updates costs one render), and reconnects its websocket by itself with backoff.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const S = {
    symbol: "", epoch: "", version: 0, slots: new Map(), centre: null, last: null, engine: null,
    positions: [], totals: null, risk: null, metrics: null, breaker: null, orders: [], fills: [],
    alerts: [], conn: null, bars: new Map(), klineSource: "api",
  };
  const dirty = new Set();
  // What tests and the benchmark read: frames, lag (ms from server send to render), reconnects.
  const stats = window.__live = {
    loadId: Math.random().toString(36).slice(2), frames: 0, messages: 0, snapshots: 0, renders: 0,
    wsOpens: 0, lags: [], maxLag: 0, lastVersion: 0, chart: false,
  };

  // ---------------------------------------------------------------- formatting
  const fmtTime = (ms) => (ms ? new Date(ms).toLocaleTimeString([], { hour12: false }) : "—");
  const fmtAgo = (ms) => {
    if (!ms) return "";
    const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
    return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  };
  const dash = (v) => (v === null || v === undefined || v === "" ? "—" : String(v));
  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }
  function kvRows(tbody, rows) {
    tbody.replaceChildren(...rows.map(([k, v, cls]) => {
      const tr = document.createElement("tr");
      cell(tr, k); cell(tr, dash(v), cls);
      return tr;
    }));
  }

  // ---------------------------------------------------------------- messages
  function apply(m) {
    switch (m.type) {
      case "snapshot":
        stats.snapshots++;
        S.symbol = m.symbol; S.epoch = m.epoch; S.version = m.version; S.centre = m.centre; S.last = m.last;
        S.slots = new Map(m.slots.map((s) => [s.price, s]));
        S.engine = m.engine; S.positions = m.positions; S.totals = m.totals; S.risk = m.risk;
        S.metrics = m.metrics; S.breaker = m.breaker; S.orders = m.orders; S.fills = m.fills;
        S.alerts = m.alerts; S.conn = m.conn; S.klineSource = m.klines.source;
        S.bars = new Map(m.klines.bars.map((b) => [b.t, b]));
        ["head", "slots", "position", "risk", "orders", "fills", "conn", "chart", "lines", "markers"].forEach((d) => dirty.add(d));
        break;
      case "slots":
        if (m.full) S.slots = new Map();
        for (const s of m.slots) S.slots.set(s.price, s);
        for (const p of m.removed) S.slots.delete(p);
        S.epoch = m.epoch; S.version = m.version; S.centre = m.centre;
        stats.lastVersion = m.version;
        dirty.add("slots"); dirty.add("lines");
        break;
      case "price": S.last = m.last; dirty.add("head"); dirty.add("position"); break;
      case "engine": S.engine = m.engine; dirty.add("head"); break;
      case "positions": S.positions = m.positions; dirty.add("position"); break;
      case "risk": S.risk = m.risk; S.metrics = m.metrics; S.breaker = m.breaker; dirty.add("risk"); break;
      case "orders": S.orders = m.orders; dirty.add("orders"); dirty.add("lines"); break;
      case "fills":
        S.fills = S.fills.concat(m.fills).slice(-200); S.totals = m.totals;
        dirty.add("fills"); dirty.add("position"); dirty.add("markers");
        break;
      case "alert": S.alerts = S.alerts.concat([m.alert]).slice(-50); dirty.add("risk"); break;
      case "conn": S.conn = m.conn; dirty.add("conn"); break;
      case "kline": S.bars.set(m.bar.t, m.bar); pendingBars.push(m.bar); dirty.add("chart"); break;
    }
  }

  // ---------------------------------------------------------------- rendering
  let scheduled = false, oldestUnrendered = 0;
  function schedule(frameTs) {
    if (!oldestUnrendered) oldestUnrendered = frameTs;
    if (scheduled) return;
    scheduled = true;
    // requestAnimationFrame pauses in hidden tabs: a timer makes sure state still lands.
    const t = setTimeout(run, 250);
    requestAnimationFrame(() => { clearTimeout(t); run(); });
    function run() { if (scheduled) { scheduled = false; render(); } }
  }

  function render() {
    stats.renders++;
    if (oldestUnrendered) {
      const lag = Date.now() - oldestUnrendered;
      stats.lags.push(lag); if (stats.lags.length > 500) stats.lags.shift();
      stats.maxLag = Math.max(stats.maxLag, lag);
      oldestUnrendered = 0;
    }
    if (dirty.has("head")) renderHead();
    if (dirty.has("conn")) renderConn();
    if (dirty.has("slots")) renderSlots();
    if (dirty.has("position")) renderPosition();
    if (dirty.has("risk")) renderRisk();
    if (dirty.has("orders")) renderOrders();
    if (dirty.has("fills")) renderFills();
    if (chart) {
      if (dirty.has("chart")) renderBars();
      if (dirty.has("lines")) renderLines();
      if (dirty.has("markers")) renderMarkers();
    }
    dirty.clear();
  }

  function renderHead() {
    $("symbol").textContent = S.symbol || (S.engine && S.engine.symbol) || "…";
    $("last").textContent = dash(S.last);
    const e = S.engine, el = $("engine");
    if (!e) { el.textContent = "—"; el.className = ""; return; }
    el.textContent = e.running ? "running" : `paused (${e.paused.join(", ") || "no reason given"})`;
    el.className = e.running ? "buy" : "sell";
  }

  let wsUp = false, wsDownSince = 0;
  function renderConn() {
    const el = $("conn");
    if (!wsUp) {
      el.className = "badge down";
      el.textContent = `live server unreachable since ${fmtTime(wsDownSince)} (${fmtAgo(wsDownSince)}) — retrying`;
      return;
    }
    const c = S.conn;
    if (!c) { el.className = "badge warn"; el.textContent = "waiting for market_maker…"; return; }
    if (c.up) { el.className = "badge up"; el.textContent = `market_maker connected since ${fmtTime(c.since)}`; }
    else {
      el.className = "badge down";
      el.textContent = `market_maker disconnected since ${fmtTime(c.since)} (${fmtAgo(c.since)})` + (c.error ? ` · ${c.error}` : "");
    }
  }
  setInterval(() => { if (!wsUp || (S.conn && !S.conn.up)) { dirty.add("conn"); schedule(0); } }, 1000);

  const slotRows = new Map();
  function renderSlots() {
    const body = $("slots-body");
    const prices = [...S.slots.keys()].sort((a, b) => Number(b) - Number(a));
    const counts = { FREE: 0, PENDING: 0, LOCKED: 0 };
    const last = S.last === null ? null : Number(S.last);
    let nearest = null, best = Infinity;
    for (const p of prices) {
      const d = last === null ? Infinity : Math.abs(Number(p) - last);
      if (d < best) { best = d; nearest = p; }
    }
    const seen = new Set();
    const rows = prices.map((p) => {
      const s = S.slots.get(p);
      counts[s.status] = (counts[s.status] || 0) + 1;
      seen.add(p);
      let tr = slotRows.get(p);
      const key = [s.status, s.pos, s.qty, s.side, s.oprice, s.oqty, s.filled, s.ostatus, p === nearest].join("|");
      if (!tr || tr.dataset.key !== key) {
        const fresh = document.createElement("tr");
        fresh.dataset.price = p; fresh.dataset.key = key;
        if (p === nearest) fresh.className = "near";
        cell(fresh, p);
        const st = cell(fresh, ""); const span = document.createElement("span");
        span.className = `st st-${s.status}`; span.textContent = s.status; st.appendChild(span);
        cell(fresh, s.pos + (s.pside ? ` (${s.pside === "buy" ? "long" : "short"})` : ""));
        cell(fresh, s.qty);
        cell(fresh, s.side ? s.side.toUpperCase() : "—", s.side || "");
        cell(fresh, dash(s.oprice)); cell(fresh, s.side ? s.oqty : "—"); cell(fresh, s.side ? s.filled : "—");
        cell(fresh, dash(s.ostatus));
        tr = fresh; slotRows.set(p, tr);
      }
      return tr;
    });
    for (const p of [...slotRows.keys()]) if (!seen.has(p)) slotRows.delete(p);
    body.replaceChildren(...rows);
    $("slot-counts").textContent = `${prices.length} levels · FREE ${counts.FREE} · PENDING ${counts.PENDING} · LOCKED ${counts.LOCKED}` +
      (S.centre ? ` · centre ${S.centre}` : "") + ` · v${S.version}`;
  }

  function renderPosition() {
    const rows = [];
    if (!S.positions.length) rows.push(["position", "flat"]);
    for (const p of S.positions) {
      const side = Number(p.size) > 0 ? "long" : Number(p.size) < 0 ? "short" : "flat";
      rows.push([`${p.symbol} size`, `${p.size} (${side})`, Number(p.size) > 0 ? "buy" : Number(p.size) < 0 ? "sell" : ""]);
      rows.push(["entry price", p.entry]);
      rows.push(["mark price", p.mark]);
      rows.push(["unrealized PnL", p.upnl, Number(p.upnl) >= 0 ? "buy" : "sell"]);
      rows.push(["notional", p.notional]);
      rows.push(["liquidation", p.liq]);
    }
    const t = S.totals;
    if (t) {
      rows.push(["realized PnL (fills seen)", t.realized, Number(t.realized) >= 0 ? "buy" : "sell"]);
      rows.push(["fees paid (fills seen)", t.fees]);
      rows.push(["fills seen", String(t.fills)]);
    }
    rows.push(["funding", "not served by the grid API"]);
    kvRows($("position-body"), rows);
  }

  function renderRisk() {
    const r = S.risk, b = S.breaker, m = S.metrics, badge = $("risk-state");
    if (!r) { badge.textContent = "—"; badge.className = "badge"; }
    else if (r.triggered) { badge.textContent = "TRIGGERED"; badge.className = "badge bad"; }
    else { badge.textContent = "normal"; badge.className = "badge ok"; }
    const rows = [];
    if (r) {
      rows.push(["monitor", r.triggered ? `triggered since ${fmtTime(r.since)} (${fmtAgo(r.since)} ago)` : "not triggered", r.triggered ? "sell" : "buy"]);
      rows.push(["strategy", r.strategy]);
    }
    if (b) rows.push(["circuit breaker", b.open ? `OPEN since ${fmtTime(b.since)}: ${b.reason}${b.detail ? " — " + b.detail : ""}${b.actor ? " (by " + b.actor + ")" : ""}` : "closed", b.open ? "sell" : "buy"]);
    if (m) {
      rows.push(["exposure", m.exposure]);
      rows.push(["equity", m.equity]);
      rows.push(["drawdown", m.drawdown]);
    }
    kvRows($("risk-body"), rows);
    $("risk-symbols").replaceChildren(...((r && r.symbols) || []).map((s) => {
      const tr = document.createElement("tr");
      cell(tr, s.symbol); cell(tr, s.state, s.state === "normal" || s.state === "ok" ? "buy" : "sell");
      cell(tr, dash(s.reason)); cell(tr, dash(s.vol));
      return tr;
    }));
    $("alerts").replaceChildren(...S.alerts.slice(-20).reverse().map((a) => {
      const li = document.createElement("li");
      li.textContent = `${fmtTime(a.ts)} ${a.kind}${a.symbol ? " " + a.symbol : ""}: ${a.message}`;
      return li;
    }));
  }

  function renderOrders() {
    $("orders-body").replaceChildren(...S.orders.map((o) => {
      const tr = document.createElement("tr");
      cell(tr, o.side.toUpperCase(), o.side); cell(tr, dash(o.price)); cell(tr, o.qty); cell(tr, o.filled); cell(tr, o.status);
      return tr;
    }));
  }

  function renderFills() {
    $("fills-body").replaceChildren(...S.fills.slice(-50).reverse().map((f) => {
      const tr = document.createElement("tr");
      cell(tr, fmtTime(f.ts)); cell(tr, f.side.toUpperCase(), f.side); cell(tr, f.price); cell(tr, f.qty);
      cell(tr, `${f.fee} ${f.fee_asset}`); cell(tr, dash(f.rpnl));
      return tr;
    }));
  }

  // ---------------------------------------------------------------- chart
  const LW = window.LightweightCharts;
  let chart = null, candles = null, volume = null, markers = null;
  const pendingBars = [];
  const lines = new Map();
  if (LW && LW.createChart) {
    stats.chart = true;
    const box = $("chart");
    chart = LW.createChart(box, {
      autoSize: true,
      layout: { background: { color: "#171d24" }, textColor: "#d8dee6" },
      grid: { vertLines: { color: "#222a33" }, horzLines: { color: "#222a33" } },
      timeScale: { timeVisible: true, secondsVisible: false },
      rightPriceScale: { borderColor: "#2a323c" },
    });
    candles = chart.addSeries(LW.CandlestickSeries, {
      upColor: "#26a69a", downColor: "#ef5350", borderVisible: false, wickUpColor: "#26a69a", wickDownColor: "#ef5350",
    });
    volume = chart.addSeries(LW.HistogramSeries, { priceFormat: { type: "volume" }, priceScaleId: "vol", color: "#4a90d980",
      lastValueVisible: false, priceLineVisible: false });
    chart.priceScale("vol").applyOptions({ scaleMargins: { top: 0.82, bottom: 0 } });
    markers = LW.createSeriesMarkers(candles, []);
  } else {
    $("chart").hidden = true;
    $("chart-missing").hidden = false;
  }

  const barData = (b) => ({ time: Math.floor(b.t / 1000), open: +b.o, high: +b.h, low: +b.l, close: +b.c });
  const volData = (b) => ({ time: Math.floor(b.t / 1000), value: +b.v, color: +b.c >= +b.o ? "#26a69a80" : "#ef535080" });
  let barsLoaded = false;
  function renderBars() {
    $("kline-source").textContent = S.klineSource === "venue"
      ? "candles and volume from the venue's kline stream"
      : "candles from market_maker's prices (API); volume = our fills";
    if (!barsLoaded || pendingBars.length > 200) {
      const sorted = [...S.bars.values()].sort((a, b) => a.t - b.t);
      candles.setData(sorted.map(barData)); volume.setData(sorted.map(volData));
      barsLoaded = true; pendingBars.length = 0;
      return;
    }
    for (const b of pendingBars.splice(0)) {
      try { candles.update(barData(b)); volume.update(volData(b)); }
      catch (e) { barsLoaded = false; } // an out-of-order bar: redraw from the whole set next frame
    }
    if (!barsLoaded) { dirty.add("chart"); schedule(0); }
  }

  function renderLines() {
    // Grid levels (dotted) and working orders (solid, coloured); the 60 nearest the price keep the chart calm.
    const want = new Map();
    const last = S.last === null ? Number(S.centre || 0) : Number(S.last);
    const prices = [...S.slots.keys()].sort((a, b) => Math.abs(a - last) - Math.abs(b - last)).slice(0, 60);
    for (const p of prices) {
      const s = S.slots.get(p);
      if (s.side && s.oprice && s.status !== "FREE") {
        want.set(`o:${s.oprice}:${s.side}`, { price: +s.oprice, color: s.side === "buy" ? "#26a69a" : "#ef5350", lineWidth: 1, lineStyle: 0, axisLabelVisible: false, title: `${s.side.toUpperCase()} ${s.oqty}` });
      } else {
        want.set(`g:${p}`, { price: +p, color: "#5b6673", lineWidth: 1, lineStyle: 1, axisLabelVisible: false, title: "" });
      }
    }
    for (const o of S.orders) {
      if (o.price && o.symbol === S.symbol && !want.has(`o:${o.price}:${o.side}`)) {
        want.set(`o:${o.price}:${o.side}`, { price: +o.price, color: o.side === "buy" ? "#26a69a" : "#ef5350", lineWidth: 1, lineStyle: 0, axisLabelVisible: false, title: `${o.side.toUpperCase()} ${o.qty}` });
      }
    }
    for (const [k, line] of lines) if (!want.has(k)) { candles.removePriceLine(line); lines.delete(k); }
    for (const [k, opts] of want) {
      const line = lines.get(k);
      if (line) line.applyOptions(opts); else lines.set(k, candles.createPriceLine(opts));
    }
    stats.priceLines = lines.size;
  }

  function renderMarkers() {
    const tf = 60; // seconds per bar (1m)
    markers.setMarkers(S.fills.filter((f) => f.symbol === S.symbol).map((f) => ({
      time: Math.floor(f.ts / 1000 / tf) * tf, position: f.side === "buy" ? "belowBar" : "aboveBar",
      color: f.side === "buy" ? "#26a69a" : "#ef5350", shape: f.side === "buy" ? "arrowUp" : "arrowDown",
      id: f.id,
    })).sort((a, b) => a.time - b.time));
  }

  // ---------------------------------------------------------------- websocket
  let attempt = 0;
  function connect() {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
    ws.onopen = () => { attempt = 0; wsUp = true; stats.wsOpens++; dirty.add("conn"); schedule(0); };
    ws.onmessage = (ev) => {
      const frame = JSON.parse(ev.data);
      stats.frames++;
      for (const m of frame.msgs) { stats.messages++; apply(m); }
      schedule(frame.ts);
    };
    ws.onclose = () => {
      if (wsUp || !wsDownSince) wsDownSince = Date.now();
      wsUp = false; dirty.add("conn"); schedule(0);
      // Jittered exponential backoff, 0.25 s doubling to 5 s; the server starts every connection with a snapshot.
      const delay = Math.random() * Math.min(5000, 250 * 2 ** attempt++);
      setTimeout(connect, delay);
    };
  }
  connect();
})();
