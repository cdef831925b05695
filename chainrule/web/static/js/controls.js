// The controls: each sends a message to the server (never changes the drawing itself), and
// `syncControls` shows the state's values in them every frame (unless the reader is typing there).

import { send, store } from "./store.js";

const $ = (id) => document.getElementById(id);
const LEARNING_RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.2, 0.3, 1, 3, 10];
const DECAYS = [0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1];
const SPEEDS = [[0, "as fast as it goes"], [1000, "1000 steps/s"], [100, "100 steps/s"], [10, "10 steps/s"], [1, "1 step/s"]];

function fill(select, entries) {
  select.textContent = "";
  for (const [value, label] of entries) {
    const option = document.createElement("option");
    option.value = String(value);
    option.textContent = label;
    select.appendChild(option);
  }
}

function show(element, value) {
  if (document.activeElement === element) return;
  const text = String(value);
  if (element.value !== text) {
    if (element.tagName === "SELECT" && ![...element.options].some((o) => o.value === text)) {
      const option = document.createElement("option");
      option.value = text;
      option.textContent = text;
      element.appendChild(option);
    }
    element.value = text;
  }
}

/** The `data` message for Playground's sets, from the sliders and the state's current choice. */
function playgroundData(changes = {}) {
  const data = store.state.data;
  const current = data.source === "playground" ? data : { name: "circle", noise: 0, train_ratio: 0.5, samples: 500, features: ["x1", "x2"] };
  return { type: "data", source: "playground", name: current.name, noise: current.noise,
    train_ratio: current.train_ratio, samples: current.samples, features: current.features, ...changes };
}

function networkMessage(hidden, activations, loss) {
  const n = store.state.network;
  return { type: "network", hidden: hidden ?? n.hidden, activations: activations ?? n.activations, loss: loss ?? n.loss };
}

/** Fill the selects from the `hello` options and wire every control to a message. */
export function setupControls() {
  const o = store.options;
  fill($("lr"), LEARNING_RATES.map((v) => [v, String(v)]));
  fill($("optimizer"), o.optimizers.map((v) => [v, v]));
  fill($("weight-decay"), DECAYS.map((v) => [v, String(v)]));
  fill($("speed"), SPEEDS);
  fill($("loss"), Object.entries(o.losses).map(([name, l]) => [name, `${name}: ${l.description}`]));
  const sources = [...(o.model ? [["model", `${o.model} with its data`]] : []), ["playground", "Playground's 2-D sets"], ...o.examples.map((e) => [`example:${e}`, `seed 001: ${e}`]),
    ...o.datasets.map((d) => [`dataset:${d.name}`, `dataset: ${d.name}`]), ["upload", "your CSV file…"]];
  fill($("source"), sources);
  const sets = $("playground-sets");
  for (const name of Object.keys(o.playground)) {
    const button = document.createElement("button");
    button.textContent = name;
    button.dataset.set = name;
    button.title = `${name} (${o.playground[name]})`;
    button.addEventListener("click", () => send(playgroundData({ name })));
    sets.appendChild(button);
  }
  const features = $("features");
  for (const name of o.features) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = name;
    box.addEventListener("change", () => {
      const chosen = [...features.querySelectorAll("input:checked")].map((b) => b.value);
      if (chosen.length === 0) { box.checked = true; return; }
      send(playgroundData({ features: chosen }));
    });
    label.append(box, ` ${name}`);
    features.appendChild(label);
  }

  for (const id of ["play", "step", "phase", "reset"]) $(id).addEventListener("click", () => {
    send({ type: id === "play" ? (store.state.playing ? "pause" : "play") : id });
  });
  $("new-weights").addEventListener("click", () => send({ type: "new_weights" }));
  $("seed").addEventListener("change", (e) => send({ type: "seed", value: Number(e.target.value) }));
  $("lr").addEventListener("change", (e) => send({ type: "training", lr: Number(e.target.value) }));
  $("optimizer").addEventListener("change", (e) => send({ type: "training", optimizer: e.target.value }));
  $("weight-decay").addEventListener("change", (e) => send({ type: "training", weight_decay: Number(e.target.value) }));
  $("speed").addEventListener("change", (e) => send({ type: "training", speed: Number(e.target.value) }));
  $("batch-size").addEventListener("change", (e) => send({ type: "training", batch_size: Number(e.target.value) }));
  $("loss").addEventListener("change", (e) => send(networkMessage(null, null, e.target.value)));
  $("noise").addEventListener("change", (e) => send(playgroundData({ noise: Number(e.target.value) / 100 })));
  $("train-ratio").addEventListener("change", (e) => send(playgroundData({ train_ratio: Number(e.target.value) / 100 })));
  $("samples").addEventListener("change", (e) => send(playgroundData({ samples: Number(e.target.value) })));
  $("source").addEventListener("change", (e) => {
    const value = e.target.value;
    store.view.uploading = value === "upload"; // the page's own state until a file is read
    store.version += 1;
    if (value === "playground") send(playgroundData());
    else if (value === "model") send({ type: "data", source: "model" });
    else if (value.startsWith("example:")) send({ type: "data", source: "example", name: value.slice(8) });
    else if (value.startsWith("dataset:")) send({ type: "data", source: "dataset", name: value.slice(8) });
  });
  $("upload-file").addEventListener("change", upload);
  $("upload-use").addEventListener("click", () => {
    const features = [...$("upload-features").querySelectorAll("input:checked")].map((b) => b.value);
    send({ type: "data", source: "upload", target: $("upload-target").value, features: features.length ? features : null, train_ratio: 0.8 });
  });
  $("add-layer").addEventListener("click", () => {
    const n = store.state.network;
    send(networkMessage([...n.hidden, n.hidden.at(-1) ?? 4], [...n.activations, n.activations.at(-1) ?? "tanh"]));
  });
  $("remove-layer").addEventListener("click", () => {
    const n = store.state.network;
    send(networkMessage(n.hidden.slice(0, -1), n.activations.slice(0, -1)));
  });
  for (const radio of document.querySelectorAll("input[name=colour-by]")) {
    radio.addEventListener("change", (e) => { store.view.colourBy = e.target.value; store.version += 1; });
  }
  $("show-test").addEventListener("change", (e) => { store.view.showTest = e.target.checked; store.version += 1; });
}

