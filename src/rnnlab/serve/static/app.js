// rnnlab explorer: plain JavaScript, no build step, no network beyond this server.
"use strict";

const EXAMPLES = [
  "I loved it at first, but by the end I hated it",
  "I hated it at first, but by the end I loved it",
  "A wonderful, moving film with brilliant performances. I would happily watch it again.",
  "Dull, predictable and far too long. The acting was terrible and I was bored the whole time.",
  "Not bad at all, actually quite good.",
  "The plot was not good, but the music was great.",
];
const DEBOUNCE_MS = 250;
const SVG_NS = "http://www.w3.org/2000/svg";

const $ = (id) => document.getElementById(id);
let models = [];
let lastTraces = [];   // [{info, trace}], re-rendered when the shading method changes
let sequence = 0;      // responses to older requests are dropped
let timer = null;

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = data.message || (typeof data.detail === "string" ? data.detail : response.statusText);
    throw new Error(`${response.status}: ${message}`);
  }
  return data;
}

function option(select, m) {
  const o = document.createElement("option");
  o.value = m.name;
  o.textContent = `${m.name} (${describe(m)})`;
  select.appendChild(o);
}

function describe(m) {
  if (m.family === "boe") return "bag of embeddings";
  return `${m.layers > 1 ? m.layers + "-layer " : ""}${m.bidirectional ? "bidirectional " : ""}${m.type.toUpperCase()}`;
}

async function init() {
  const examples = $("examples");
  for (const text of EXAMPLES) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.title = text;
    b.addEventListener("click", () => { $("text").value = text; update(); });
    examples.appendChild(b);
  }
  try {
    models = await api("models");
  } catch (err) {
    setStatus(`could not load the models: ${err.message}`, true);
    return;
  }
  for (const m of models) { option($("model-a"), m); option($("model-b"), m); }
  // Default comparison partner: a model of another family (word order vs bag of words).
  const partner = models.find((m) => m.family !== models[0].family) || models[1] || models[0];
  $("model-b").value = partner.name;
  $("compare").disabled = models.length < 2;
  $("compare").addEventListener("change", () => { $("model-b").disabled = !$("compare").checked; update(); });
  $("model-a").addEventListener("change", update);
  $("model-b").addEventListener("change", update);
  $("method").addEventListener("change", () => render(lastTraces));
  $("text").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(update, DEBOUNCE_MS); });
  $("text").value = EXAMPLES[0];
  update();
}

function setStatus(message, error = false) {
  const s = $("status");
  s.textContent = message;
  s.classList.toggle("error", error);
}

async function update() {
  clearTimeout(timer);
  const text = $("text").value;
  const names = [$("model-a").value];
  if ($("compare").checked) names.push($("model-b").value);
  const mine = ++sequence;
  if (!text.trim()) { render([]); setStatus("Type a review to see how the model reads it."); return; }
  setStatus("reading…");
  try {
    const traces = await Promise.all(names.map((model) => api("trace", { model, text })));
    if (mine !== sequence) return;   // the text changed while we waited
    const out = traces.map((trace) => ({ info: models.find((m) => m.name === trace.model), trace }));
    render(out);
    const truncated = traces.some((t) => t.truncated);
    setStatus(`${traces[0].tokens.length} tokens${truncated ? " (truncated to the model's length limit)" : ""}`);
  } catch (err) {
    if (mine === sequence) setStatus(err.message, true);
  }
}

function effectOf(trace, method) {
  if (method === "step") return trace.deltas || trace.importance.occlusion;
  return trace.importance[method] || trace.importance.occlusion;
}

function render(items) {
  lastTraces = items;
  const results = $("results");
  results.replaceChildren();
  results.classList.toggle("two", items.length > 1);
  const method = $("method").value;
  for (const { info, trace } of items) results.appendChild(panel(info, trace, method));
}

