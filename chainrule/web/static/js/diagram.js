// The network diagram: units in columns, a line per weight, a small square per bias, and for
// 2-D data each unit's own output over the input plane as a heat map. Built when the network's
// shape changes; every frame only updates colours, widths, heat maps and labels from the state.

import { css, fmt, paintHeatmap } from "./colour.js";

const SVG = "http://www.w3.org/2000/svg";
const LEFT = 78;       // room for the input names
const RIGHT = 90;      // room for the output's labels
const MAX_HEIGHT = 380;

let built = null;      // {key, links: [...], units: [...], biases: [...], canvases: [...], labels: [...]}

function element(name, attributes, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

/** Where each column and unit goes, for a network shape (the `network` of the state). */
export function layout(network, width) {
  const columns = [network.inputs.length, ...network.layers.map((layer) => layer.units)];
  const most = Math.max(...columns);
  const spacing = Math.min(48, (MAX_HEIGHT - 20) / most);
  const height = Math.max(150, most * spacing + 30);
  const size = Math.max(6, Math.min(34, spacing - 8));
  const span = Math.max(1, columns.length - 1);
  const x = columns.map((_, c) => LEFT + (c * (width - LEFT - RIGHT)) / span);
  const y = columns.map((n) => Array.from({ length: n }, (_, i) => height / 2 + (i - (n - 1) / 2) * spacing));
  return { columns, spacing, size, x, y, width, height };
}

function shapeKey(state) {
  const n = state.network;
  return JSON.stringify([n.inputs, n.layers, state.data.planar]);
}

/** Build the diagram's elements inside `container` (and handlers that report hover and click). */
function build(container, state, handlers) {
  container.textContent = "";
  const width = Math.max(420, container.clientWidth || 560);
  const geometry = layout(state.network, width);
  const { x, y, size, height } = geometry;
  const planar = state.data.planar;
  const svg = element("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": "the network: units in columns, one line per weight" }, container);
  const linkGroup = element("g", {}, svg);
  const hitGroup = element("g", {}, svg);
  const nodeGroup = element("g", {}, svg);
  const links = [], units = [], biases = [], canvases = [], labels = [];
  state.network.layers.forEach((layer, l) => {
    for (let k = 0; k < layer.units; k++) {
      for (let j = 0; j < geometry.columns[l]; j++) {
        const x0 = x[l] + size / 2, y0 = y[l][j], x1 = x[l + 1] - size / 2, y1 = y[l + 1][k];
        const middle = (x0 + x1) / 2;
        const d = `M${x0},${y0} C${middle},${y0} ${middle},${y1} ${x1},${y1}`;
        const param = `${layer.name}.weight[${k},${j}]`;
        const path = element("path", { d, class: "link", "data-param": param }, linkGroup);
        const hit = element("path", { d, class: "link-hit", "stroke-width": Math.max(4, Math.min(10, geometry.spacing / 4)),
          "data-param": param, fill: "none" }, hitGroup);
        links.push({ path, hit, param, tensor: `${layer.name}.weight`, k, j });
      }
    }
  });
  geometry.columns.forEach((n, c) => {
    for (let i = 0; i < n; i++) {
      const cx = x[c], cy = y[c][i];
      const node = element("rect", { x: cx - size / 2, y: cy - size / 2, width: size, height: size, rx: 3, class: "node" }, nodeGroup);
      units.push({ node, c, i });
      if (planar) {
        const canvas = document.createElement("canvas");
        canvas.className = "unit";
        Object.assign(canvas.style, { left: `${cx - size / 2}px`, top: `${cy - size / 2}px`, width: `${size}px`, height: `${size}px` });
        container.appendChild(canvas);
        canvases.push({ canvas, c, i });
      }
      if (c === 0) {
        const text = element("text", { x: cx - size / 2 - 6, y: cy + 4, "text-anchor": "end", class: "input-label" }, nodeGroup);
        text.textContent = state.network.inputs[i];
      } else {
        const layer = state.network.layers[c - 1];
        const square = Math.max(5, Math.min(9, size / 3));
        const param = `${layer.name}.bias[${i}]`;
        const bias = element("rect", { x: cx - size / 2 - square / 2, y: cy + size / 2 - square / 2, width: square, height: square,
          class: "bias", "data-param": param }, nodeGroup);
        const title = element("title", {}, bias);
        title.textContent = `bias ${param}`;
        biases.push({ rect: bias, param, tensor: `${layer.name}.bias`, k: i });
        const label = element("text", { x: cx + size / 2 + 3, y: cy - size / 2 + 9, class: "unit-label" }, nodeGroup);
        labels.push({ text: label, l: c - 1, k: i });
      }
    }
  });
  for (const target of [hitGroup, nodeGroup]) {
    target.addEventListener("mouseover", (event) => {
      const param = event.target.getAttribute("data-param");
      if (param) handlers.hover(param);
    });
    target.addEventListener("click", (event) => {
      const param = event.target.getAttribute("data-param");
      if (param) handlers.click(param);
    });
  }
  return { key: shapeKey(state), svg, geometry, links, units, biases, canvases, labels };
}