/** Send the chosen CSV file to the server, which reads it with chainrule.data.read_csv. */
async function upload(event) {
  const file = event.target.files[0];
  if (!file) return;
  const limit = store.options.limits.upload_bytes;
  if (file.size > limit) {
    store.error = `${file.name} is ${(file.size / 2 ** 20).toFixed(1)} MB, more than the ${limit / 2 ** 20} MB the page takes; train on it with chainrule train`;
    store.version += 1;
    return;
  }
  const response = await fetch(`/api/upload/${store.session}?name=${encodeURIComponent(file.name)}`, { method: "POST", body: file });
  const answer = await response.json();
  if (!response.ok) { store.error = answer.error; store.version += 1; return; }
  const target = $("upload-target");
  fill(target, answer.columns.map((c) => [c, c]));
  target.value = answer.columns.at(-1);
  const boxes = $("upload-features");
  boxes.textContent = "";
  for (const column of answer.columns) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.value = column;
    box.checked = true;
    label.append(box, ` ${column}`);
    boxes.appendChild(label);
  }
  $("upload-columns").hidden = false;
  store.error = "";
  store.version += 1;
}

/** Per hidden layer: its width with + and − and its activation, placed over its column. */
function layerControls(state, geometry) {
  const box = $("layer-controls");
  const key = JSON.stringify([state.network.hidden, state.network.activations, geometry.width]);
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.textContent = "";
  const n = state.network;
  n.hidden.forEach((width, l) => {
    const div = document.createElement("div");
    div.className = "layer";
    div.style.left = `${geometry.x[l + 1]}px`;
    const minus = document.createElement("button");
    minus.className = "small";
    minus.textContent = "−";
    minus.title = "one unit fewer";
    minus.addEventListener("click", () => send(networkMessage(n.hidden.map((w, i) => (i === l ? w - 1 : w)))));
    const plus = document.createElement("button");
    plus.className = "small";
    plus.textContent = "+";
    plus.title = "one unit more";
    plus.addEventListener("click", () => send(networkMessage(n.hidden.map((w, i) => (i === l ? w + 1 : w)))));
    const activation = document.createElement("select");
    fill(activation, store.options.activations.map((a) => [a, a]));
    activation.value = n.activations[l];
    activation.addEventListener("change", (e) => send(networkMessage(null, n.activations.map((a, i) => (i === l ? e.target.value : a)))));
    div.append(minus, ` ${width} units `, plus, document.createElement("br"), activation);
    box.appendChild(div);
  });
}

/** Show the state's values in the controls. */
export function syncControls(state, geometry) {
  const t = state.training;
  show($("lr"), t.lr);
  show($("optimizer"), t.optimizer);
  show($("weight-decay"), t.weight_decay);
  show($("speed"), t.speed);
  show($("batch-size"), t.batch_size);
  show($("seed"), state.seed);
  show($("loss"), state.network.loss);
  $("play").textContent = state.playing ? "❚❚ pause" : "▶ play";
  const next = { null: "forward", forward: "backward", backward: "update", update: "forward" }[state.phase];
  $("phase").textContent = `phase: ${next}`;
  $("steps").textContent = `step ${state.steps}`;
  $("epoch").textContent = `epoch ${state.epoch}`;
  const d = state.data;
  const source = ["playground", "upload", "model"].includes(d.source) ? d.source : `${d.source}:${d.name}`;
  if (d.source === "upload") store.view.uploading = false;
  show($("source"), store.view.uploading ? "upload" : source);
  $("playground-options").hidden = d.source !== "playground";
  $("upload-options").hidden = !store.view.uploading && d.source !== "upload";
  if (d.source === "playground") {
    for (const b of $("playground-sets").children) b.classList.toggle("chosen", b.dataset.set === d.name);
    show($("noise"), Math.round(d.noise * 100));
    $("noise-value").textContent = `${Math.round(d.noise * 100)} %`;
    show($("train-ratio"), Math.round(d.train_ratio * 100));
    $("train-ratio-value").textContent = `${Math.round(d.train_ratio * 100)} %`;
    show($("samples"), d.samples);
    $("samples-value").textContent = String(d.samples);
    for (const box of $("features").querySelectorAll("input")) box.checked = d.features.includes(box.value);
  }
  $("features").parentElement.querySelector("h2:last-of-type").hidden = d.source !== "playground";
  $("features").hidden = d.source !== "playground";
  $("data-description").textContent = `${d.description} · ${d.task} · ${d.train_rows} training rows, ${d.test_rows} test rows`;
  $("layer-count").textContent = `${state.network.hidden.length} hidden layer${state.network.hidden.length === 1 ? "" : "s"}`;
  layerControls(state, geometry);
  const message = $("message");
  message.hidden = !store.error;
  message.textContent = store.error;
}
