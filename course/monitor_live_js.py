"""The browser side of :class:`course.monitor_live.LivePlots`: an ES module (anywidget) that keeps the points the
kernel sends and draws the panels on canvases.

Messages from the kernel: ``{"t": "data", "reset": bool, "panels": {kind: {name: [xs, ys]}}, "hist": {...}}``
carry only new points (``reset``: forget what was kept first) and the latest histogram counts. The module sends
``{"t": "ready"}`` once per page when the model is created, and the kernel answers with everything so far.
Ticks are plain numbers or scientific notation (``2.5e-3``), never SI letters; legends and notes are HTML beside
the canvas, never on the data. ``data-points`` on each panel counts the points drawn (read by the browser tests).
"""

ESM = r"""
const STORES = new Map();
const ORDER = ["main", "accuracy", "grad_rms", "update_ratio", "dead_frac", "output_absmax"];
const TITLES = {accuracy: "accuracy", grad_rms: "gradient RMS per layer", update_ratio: "update / weight per update",
                dead_frac: "dead ReLU fraction", output_absmax: "largest |output|"};
const LOG_KINDS = new Set(["grad_rms", "update_ratio", "output_absmax"]);
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
const HEALTHY = [1e-4, 1e-2];
const RATIO_TOP = 10;
const W = 330, H = 200, M = {l: 56, r: 18, t: 8, b: 32};

// the learner's language: the kernel sends the translated texts (course.monitor_live.live_labels); English without
function label(model, key, fallback) { return (model.get("labels") || {})[key] || fallback; }
function fill(text, values) {
  return text.replace(/\{(\w+)(?:![rsa])?(?::[^}]*)?\}/g, (m, k) => (k in values ? String(values[k]) : m))
    .replace(/(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])/g, "");  // as course.i18n.fill: no gap inside Chinese
}

function storeOf(model) {
  const key = model.get("key");
  let s = STORES.get(key);
  if (!s) {
    s = {panels: {}, hist: null, views: new Set()};
    STORES.set(key, s);
  }
  return s;
}

function onMessage(s, msg) {
  if (!msg || msg.t !== "data") return;
  if (msg.reset) s.panels = {};
  for (const [kind, series] of Object.entries(msg.panels || {})) {
    const panel = s.panels[kind] || (s.panels[kind] = {});
    for (const [name, [xs, ys]] of Object.entries(series)) {
      const ser = panel[name] || (panel[name] = {x: [], y: []});
      for (let i = 0; i < xs.length; i++) {
        ser.x.push(xs[i]);
        ser.y.push(ys[i] === null ? NaN : ys[i]);
      }
    }
  }
  if (msg.hist) s.hist = msg.hist;
  for (const redraw of s.views) redraw();
}

// ---- numbers ----------------------------------------------------------------------------------------------
function trimExp(text) {  // "2.50e-3" -> "2.5e-3", "1.0e+6" -> "1e6"
  let [m, e] = text.split("e");
  if (m.includes(".")) m = m.replace(/0+$/, "").replace(/\.$/, "");
  return m + "e" + String(parseInt(e, 10));
}

function fmtTick(v, step) {
  if (v === 0) return "0";
  const e = Math.floor(Math.log10(Math.abs(step)) + 1e-9);
  const extra = Math.abs(Math.abs(step) / Math.pow(10, e) - 2.5) < 1e-6 ? 1 : 0;
  const big = Math.max(Math.abs(v), Math.abs(step));
  if (big >= 1e5 || big < 1e-3) {
    const digits = Math.max(0, Math.min(6, Math.floor(Math.log10(Math.abs(v)) + 1e-9) - e + extra));
    return trimExp(v.toExponential(digits));
  }
  return v.toFixed(Math.max(0, Math.min(8, -e + extra)));
}

function fmtValue(v) {
  if (!isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return trimExp(v.toExponential(2));
  return String(Number(v.toPrecision(4)));
}

function niceStep(span, n) {
  const raw = span / Math.max(1, n);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function linearTicks(lo, hi, n, integer) {
  let step = niceStep(hi - lo, n);
  for (let k = n + 1; Math.floor(hi / step) - Math.ceil(lo / step) < 1 && k <= 4 * n; k++) {
    step = niceStep(hi - lo, k);  // at least 2 ticks, as few more as that takes
  }
  if (integer) step = Math.max(1, Math.round(step));
  const out = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return {ticks: out, step};
}

function logLabel(k) {
  if (k >= -2 && k <= 3) return String(Number(Math.pow(10, k).toPrecision(1)));
  return "1e" + k;
}

// ---- scales -----------------------------------------------------------------------------------------------
function xRange(panels) {  // one range for every panel: a statistic sampled up to step 20 of 120 ends mid-panel
  let lo = Infinity, hi = -Infinity;
  for (const panel of panels) {
    for (const ser of Object.values(panel)) for (const x of ser.x) { if (x < lo) lo = x; if (x > hi) hi = x; }
  }
  if (lo === hi) { lo -= 1; hi += 1; }  // one step: a range of whole steps around it
  return [lo, hi];
}

function yScale(kind, panel, logWanted) {
  const vals = [];
  for (const ser of Object.values(panel)) for (const v of ser.y) if (isFinite(v)) vals.push(v);
  const notes = [];
  if (kind === "dead_frac") return {log: false, lo: -0.03, hi: 1.03, notes};
  if (logWanted) {
    const pos = vals.filter(v => v > 0);
    if (pos.length) {
      let lo = Math.min(...pos), hi = Math.max(...pos);
      if (kind === "update_ratio") {
        lo = Math.min(lo, HEALTHY[0]); hi = Math.max(hi, HEALTHY[1]);
        if (hi > RATIO_TOP) hi = RATIO_TOP;
      }
      let a = Math.floor(Math.log10(lo)), b = Math.ceil(Math.log10(hi)), fine = false;
      if (Math.log10(hi / lo) < 1 && kind !== "update_ratio") {  // less than a decade: zoom in, plain ticks
        const pad = Math.max(Math.log10(hi / lo) * 0.05, 0.01);
        a = Math.log10(lo) - pad; b = Math.log10(hi) + pad; fine = true;
      } else if (a === b) { a -= 1; b += 1; }
      return {log: true, lo: Math.pow(10, a), hi: Math.pow(10, b), a, b, fine, notes};
    }
  }
  let lo = vals.length ? Math.min(...vals) : 0, hi = vals.length ? Math.max(...vals) : 1;
  if (lo === hi) { const pad = Math.abs(lo) * 0.1 || 1; lo -= pad; hi += pad; }
  const pad = (hi - lo) * 0.05;
  return {log: false, lo: lo - pad, hi: hi + pad, notes};
}

function ema(ys, w) {
  const out = new Array(ys.length);
  let last = 0, norm = 0;
  for (let i = 0; i < ys.length; i++) {
    if (isFinite(ys[i])) { last = last * w + (1 - w) * ys[i]; norm = norm * w + (1 - w); }
    out[i] = norm ? last / norm : NaN;
  }
  return out;
}

// ---- drawing ----------------------------------------------------------------------------------------------
function canvasOf(box, w, h) {
  let c = box.querySelector("canvas");
  const dpr = window.devicePixelRatio || 1;
  if (!c) {
    c = document.createElement("canvas");
    c.style.width = w + "px"; c.style.height = h + "px";
    c.width = Math.round(w * dpr); c.height = Math.round(h * dpr);
    box.appendChild(c);
  }
  const ctx = c.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = "10px sans-serif";
  return ctx;
}

function el(tag, cls, parent, style) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (style) e.style.cssText = style;
  if (parent) parent.appendChild(e);
  return e;
}

function drawAxes(ctx, xs, ys, w, h, xLabel) {
  const pw = w - M.l - M.r, ph = h - M.t - M.b;
  const X = v => M.l + (v - xs.lo) / (xs.hi - xs.lo) * pw;
  const Y = ys.log ? v => M.t + (1 - (Math.log10(v) - ys.a) / (ys.b - ys.a)) * ph
                   : v => M.t + (1 - (v - ys.lo) / (ys.hi - ys.lo)) * ph;
  ctx.strokeStyle = "#ddd"; ctx.fillStyle = "#333"; ctx.lineWidth = 1;
  const xt = linearTicks(xs.lo, xs.hi, 4, xs.integer);
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const v of xt.ticks) {
    const px = X(v);
    ctx.beginPath(); ctx.moveTo(px, M.t); ctx.lineTo(px, M.t + ph); ctx.stroke();
    ctx.fillText(fmtTick(v, xt.step), Math.min(px, w - 14), M.t + ph + 3);
  }
  ctx.fillText(xLabel, M.l + pw / 2, M.t + ph + 17);
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  if (ys.log && ys.fine) {
    const yt = linearTicks(ys.lo, ys.hi, 6, false);
    let last = Infinity;
    for (const v of yt.ticks) {
      if (v <= 0 || last - Y(v) < 14) continue;  // on a log axis the upper ticks crowd: keep labels apart
      const py = last = Y(v);
      ctx.beginPath(); ctx.moveTo(M.l, py); ctx.lineTo(M.l + pw, py); ctx.stroke();
      ctx.fillText(fmtTick(v, yt.step), M.l - 4, py);
    }
  } else if (ys.log) {
    const every = Math.max(1, Math.ceil((ys.b - ys.a) / 6));
    for (let k = ys.a; k <= ys.b; k += every) {
      const py = Y(Math.pow(10, k));
      ctx.beginPath(); ctx.moveTo(M.l, py); ctx.lineTo(M.l + pw, py); ctx.stroke();
      ctx.fillText(logLabel(k), M.l - 4, py);
    }
  } else {
    const yt = linearTicks(ys.lo, ys.hi, 5, false);
    for (const v of yt.ticks) {
      const py = Y(v);
      ctx.beginPath(); ctx.moveTo(M.l, py); ctx.lineTo(M.l + pw, py); ctx.stroke();
      ctx.fillText(fmtTick(v, yt.step), M.l - 4, py);
    }
  }
  ctx.strokeStyle = "#888";
  ctx.strokeRect(M.l, M.t, pw, ph);
  return {X, Y, pw, ph};
}

function drawLine(ctx, xs, ys, X, Y, sc, color, width, alpha, markers) {
  const n = xs.length, stride = Math.max(1, Math.floor(n / 1500));
  const ok = v => isFinite(v) && (!sc.log || v > 0);
  const py = v => Y(sc.log ? Math.min(v, sc.hi) : v);
  ctx.save();
  ctx.strokeStyle = color; ctx.fillStyle = color; ctx.lineWidth = width; ctx.globalAlpha = alpha;
  ctx.beginPath();
  let pen = false;
  for (let i = 0; i < n; i = (i + stride < n || i === n - 1) ? i + stride : n - 1) {
    if (!ok(ys[i])) { pen = false; continue; }
    if (pen) ctx.lineTo(X(xs[i]), py(ys[i])); else ctx.moveTo(X(xs[i]), py(ys[i]));
    pen = true;
  }
  ctx.stroke();
  if (markers) {
    for (let i = 0; i < n; i++) {
      if (!ok(ys[i])) continue;
      ctx.beginPath(); ctx.arc(X(xs[i]), py(ys[i]), 2.5, 0, 2 * Math.PI); ctx.fill();
    }
  }
  ctx.restore();
}

function drawPanel(box, kind, panel, model, range) {
  const smoothing = model.get("smoothing");
  const logWanted = LOG_KINDS.has(kind) || (kind === "main" && model.get("log_scale"));
  const names = Object.keys(panel);
  const longest = Math.max(...names.map(n => panel[n].x.length));
  const xs = {integer: true};
  [xs.lo, xs.hi] = range;
  for (const n of names) for (const x of panel[n].x) if (!Number.isInteger(x)) xs.integer = false;
  const ys = yScale(kind, panel, logWanted);
  const ctx = canvasOf(box.querySelector(".ctm-plot"), W, H);
  const {X, Y, pw} = drawAxes(ctx, xs, ys, W, H, model.get("x_label"));
  const legend = [];
  const notes = [];
  if (kind === "update_ratio" && ys.log) {
    const top = Y(Math.min(HEALTHY[1], ys.hi)), bottom = Y(Math.max(HEALTHY[0], ys.lo));
    ctx.fillStyle = "rgba(44,160,44,0.10)"; ctx.fillRect(M.l, top, pw, bottom - top);
    ctx.strokeStyle = "#2ca02c"; ctx.setLineDash([5, 4]);
    ctx.beginPath(); ctx.moveTo(M.l, Y(1e-3)); ctx.lineTo(M.l + pw, Y(1e-3)); ctx.stroke(); ctx.setLineDash([]);
    legend.push(["#2ca02c", label(model, "healthy", "healthy ~1e-3 (CS231n)"), "dashed"]);
  }
  let total = 0;
  names.forEach((name, i) => {
    const ser = panel[name], color = COLORS[i % COLORS.length], n = ser.x.length;
    total += n;
    const markers = n <= 30 || n < 0.25 * longest;
    const smooth = kind === "main" && smoothing > 0 && n >= 50;
    if (smooth) {
      drawLine(ctx, ser.x, ser.y, X, Y, ys, color, 0.8, 0.3, false);
      drawLine(ctx, ser.x, ema(ser.y, smoothing), X, Y, ys, color, 1.8, 1, false);
      legend.push([color, name + " (EMA " + smoothing + ")", "solid"]);
    } else {
      drawLine(ctx, ser.x, ser.y, X, Y, ys, color, 1.4, 1, markers);
      legend.push([color, name, markers ? "dot" : "solid"]);
    }
    const at = (key, fallback, j, value) =>
      fill(label(model, key, fallback), {name, value, x_label: model.get("x_label"), step: ser.x[j]});
    const bad = ser.y.findIndex(v => !isFinite(v));
    if (bad >= 0) {
      notes.push(at("not_finite", "{name} is {value} from {x_label} {step} on (not drawn)", bad, ser.y[bad]));
    }
    if (kind === "update_ratio") {
      const zero = ser.y.findIndex(v => v === 0);
      if (zero >= 0) {
        notes.push(at("ratio_zero", "{name}: ratio 0 at {x_label} {step} (weights frozen), not drawn on the log scale",
                      zero, 0));
      }
      let worst = -1;
      ser.y.forEach((v, j) => { if (isFinite(v) && v > RATIO_TOP && (worst < 0 || v > ser.y[worst])) worst = j; });
      if (worst >= 0) notes.push(at("off_scale", "off scale: {name} {value} at {x_label} {step}", worst,
                                    fmtValue(ser.y[worst])));
    }
    if (ys.log && kind !== "update_ratio" && ser.y.some(v => v <= 0)) {
      notes.push(fill(label(model, "not_positive", "{name} has values <= 0, not drawn on the log scale"), {name}));
    }
  });
  box.dataset.points = String(total);
  box.querySelector(".ctm-legend").innerHTML = legend.map(([c, t, style]) =>
    `<span style="white-space:nowrap;margin-right:10px"><span style="display:inline-block;width:14px;height:0;` +
    `border-top:2px ${style === "dashed" ? "dashed" : "solid"} ${c};vertical-align:middle;margin-right:3px"></span>` +
    `${escapeHtml(t)}</span>`).join("");
  box.querySelector(".ctm-note").textContent = notes.join(" · ");
}

function escapeHtml(t) {
  return String(t).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
}

function drawHistogram(box, h, color) {
  const w = 220, hh = 110, m = {l: 8, r: 8, t: 4, b: 18};
  const ctx = canvasOf(box.querySelector(".ctm-plot"), w, hh);
  const counts = h.counts, n = counts.length, top = Math.max(1, ...counts);
  let lo = h.lo, hi = h.hi;
  if (lo === hi) { const pad = Math.abs(lo) * 0.1 || 1; lo -= pad; hi += pad; }
  const pw = w - m.l - m.r, ph = hh - m.t - m.b;
  const X = v => m.l + (v - lo) / (hi - lo) * pw;
  ctx.fillStyle = color; ctx.globalAlpha = 0.85;
  const bw = (h.hi - h.lo) / n;
  for (let i = 0; i < n; i++) {
    const x0 = X(h.lo + i * bw), x1 = X(h.lo + (i + 1) * bw), y = counts[i] / top * ph;
    ctx.fillRect(x0, m.t + ph - y, Math.max(1, x1 - x0), y);
  }
  ctx.globalAlpha = 1; ctx.strokeStyle = "#888"; ctx.strokeRect(m.l, m.t, pw, ph);
  ctx.fillStyle = "#333"; ctx.textAlign = "center"; ctx.textBaseline = "top";
  const t = linearTicks(lo, hi, 3, false);
  for (const v of t.ticks) ctx.fillText(fmtTick(v, t.step), Math.min(Math.max(X(v), m.l + 12), w - 14), m.t + ph + 3);
}

function availableWidth(root) {
  // the notebook's output column (the monitor's own box is only as wide as its content)
  const child = root.closest(".jp-OutputArea-child");
  if (!child) return 1100;
  const prompt = child.querySelector(".jp-OutputArea-prompt");
  return child.clientWidth - (prompt ? prompt.offsetWidth : 0) - 40;
}

function drawAll(root, s, model) {
  const grid = root.querySelector(".ctm-grid");
  const kinds = ORDER.filter(k => s.panels[k] && Object.keys(s.panels[k]).length);
  const avail = availableWidth(root);
  const fit = Math.floor((avail + 14) / (W + 14));
  grid.style.gridTemplateColumns = `repeat(${Math.max(1, Math.min(3, kinds.length, fit))}, ${W}px)`;
  const range = xRange(kinds.map(k => s.panels[k]));
  for (const kind of kinds) {
    let box = grid.querySelector(`[data-kind="${kind}"]`);
    if (!box) {
      box = el("div", "ctm-panel", null, "display:flex;flex-direction:column");
      box.dataset.kind = kind;
      el("div", "ctm-title", box, "font:bold 12px sans-serif;text-align:center").textContent =
        kind === "main" ? model.get("title") : label(model, kind, TITLES[kind]);
      el("div", "ctm-legend", box, "font:11px sans-serif;min-height:15px");
      el("div", "ctm-plot", box);
      el("div", "ctm-note", box, "font:11px sans-serif;color:#b00020;max-width:" + W + "px");
      const after = kinds.slice(kinds.indexOf(kind) + 1)
                         .map(k => grid.querySelector(`[data-kind="${k}"]`)).find(Boolean);
      grid.insertBefore(box, after || null);
    }
    drawPanel(box, kind, s.panels[kind], model, range);
  }
  const hists = root.querySelector(".ctm-hists");
  if (s.hist) {
    for (const [label_, layers] of Object.entries(s.hist)) {
      for (const [name, h] of Object.entries(layers)) {
        const id = label_ + "/" + name;
        let box = [...hists.children].find(b => b.dataset.id === id);
        if (!box) {
          box = el("div", "ctm-hist", hists);
          box.dataset.id = id;
          el("div", "", box, "font:11px sans-serif;text-align:center").textContent =
            fill(label(model, label_, "{name} " + label_), {name});
          el("div", "ctm-plot", box);
        }
        drawHistogram(box, h, label_ === "weights" ? "#1f77b4" : "#ff7f0e");
      }
    }
    const cols = Math.max(...Object.values(s.hist).map(l => Object.keys(l).length), 1);
    const fitHists = Math.max(1, Math.floor((availableWidth(root) + 10) / 230));
    hists.style.gridTemplateColumns = `repeat(${Math.min(cols, fitHists)}, 220px)`;
  }
}

function initialize({model}) {
  const s = storeOf(model);
  model.on("msg:custom", msg => onMessage(s, msg));
  model.send({t: "ready"});
}

function render({model, el: host}) {
  const s = storeOf(model);
  const root = el("div", "ctm-live", host);
  el("div", "ctm-grid", root, "display:grid;gap:6px 14px;align-items:start");
  el("div", "ctm-hists", root, "display:grid;gap:4px 10px;margin-top:8px");
  let pending = false;
  const redraw = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; drawAll(root, s, model); });
  };
  s.views.add(redraw);
  redraw();
  return () => s.views.delete(redraw);
}

export default {initialize, render};
"""
