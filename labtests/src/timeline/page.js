// The timeline page's script: draws the run held in #data on a canvas, with zoom (wheel, +/-),
// pan (drag, arrows), filters by message kind and mark kind, hover details, and a button that
// centres the failing check (the page opens on it when its address ends in #failure).
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const FAIL = document.body.dataset.failColour;
const LANE_H = 46, LEFT = 150, RIGHT = 24, TOP = 26, AXIS_H = 40;
const PALETTE = ["#3b7dd8", "#2f9e44", "#a05fd0", "#d9822b", "#17a2b8", "#c2417f", "#7a8b2a", "#6b7b8c"];
const BAND_STYLE = {
  down: "rgba(60,60,60,0.38)", paused: "rgba(140,90,200,0.30)", disconnected: "rgba(150,150,150,0.35)",
  cut: "rgba(214,120,30,0.55)", partition: null,
};
const MARK_GLYPH = { crash: ["\u2716", "#222"], restart: ["\u25B2", "#2f9e44"], duplicate: ["\u25C6", "#d9822b"],
  late_duplicate: ["\u25C7", "#d9822b"], unreachable: ["\u00B7", "#888"] };
const canvas = document.getElementById("tl");
const ctx = canvas.getContext("2d");
const tip = document.getElementById("tip");
const nLanes = D.lanes.length;
const t0All = D.window ? D.window.from_us : 0;
const tEnd = Math.max(D.window ? D.window.to_us : D.end_us, t0All + 1000, D.failure ? D.failure.at_us : 0);
const t1All = tEnd + (tEnd - t0All) * 0.08; // room after the failure for its label
let view = { t0: t0All, t1: t1All };
const methodOn = D.methods.map(() => true);
const markOn = {}; Object.keys(MARK_GLYPH).forEach(k => markOn[k] = k !== "unreachable");
let bandsOn = true, appliedOn = true;

// Per-lane indexes, sorted by time.
const statesBy = D.lanes.map(() => []), appliedBy = D.lanes.map(() => []);
D.states.forEach(s => statesBy[s.lane].push(s));
D.applied.forEach(a => appliedBy[a.lane].push(a));
statesBy.forEach(l => l.sort((a, b) => a.at_us - b.at_us));
appliedBy.forEach(l => l.sort((a, b) => a.at_us - b.at_us));

function width() { return canvas.clientWidth; }
function x(t) { return LEFT + (t - view.t0) * (width() - LEFT - RIGHT) / (view.t1 - view.t0); }
function tAt(px) { return view.t0 + (px - LEFT) * (view.t1 - view.t0) / (width() - LEFT - RIGHT); }
function laneY(i) { return TOP + i * LANE_H; }
function mid(i) { return laneY(i) + LANE_H / 2; }
function ms(t) { return (t / 1000).toFixed(3).replace(/\.?0+$/, "") + " ms"; }
function last(list, t) { // last element with at_us <= t
  let lo = 0, hi = list.length;
  while (lo < hi) { const m = (lo + hi) >> 1; if (list[m].at_us <= t) lo = m + 1; else hi = m; }
  return lo > 0 ? list[lo - 1] : null;
}

function resize() {
  const ratio = window.devicePixelRatio || 1;
  const h = TOP + nLanes * LANE_H + AXIS_H;
  canvas.style.height = h + "px";
  canvas.width = Math.round(canvas.clientWidth * ratio);
  canvas.height = Math.round(h * ratio);
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  draw();
}

function drawLanes() {
  const w = width();
  for (let i = 0; i < nLanes; i++) {
    const y = laneY(i);
    ctx.fillStyle = i % 2 ? "#fafafa" : "#f1f3f5";
    ctx.fillRect(0, y, w, LANE_H);
    ctx.fillStyle = "#222"; ctx.font = "12px monospace";
    ctx.fillText(D.lanes[i], 6, y + 17);
  }
}

