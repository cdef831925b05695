// The chain-rule panel: the derivation chainrule.diagnostics.derive_parameter computed for the
// selected parameter (the JSON schema chainrule.derivation), typeset with KaTeX. Nothing is derived
// here: each equation is the server's formulas (LaTeX for KaTeX, text for tests and screen readers),
// joined by "=". Text goes in with textContent only, and KaTeX runs with trust off, so no page text
// is ever code.

import { fmt } from "./colour.js";

// Sections the reader keeps open; the gradient's derivation (one sample, or a batch's per-sample
// terms and their mean) is open at first.
const opened = new Set(["Gradients, by the chain rule", "Gradients: per sample, then their mean (seed 002)",
  "Gradients: per sample, then their sum (seed 002)"]);
const SHOWN_SAMPLES = 8; // rows of the per-sample table (the mean's equation counts them all)

function tex(latex, target, display = false) {
  if (window.katex) {
    window.katex.render(latex, target, { throwOnError: false, displayMode: display, trust: false, strict: "ignore" });
  } else {
    target.textContent = latex;
  }
}

function add(parent, tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  parent.appendChild(node);
  return node;
}

// An equation: formulas {text, latex} joined by "=", with an optional note after it.
function equation(parent, parts, note = "", indent = 1) {
  const node = add(parent, "div", undefined, "equation");
  node.style.marginLeft = `${12 + 18 * indent}px`;
  node.dataset.text = parts.map((p) => p.text).join(" = ");
  node.setAttribute("aria-label", node.dataset.text);
  tex(parts.map((p) => p.latex).join(" = ") + (note ? `\\quad\\text{(${note.replace(/[{}\\]/g, "")})}` : ""), node);
  return node;
}

// A factor: its symbol, the forms it equals (symbolic, then with the numbers), its value as written.
function factor(parent, f) {
  return equation(parent, [f.symbol, ...f.forms, ...(f.display ? [f.display] : [])], f.note);
}

function section(body, title) {
  const details = add(body, "details");
  details.open = opened.has(title);
  details.addEventListener("toggle", () => (details.open ? opened.add(title) : opened.delete(title)));
  add(details, "summary", title);
  return details;
}

// The derivation of one weight: for one sample ∂z/∂θ, the chain-rule product (and the one path
// from L where there is one) and the update, then each factor worked out; for a batch the
// per-sample terms and their mean or sum, then the update.
function derivationSections(body, d) {
  if (d.samples === null) {
    const gradients = section(body, "Gradients, by the chain rule");
    factor(gradients, d.third);
    equation(gradients, d.chain_equation);
    if (d.path_equation) equation(gradients, d.path_equation, "one path from L");
    if (d.update) equation(gradients, d.update.equation);
    const factors = section(body, "Each factor, worked out");
    for (const f of d.chain) factor(factors, f);
    return;
  }
  const s = d.samples;
  const gradients = section(body, `Gradients: per sample, then their ${s.combine} (seed 002)`);
  const table = add(gradients, "table");
  const head = add(table, "tr");
  add(head, "th", "n");
  for (const symbol of s.symbols) tex(symbol.latex, add(head, "th"));
  for (let n = 0; n < Math.min(s.count, SHOWN_SAMPLES); n++) {
    const tr = add(table, "tr");
    add(tr, "td", String(n + 1));
    for (const key of ["grad_h", "derivative", "input", "gradient"]) add(tr, "td", fmt(s[key][n]));
  }
  if (s.count > SHOWN_SAMPLES) add(gradients, "p", `(the first ${SHOWN_SAMPLES} of ${s.count} samples)`, "note");
  equation(gradients, s.equation);
  if (d.update) equation(gradients, d.update.equation);
}

function quantity(parent, label, value, key) {
  const node = add(parent, "span", undefined, "quantity");
  add(node, "span", `${label} `);
  const number = add(node, "b", fmt(value));
  number.dataset.quantity = key;
  return node;
}

let shown = "";

/** Show `state.explanation` in the panel (rebuilt only when it changed). */
export function drawExplanation(summary, body, state) {
  const e = state.explanation;
  const key = e ? JSON.stringify(e) : state.selected || "";
  if (key === shown) return;
  shown = key;
  summary.textContent = "";
  body.textContent = "";
  if (!e) {
    add(body, "p", "Hover over a line of the diagram (a weight) or a unit's small square (a bias): its value, "
      + "∂L/∂w, the update and the chain rule behind them appear here, with the numbers of the next step. "
      + "Click to keep it and type a new value.", "note");
    return;
  }
  const symbol = add(summary, "span", undefined, "symbol");
  tex(e.symbol, symbol);
  add(summary, "span", `${e.param}  (seed name ${e.seed_name})`, "note");
  quantity(summary, "value", e.value, "value");
  quantity(summary, "∂L/∂w", e.gradient, "gradient");
  quantity(summary, "η", e.lr, "lr");
  quantity(summary, "w − η ∂L/∂w", e.updated, "updated");
  quantity(summary, "L", e.loss, "loss");
  if (state.training.optimizer !== "sgd") {
    add(summary, "span", `(${state.training.optimizer} takes its own step from the same ∂L/∂w; the update shown is plain SGD's)`, "note");
  }
  derivationSections(body, e.derivation);
}