function valueOf(values, tensor, k, j) {
  const array = values && values[tensor];
  if (!array) return null;
  return j === undefined ? array[k] : array[k][j];
}

function largest(values) {
  let most = 0;
  for (const array of Object.values(values || {})) {
    for (const v of (array || []).flat()) most = Math.max(most, Math.abs(v));
  }
  return most || 1;
}

/** Update the diagram from `state` (and the page's `view`); builds it first when the shape changed. */
export function drawDiagram(container, state, view, handlers) {
  if (!built || built.key !== shapeKey(state) || !container.contains(built.svg)) built = build(container, state, handlers);
  const phase = state.phase;
  const pv = state.phase_values;
  let values = state.params, scale = 1, mode = view.colourBy;
  if (phase === "backward" && pv) { values = pv.gradients; mode = "gradient"; }
  else if (phase === "update" && state.last_update) { values = state.last_update; mode = "update"; }
  else if (mode === "gradient") values = state.grads;
  if (mode !== "weight") scale = largest(values);
  const selected = view.pinned || view.hovered || state.selected;
  for (const link of built.links) {
    const v = valueOf(values, link.tensor, link.k, link.j);
    const shown = v === null ? 0 : v / scale;
    const width = mode === "weight" ? 0.4 + Math.min(Math.abs(shown), 4) * 1.2 : 0.4 + Math.abs(shown) * 5;
    const strength = Math.min(1, 0.3 + Math.abs(mode === "weight" ? shown : shown * 2));
    link.path.setAttribute("stroke", css(Math.sign(shown) * strength));
    link.path.setAttribute("stroke-width", link.param === selected ? width + 2 : width);
    link.path.classList.toggle("selected", link.param === selected);
  }
  for (const bias of built.biases) {
    const v = valueOf(mode === "weight" ? state.params : values, bias.tensor, bias.k);
    bias.rect.setAttribute("fill", css(v === null ? 0 : mode === "weight" ? v : v / scale));
    bias.rect.classList.toggle("selected", bias.param === selected);
  }
  for (const unit of built.units) {
    unit.node.classList.toggle("phase-forward", phase === "forward");
    unit.node.classList.toggle("phase-backward", phase === "backward" && unit.c > 0);
    unit.node.classList.toggle("phase-update", phase === "update" && unit.c > 0);
  }
  const maps = state.heatmaps;
  if (maps) for (const { canvas, c, i } of built.canvases) paintHeatmap(canvas, maps.units[c][i], maps.resolution);
  for (const label of built.labels) {
    let text = "";
    if (pv && phase === "forward") text = `z ${fmt(pv.z[label.l][label.k], 3)}  h ${fmt(pv.h[label.l][label.k], 3)}`;
    else if (pv && phase === "backward") text = `δ ${fmt(pv.delta[label.l][label.k], 3)}`;
    else if (phase === "update" && state.last_update) {
      const tensor = state.network.layers[label.l].name + ".bias";
      const delta = state.last_update[tensor];
      if (delta) text = `Δb ${fmt(delta[label.k], 3)}`;
    }
    if (label.text.textContent !== text) label.text.textContent = text;
  }
  return built.geometry;
}

/** The diagram as a standalone SVG document (heat maps embedded as PNG images). */
export function diagramSVG() {
  if (!built) return "";
  const copy = built.svg.cloneNode(true);
  copy.setAttribute("xmlns", SVG);
  const style = element("style", {}, null);
  style.textContent = ".link{fill:none}.link-hit{stroke:transparent}.node{stroke:#888;fill:#fafafa}"
    + ".unit-label{font:10px sans-serif}.input-label{font:12px sans-serif}.bias{stroke:#555;stroke-width:.5}";
  copy.insertBefore(style, copy.firstChild);
  const size = built.geometry.size;
  for (const { canvas, c, i } of built.canvases) {
    element("image", { href: canvas.toDataURL("image/png"), x: built.geometry.x[c] - size / 2,
      y: built.geometry.y[c][i] - size / 2, width: size, height: size, style: "image-rendering:pixelated" }, copy);
  }
  return new XMLSerializer().serializeToString(copy);
}