function drawStates() {
  ctx.font = "11px monospace";
  for (let i = 0; i < nLanes; i++) {
    const list = statesBy[i];
    for (let k = 0; k < list.length; k++) {
      const s = list[k], end = k + 1 < list.length ? list[k + 1].at_us : D.end_us;
      if (!s.seen || end < view.t0 || s.at_us > view.t1) continue;
      const a = Math.max(x(s.at_us), LEFT), b = Math.min(x(end), width() - RIGHT);
      if (b <= a) continue;
      ctx.fillStyle = s.leader ? "#f2a93b" : (s.term % 2 ? "#c9d6e3" : "#b3c4d6");
      ctx.fillRect(a, laneY(i) + 4, b - a, 14);
      if (b - a > 40) {
        ctx.fillStyle = "#222";
        ctx.fillText((s.leader ? "leader " : "") + "T" + s.term, a + 3, laneY(i) + 15);
      }
    }
  }
}

function drawApplied() {
  if (!appliedOn) return;
  ctx.font = "10px monospace";
  for (let i = 0; i < nLanes; i++) {
    let lastLabel = -1e9;
    const y = laneY(i) + 21;
    for (const a of appliedBy[i]) {
      if (a.at_us < view.t0 || a.at_us > view.t1) continue;
      const px = x(a.at_us);
      ctx.fillStyle = a.snapshot ? "#a05fd0" : "#2f9e44";
      ctx.fillRect(Math.round(px), y, 1, 8);
      if (px - lastLabel > 34) {
        ctx.fillText((a.snapshot ? "s" : "") + a.index, px + 2, y + 17);
        lastLabel = px;
      }
    }
  }
}

function drawBands() {
  if (!bandsOn) return;
  for (const b of D.bands) {
    if (b.to_us < view.t0 || b.from_us > view.t1) continue;
    const a = Math.max(x(b.from_us), LEFT), e = Math.max(Math.min(x(b.to_us), width() - RIGHT), a + 1);
    const y = laneY(b.lane);
    if (b.kind === "partition") {
      const side = parseInt(b.text.split(":")[0].replace(/\D/g, ""), 10) || 1; // "partition side N: ..."
      ctx.fillStyle = ["#e8c547", "#47a8e8", "#8fd18f", "#e6a0c4"][(side - 1) % 4];
      ctx.fillRect(a, y + LANE_H - 6, e - a, 4);
    } else if (b.kind === "cut") {
      ctx.fillStyle = BAND_STYLE.cut;
      ctx.fillRect(a, y + LANE_H - 11, e - a, 4);
    } else {
      ctx.fillStyle = BAND_STYLE[b.kind] || "rgba(0,0,0,0.2)";
      ctx.fillRect(a, y + 1, e - a, LANE_H - 2);
    }
  }
}

function drawMarks() {
  ctx.font = "13px sans-serif";
  for (const m of D.marks) {
    if (!markOn[m.kind] || m.at_us < view.t0 || m.at_us > view.t1) continue;
    const [glyph, colour] = MARK_GLYPH[m.kind] || ["?", "#000"];
    ctx.fillStyle = colour;
    ctx.fillText(glyph, x(m.at_us) - 4, laneY(m.lane) + 34);
  }
}

function drawOps() {
  ctx.font = "10px monospace";
  for (const o of D.ops) {
    const end = o.return_us === null ? D.end_us : o.return_us;
    if (end < view.t0 || o.call_us > view.t1) continue;
    const a = Math.max(x(o.call_us), LEFT), b = Math.max(Math.min(x(end), width() - RIGHT), a + 2);
    const y = laneY(o.lane) + 24;
    ctx.fillStyle = o.return_us === null ? "#9bb8d9" : "#3b7dd8";
    ctx.fillRect(a, y, b - a, 10);
    if (b - a > 60) { ctx.fillStyle = "#111"; ctx.fillText(o.text.slice(0, Math.floor((b - a) / 6)), a + 2, y + 20); }
  }
}

function line(x1, y1, x2, y2, colour, dashed) {
  ctx.strokeStyle = colour; ctx.setLineDash(dashed ? [4, 3] : []);
  ctx.beginPath(); ctx.moveTo(x1, y1); ctx.lineTo(x2, y2); ctx.stroke();
  const ang = Math.atan2(y2 - y1, x2 - x1);
  ctx.setLineDash([]); ctx.beginPath();
  ctx.moveTo(x2, y2);
  ctx.lineTo(x2 - 6 * Math.cos(ang - 0.4), y2 - 6 * Math.sin(ang - 0.4));
  ctx.lineTo(x2 - 6 * Math.cos(ang + 0.4), y2 - 6 * Math.sin(ang + 0.4));
  ctx.closePath(); ctx.fillStyle = colour; ctx.fill();
}

