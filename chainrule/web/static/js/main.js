// The page: connect to this tab's session, then draw the store every animation frame in which a
// new state arrived. window.chainrulePage exposes the store and the frame counters to tests and
// to the README's measurement.

import { fmt } from "./colour.js";
import { setupControls, syncControls } from "./controls.js";
import { diagramSVG, drawDiagram } from "./diagram.js";
import { drawExplanation } from "./explain.js";
import { drawCurves, drawOutput } from "./plots.js";
import { connect, send, store } from "./store.js";

const $ = (id) => document.getElementById(id);
let drawnVersion = -1;

const handlers = {
  hover(param) {
    store.view.hovered = param;
    if (!store.view.pinned && store.state.selected !== param) send({ type: "select", param });
  },
  click(param) {
    if (store.view.pinned === param) {
      store.view.pinned = null;
    } else {
      store.view.pinned = param;
      send({ type: "select", param });
    }
    store.version += 1;
  },
};

function draw() {
  const state = store.state;
  if (!state) {
    const message = $("message");
    message.hidden = !store.error;
    message.textContent = store.error;
    return;
  }
  const started = performance.now();
  const geometry = drawDiagram($("diagram"), state, store.view, handlers);
  syncControls(state, geometry);
  const loss = state.loss;
  $("loss-train").textContent = fmt(loss.train);
  $("loss-test").textContent = fmt(loss.test);
  $("metric-name").textContent = loss.metric;
  $("metric-train").textContent = fmt(loss.metric_train, 3);
  $("metric-test").textContent = fmt(loss.metric_test, 3);
  drawCurves($("curves"), state.history);
  drawOutput($("output-map"), state, store.points, store.view.showTest);
  drawExplanation($("explain-summary"), $("explain-body"), state);
  const pinned = store.view.pinned;
  $("explain-edit").hidden = !pinned;
  if (pinned) $("edit-name").textContent = pinned;
  $("phase-note").textContent = phaseNote(state);
  store.perf.drawMs += performance.now() - started;
}

function phaseNote(state) {
  const pv = state.phase_values;
  const sample = pv && pv.samples > 1 ? ` (unit values of sample 1 of the batch of ${pv.samples})` : "";
  if (state.phase === "forward") return `Forward: every unit's z = Σ w·h + b and h = f(z)${sample}; L = ${fmt(pv.loss)}.`;
  if (state.phase === "backward") return `Backward: δ = ∂L/∂z for every unit${sample}, and ∂L/∂w for every weight (line width).`;
  if (state.phase === "update") return `Update: every weight moved by its step (line width: the change); L is now ${fmt(state.loss.train)}.`;
  const maps = state.data.planar ? " Heat maps: each unit's output over the input plane." : "";
  return `Lines: blue positive, orange negative, width |w| (or |∂L/∂w|).${maps}`;
}

function frame() {
  store.perf.frames += 1;
  if (store.version !== drawnVersion) {
    drawnVersion = store.version;
    draw();
    store.perf.drawn += 1;
  }
  requestAnimationFrame(frame);
}

function download(name, blob) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function setupExports() {
  $("export-model").addEventListener("click", (e) => { e.currentTarget.href = `/api/export/${store.session}/model.safetensors`; });
  $("export-markdown").addEventListener("click", (e) => { e.currentTarget.href = `/api/export/${store.session}/walkthrough.md`; });
  $("export-svg").addEventListener("click", () => download("diagram.svg", new Blob([diagramSVG()], { type: "image/svg+xml" })));
  $("export-png").addEventListener("click", () => {
    const svg = diagramSVG();
    const image = new Image();
    image.onload = () => {
      const canvas = document.createElement("canvas");
      canvas.width = image.width * 2;
      canvas.height = image.height * 2;
      const context = canvas.getContext("2d");
      context.fillStyle = "#fff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      canvas.toBlob((blob) => download("diagram.png", blob), "image/png");
    };
    image.src = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
  });
  $("edit-apply").addEventListener("click", () => {
    const value = Number($("edit-value").value);
    if ($("edit-value").value.trim() === "" || !Number.isFinite(value)) {
      store.error = "type a number, such as 0.5, for the new value";
      store.version += 1;
      return;
    }
    send({ type: "set_weight", param: store.view.pinned, value });
  });
}

connect((message) => {
  if (message.type === "hello") {
    setupControls();
    setupExports();
  }
});
window.chainrulePage = { store, send, isDrawn: () => drawnVersion === store.version };
requestAnimationFrame(frame);
