// The chain-rule panel: the derivation chainrule.explain computed for the selected parameter,
// typeset with KaTeX. Nothing is derived here: each equation is the server's LaTeX, joined by "=".
// Text goes in with textContent only, and KaTeX runs with trust off, so no page text is ever code.

import { fmt } from "./colour.js";

// Sections the reader keeps open; the gradient's derivation (one sample, or a batch's per-sample
// terms and their mean) is open at first.
const opened = new Set(["Gradients, by the chain rule", "Gradients: per sample, then their mean (seed 002)",
  "Gradients: per sample, then their sum (seed 002)"]);

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

function cell(parent, part, tag) {
  const node = add(parent, tag);
  if (part.latex !== undefined) tex(part.latex, node); else node.textContent = part.text;
  return node;
}

function block(parent, b) {
  if (b.kind === "paragraph") {
    add(parent, "p", b.text);
  } else if (b.kind === "equation") {
    const node = add(parent, "div", undefined, "equation");
    node.style.marginLeft = `${12 + 18 * b.indent}px`;
    node.dataset.text = b.parts.map((p) => p.text).join(" = ");
    node.setAttribute("aria-label", node.dataset.text);
    tex(b.parts.map((p) => p.latex).join(" = ") + (b.note ? `\\quad\\text{(${b.note.replace(/[{}\\]/g, "")})}` : ""), node);
  } else if (b.kind === "table") {
    const table = add(parent, "table");
    const head = add(table, "tr");
    for (const h of b.header) add(head, "th", h);
    for (const row of b.rows) {
      const tr = add(table, "tr");
      for (const c of row) cell(tr, c, "td");
    }
  }
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
  for (const section of e.sections) {
    if (!section.title) continue;
    const details = add(body, "details");
    details.open = opened.has(section.title);
    details.addEventListener("toggle", () => (details.open ? opened.add(section.title) : opened.delete(section.title)));
    add(details, "summary", section.title);
    for (const b of section.blocks) block(details, b);
  }
}