function cross(px, py) {
  ctx.strokeStyle = "#b02020"; ctx.setLineDash([]); ctx.beginPath();
  ctx.moveTo(px - 4, py - 4); ctx.lineTo(px + 4, py + 4); ctx.moveTo(px + 4, py - 4); ctx.lineTo(px - 4, py + 4); ctx.stroke();
}

function drawMessages() {
  ctx.lineWidth = 1;
  for (const m of D.messages) {
    if (!methodOn[m.method]) continue;
    const end = m.end_us === null ? D.end_us : m.end_us;
    if (end < view.t0 || m.sent_us > view.t1) continue;
    const colour = PALETTE[m.method % PALETTE.length];
    const xs = x(m.sent_us), yf = mid(m.from), yt = mid(m.to);
    if (m.fate === "request_dropped") {
      const xe = x(end), ym = (yf + yt) / 2;
      line(xs, yf, xe, ym, colour, true); cross(xe, ym);
      continue;
    }
    if (m.handled_us !== null) {
      const xh = x(m.handled_us);
      line(xs, yf, xh, yt, colour, false);
      if (m.fate === "replied") line(xh, yt, x(end), yf, colour, false);
      else if (m.fate === "reply_lost") { line(xh, yt, x(end), yf, colour, true); cross(x(end), yf); }
    }
  }
}

function niceStep(span, px) {
  const target = span / Math.max(px / 110, 1);
  const p = Math.pow(10, Math.floor(Math.log10(target)));
  for (const f of [1, 2, 5, 10]) if (f * p >= target) return f * p;
  return 10 * p;
}

function drawAxis() {
  const y = TOP + nLanes * LANE_H, w = width();
  ctx.fillStyle = "#fff"; ctx.fillRect(0, y, w, AXIS_H);
  ctx.strokeStyle = "#444"; ctx.setLineDash([]); ctx.beginPath(); ctx.moveTo(LEFT, y + 1); ctx.lineTo(w - RIGHT, y + 1); ctx.stroke();
  const step = niceStep(view.t1 - view.t0, w - LEFT - RIGHT);
  ctx.font = "11px sans-serif"; ctx.fillStyle = "#333";
  for (let t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) {
    const px = x(t);
    ctx.fillRect(Math.round(px), y + 1, 1, 6);
    ctx.fillText(ms(t), px - 18, y + 19);
  }
  ctx.fillText("virtual time (ms)", 6, y + 19);
  // Grid lines over the lanes.
  ctx.fillStyle = "rgba(0,0,0,0.06)";
  for (let t = Math.ceil(view.t0 / step) * step; t <= view.t1; t += step) ctx.fillRect(Math.round(x(t)), TOP, 1, nLanes * LANE_H);
}

function drawFailure() {
  const f = D.failure;
  delete canvas.dataset.failureX;
  if (!f || f.at_us < view.t0 || f.at_us > view.t1) return;
  const px = Math.round(x(f.at_us));
  canvas.dataset.failureX = px; // where the mark is, for the browser check
  ctx.fillStyle = FAIL;
  ctx.fillRect(px - 1, 2, 3, TOP + nLanes * LANE_H - 2);
  const left = px + 100 > width() ? px - 98 : px + 2; // the label stays on the canvas
  ctx.fillRect(left, 2, 96, 18);
  ctx.fillStyle = "#fff"; ctx.font = "bold 11px sans-serif";
  ctx.fillText("\u2716 check failed", left + 4, 15);
}