function panel(info, trace, method) {
  const node = $("panel-template").content.firstElementChild.cloneNode(true);
  node.dataset.model = trace.model;
  node.querySelector(".model-name").textContent = trace.model;
  node.querySelector(".model-type").textContent = info ? describe(info) : "";
  // Two classes: as always, everything follows labels[1]. More: the target (by default the predicted class).
  const target = trace.target || trace.labels[1];
  const binary = trace.labels.length === 2;
  const label = node.querySelector(".label");
  label.textContent = trace.label;
  label.classList.add(binary ? (trace.label === trace.labels[1] ? "pos" : "neg") : "multi");
  node.querySelector(".prob").textContent = `p(${target}) = ${trace.probability.toFixed(3)}`;
  node.querySelector(".fill").style.width = `${(100 * trace.probability).toFixed(1)}%`;
  const classes = node.querySelector(".classes");
  if (!binary && trace.probabilities) {
    Object.entries(trace.probabilities).forEach(([name, p], j) => {
      const item = document.createElement("span");
      item.className = `class-item c${j % 8}${name === trace.label ? " predicted" : ""}`;
      item.dataset.label = name;
      item.textContent = `${name} ${p.toFixed(3)}`;
      classes.appendChild(item);
    });
  }

  const effect = effectOf(trace, method);
  const scale = Math.max(1e-9, ...effect.map(Math.abs));
  const tokens = node.querySelector(".tokens");
  trace.tokens.forEach((tok, i) => {
    const span = document.createElement("span");
    const v = effect[i];
    const alpha = Math.min(1, Math.abs(v) / scale) * 0.85;
    span.textContent = tok;
    span.dataset.i = i;
    span.dataset.effect = v.toFixed(4);
    span.style.backgroundColor = `rgba(var(--${v >= 0 ? "pos" : "neg"}), ${alpha.toFixed(3)})`;
    if (alpha > 0.5) span.style.color = "white";
    if (!trace.known[i]) span.classList.add("unk");
    const parts = [`${tok}${trace.known[i] ? "" : " (not in vocabulary)"}`];
    for (const [m, vals] of Object.entries(trace.importance)) parts.push(`${m}: ${fmt(vals[i])}`);
    if (trace.running) parts.push(`p after: ${trace.running[i].toFixed(3)} (${fmt(trace.deltas[i])})`);
    span.title = parts.join("\n");
    tokens.appendChild(span);
    tokens.appendChild(document.createTextNode(" "));
  });
  const used = method === "step" && !trace.deltas ? "occlusion (no running probability)" : method;
  const away = binary ? `towards ${trace.labels[1 - trace.labels.indexOf(target)]}` : `away from ${target}`;
  node.querySelector(".legend").textContent = `shaded by ${used}: green pushed towards ${target}, red ${away}`;

  const wrap = node.querySelector(".chart-wrap");
  if (trace.running) {
    wrap.appendChild(chart(trace));
    linkHover(tokens, wrap);
  } else {
    const p = document.createElement("p");
    p.className = "no-chart";
    p.textContent = info && info.family === "boe"
      ? "A bag of embeddings has no reading order: no running probability."
      : "A bidirectional model reads the end before the start: no running probability.";
    wrap.appendChild(p);
  }
  return node;
}

function fmt(v) { return (v >= 0 ? "+" : "") + v.toFixed(3); }

function el(name, attrs, text) {
  const e = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function chart(trace) {
  // Running probability after each token: x = token index, y = p in [0, 1]. Two classes: one curve,
  // p(labels[1]); more: one curve per class, the target's drawn bold with its points.
  const W = 640, H = 170, L = 34, R = 10, T = 10, B = 28;
  const n = trace.running.length;
  const k = trace.labels.length;
  const target = trace.target || trace.labels[1];
  const x = (i) => L + (n === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (n - 1));
  const y = (p) => T + (1 - p) * (H - T - B);
  const svg = el("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img",
    "aria-label": `running probability of ${k === 2 ? target : "each class"} after each token` });
  svg.appendChild(el("line", { class: "axis", x1: L, x2: W - R, y1: y(0), y2: y(0) }));
  svg.appendChild(el("line", { class: "axis", x1: L, x2: L, y1: y(0), y2: y(1) }));
  svg.appendChild(el("line", { class: "half", x1: L, x2: W - R, y1: y(1 / k), y2: y(1 / k) }));   // no evidence
  for (const p of [0, 1 / k, 1]) {
    svg.appendChild(el("text", { x: L - 6, y: y(p) + 4, "text-anchor": "end" }, +p.toFixed(2)));
  }
  const line = (values) => values.map((p, i) => `${x(i).toFixed(1)},${y(p).toFixed(1)}`).join(" ");
  if (k > 2 && trace.running_by_class) {
    trace.labels.forEach((name, j) => {
      const mine = name === target;
      svg.appendChild(el("polyline", { class: `curve c${j % 8}${mine ? " target" : " other"}`,
        points: line(trace.running_by_class[name]), "data-label": name }));
      svg.appendChild(el("text", { class: `key c${j % 8}`, x: W - R, y: T + 2 + 12 * j, "text-anchor": "end" },
        `${mine ? "▶ " : ""}p(${name})`));
    });
  } else {
    svg.appendChild(el("polyline", { class: "curve", points: line(trace.running) }));
  }
  const every = Math.max(1, Math.ceil(n / 12));   // about 12 labels fit without overlapping
  const colour = k > 2 && trace.running_by_class ? ` c${trace.labels.indexOf(target) % 8}` : "";
  trace.running.forEach((p, i) => {
    const c = el("circle", { class: `pt${colour}`, cx: x(i).toFixed(1), cy: y(p).toFixed(1), r: n > 80 ? 1.5 : 3 });
    c.dataset.i = i;
    c.appendChild(el("title", {}, `${trace.tokens[i]}: ${p.toFixed(3)}`));
    svg.appendChild(c);
    if (i % every === 0) {
      svg.appendChild(el("text", { x: x(i), y: H - 8, "text-anchor": "middle" }, trace.tokens[i].slice(0, 8)));
    }
  });
  if (k === 2) svg.appendChild(el("text", { x: W - R, y: T + 2, "text-anchor": "end" }, `p(${target}) after each token`));
  return svg;
}

function linkHover(tokens, wrap) {
  // Hovering a token marks its point on the chart, and the other way round.
  const mark = (i, on) => {
    const span = tokens.querySelector(`span[data-i="${i}"]`);
    const pt = wrap.querySelector(`circle[data-i="${i}"]`);
    if (span) span.classList.toggle("hover", on);
    if (pt) pt.classList.toggle("hover", on);
  };
  for (const root of [tokens, wrap]) {
    root.addEventListener("mouseover", (e) => { if (e.target.dataset.i) mark(e.target.dataset.i, true); });
    root.addEventListener("mouseout", (e) => { if (e.target.dataset.i) mark(e.target.dataset.i, false); });
  }
}

init();