function draw() {
  const w = width();
  ctx.clearRect(0, 0, w, canvas.height);
  drawLanes(); drawBands(); drawStates(); drawApplied(); drawOps(); drawMessages(); drawMarks();
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, TOP - 2);
  for (let i = 0; i < nLanes; i++) { // lane names stay readable over arrows
    ctx.fillStyle = i % 2 ? "#fafafa" : "#f1f3f5"; ctx.fillRect(0, laneY(i), LEFT - 4, LANE_H);
    ctx.fillStyle = "#222"; ctx.font = "12px monospace"; ctx.fillText(D.lanes[i].slice(0, 18), 6, laneY(i) + 17);
    const s = last(statesBy[i], view.t1), a = last(appliedBy[i], view.t1);
    ctx.fillStyle = "#666"; ctx.font = "10px monospace";
    if (s || a) ctx.fillText((s ? (s.seen ? "" : "down ") + "T" + s.term + (s.leader ? " L" : "") : "") + (a ? " ap " + a.index : ""), 6, laneY(i) + 32);
  }
  drawAxis(); drawFailure();
  document.getElementById("range").textContent = ms(view.t0) + " \u2013 " + ms(view.t1) + " (" + ms(view.t1 - view.t0) + " shown)";
}

function zoom(factor, atPx) {
  const t = tAt(atPx === undefined ? (LEFT + width() - RIGHT) / 2 : atPx);
  const span = Math.max((view.t1 - view.t0) * factor, 10);
  const f = (t - view.t0) / (view.t1 - view.t0);
  view = { t0: t - f * span, t1: t - f * span + span };
  draw();
}
function pan(fraction) { const d = (view.t1 - view.t0) * fraction; view = { t0: view.t0 + d, t1: view.t1 + d }; draw(); }
function jumpToFailure() {
  if (!D.failure) return;
  const span = Math.min(t1All - t0All, 2000000);
  view = { t0: D.failure.at_us - span * 0.75, t1: D.failure.at_us + span * 0.25 };
  draw();
  canvas.scrollIntoView({ block: "nearest" });
}

canvas.addEventListener("wheel", e => { e.preventDefault(); zoom(e.deltaY > 0 ? 1.25 : 0.8, e.offsetX); }, { passive: false });
let drag = null;
canvas.addEventListener("mousedown", e => { drag = { px: e.offsetX, view: { ...view } }; });
window.addEventListener("mouseup", () => { drag = null; });
canvas.addEventListener("mousemove", e => {
  if (drag) {
    const dt = (e.offsetX - drag.px) * (drag.view.t1 - drag.view.t0) / (width() - LEFT - RIGHT);
    view = { t0: drag.view.t0 - dt, t1: drag.view.t1 - dt }; draw(); tip.style.display = "none"; return;
  }
  hover(e);
});
canvas.addEventListener("mouseleave", () => { tip.style.display = "none"; });
window.addEventListener("keydown", e => {
  if (e.key === "+" || e.key === "=") zoom(0.8); else if (e.key === "-") zoom(1.25);
  else if (e.key === "ArrowLeft") pan(-0.2); else if (e.key === "ArrowRight") pan(0.2);
});

function hover(e) {
  const lane = Math.floor((e.offsetY - TOP) / LANE_H);
  if (lane < 0 || lane >= nLanes || e.offsetX < LEFT) { tip.style.display = "none"; return; }
  const t = tAt(e.offsetX), near = 4 * (view.t1 - view.t0) / (width() - LEFT - RIGHT);
  const lines = [D.lanes[lane] + " at " + ms(Math.round(t))];
  const s = last(statesBy[lane], t), a = last(appliedBy[lane], t);
  if (s && !s.seen) lines.push("down since " + ms(s.at_us) + " (last seen in term " + s.term + ")");
  else if (s) lines.push("role " + (s.leader ? "leader" : "not leader") + ", term " + s.term + " (state() since " + ms(s.at_us) + ")");
  if (a) lines.push("applied through " + a.index + (a.snapshot ? " (snapshot)" : ""));
  let commit = 0;
  appliedBy.forEach(l => { const c = last(l, t); if (c && c.index > commit) commit = c.index; });
  if (commit) lines.push("committed at least through " + commit + " (highest index any peer applied)");
  for (const b of D.bands) if (b.lane === lane && b.from_us <= t && t <= b.to_us) lines.push(b.kind + ": " + b.text + " [" + ms(b.from_us) + " \u2013 " + ms(b.to_us) + "]");
  for (const m of D.marks) if (m.lane === lane && Math.abs(m.at_us - t) <= near && markOn[m.kind]) lines.push(m.kind + " at " + ms(m.at_us) + ": " + m.text);
  for (const o of D.ops) if (o.lane === lane && o.call_us <= t + near && t - near <= (o.return_us === null ? D.end_us : o.return_us))
    lines.push(o.text + " -> " + (o.result === null ? "never returned" : o.result) + " [" + ms(o.call_us) + " \u2013 " + (o.return_us === null ? "end" : ms(o.return_us)) + "]");
  let shown = 0;
  for (const m of D.messages) {
    if (shown >= 6 || !methodOn[m.method] || (m.from !== lane && m.to !== lane)) continue;
    const at = m.from === lane ? [m.sent_us, m.end_us] : [m.handled_us];
    if (!at.some(v => v !== null && Math.abs(v - t) <= near)) continue;
    shown++;
    lines.push(D.methods[m.method] + " " + D.lanes[m.from] + " \u2192 " + D.lanes[m.to] + ", sent " + ms(m.sent_us) + ": " + m.fate.replace("_", " ") + (m.why ? " (" + m.why + ")" : ""));
  }
  const f = D.failure;
  if (f && Math.abs(f.at_us - t) <= near) lines.push("FAILED at " + ms(f.at_us) + ": " + f.text.split("\n")[0]);
  tip.textContent = lines.join("\n");
  tip.style.display = "block";
  tip.style.left = Math.min(e.pageX + 14, window.innerWidth - 420) + "px";
  tip.style.top = (e.pageY + 14) + "px";
}

function filters() {
  const box = document.getElementById("filters");
  const add = (label, colour, on, set) => {
    const l = document.createElement("label");
    const c = document.createElement("input"); c.type = "checkbox"; c.checked = on;
    c.addEventListener("change", () => { set(c.checked); draw(); });
    l.appendChild(c);
    const sw = document.createElement("span"); sw.className = "sw"; sw.style.background = colour; l.appendChild(sw);
    l.appendChild(document.createTextNode(label)); box.appendChild(l);
  };
  const counts = D.methods.map(() => 0); D.messages.forEach(m => counts[m.method]++);
  D.methods.forEach((name, i) => add(name + " (" + counts[i] + ")", PALETTE[i % PALETTE.length], true, v => methodOn[i] = v));
  Object.keys(MARK_GLYPH).forEach(k => add(MARK_GLYPH[k][0] + " " + k.replace("_", " "), "transparent", markOn[k], v => markOn[k] = v));
  add("fault bands", BAND_STYLE.down, true, v => bandsOn = v);
  add("applied indices", "#2f9e44", true, v => appliedOn = v);
}

function summary() {
  document.title = D.title + " \u2013 timeline";
  document.getElementById("title").textContent = D.title;
  const parts = [nLanes + " lanes", D.messages.length + " messages", D.states.length + " state changes",
    D.applied.length + " applies", D.bands.length + " fault bands", D.marks.length + " marks", D.ops.length + " client operations",
    D.observations + " observations recorded", "run ends at " + ms(D.end_us)];
  document.getElementById("summary").textContent = parts.join(", ");
  if (D.window) document.getElementById("window").textContent = "Long run: drawn " + ms(D.window.from_us) + " \u2013 " + ms(D.window.to_us) +
    " around the failure; " + D.window.items_left_out + " of " + D.window.items_total + " items outside that span are left out.";
  const fail = document.getElementById("failure");
  if (D.failure) {
    fail.querySelector("pre").textContent = D.failure.text;
    fail.querySelector("b").textContent = "Failed at " + ms(D.failure.at_us) + (D.failure.lane !== null ? " on " + D.lanes[D.failure.lane] : "");
  } else {
    fail.className = "passed";
    fail.querySelector("b").textContent = "The run passed: no check failed.";
    document.getElementById("jump").disabled = true;
  }
}

document.getElementById("jump").addEventListener("click", jumpToFailure);
document.getElementById("fit").addEventListener("click", () => { view = { t0: t0All, t1: t1All }; draw(); });
document.getElementById("zin").addEventListener("click", () => zoom(0.5));
document.getElementById("zout").addEventListener("click", () => zoom(2));
window.addEventListener("resize", resize);
summary(); filters(); resize();
if (location.hash === "#failure") jumpToFailure();
document.body.dataset.drawnMs = performance.now().toFixed(0); // page open to first drawing, for the browser check
