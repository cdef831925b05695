// The output panel's two canvases: loss curves per step, and the output over the plane with
// the data points (2-D data) or the predictions against the targets (other regression data).

import { css, paintHeatmap } from "./colour.js";

const PLANE = 6; // the data and heat maps cover [−6, 6]² (chainrule.data.playground.PLANE)
const offscreen = document.createElement("canvas");

/** Train (dark) and test (grey) loss against the step. */
export function drawCurves(canvas, history) {
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const steps = history.step;
  const finite = (v) => v !== null && Number.isFinite(v);
  const values = [...history.train, ...history.test].filter(finite);
  if (steps.length < 1 || values.length === 0) return;
  const top = Math.max(...values) || 1;
  const last = Math.max(steps[steps.length - 1], 1);
  context.font = "10px sans-serif";
  context.fillStyle = "#666";
  context.fillText(`loss ≤ ${top.toPrecision(3)}`, 4, 10);
  context.fillText(`step ${last}`, width - 60, height - 3);
  for (const [key, colour] of [["test", "#aaa"], ["train", "#222"]]) {
    context.beginPath();
    context.strokeStyle = colour;
    context.lineWidth = 1.5;
    let started = false;
    history[key].forEach((v, i) => {
      if (!finite(v)) return;
      const px = (steps[i] / last) * (width - 4) + 2;
      const py = height - 14 - (v / top) * (height - 28);
      if (started) context.lineTo(px, py); else { context.moveTo(px, py); started = true; }
    });
    context.stroke();
  }
}

function toCanvas(point, size) {
  return [((point[0] + PLANE) / (2 * PLANE)) * size, ((PLANE - point[1]) / (2 * PLANE)) * size];
}

/** The output's heat map over [−6, 6]² and the points on it (filled: train, ringed: test). */
export function drawOutput(canvas, state, points, showTest) {
  const context = canvas.getContext("2d");
  const size = canvas.width;
  context.clearRect(0, 0, size, canvas.height);
  const maps = state.heatmaps;
  if (maps) {
    paintHeatmap(offscreen, maps.output, maps.output_resolution);
    context.imageSmoothingEnabled = true;
    context.drawImage(offscreen, 0, 0, size, size);
    if (points) {
      const classify = state.data.task === "classification";
      const colour = (label) => css(classify ? (label > 0.5 ? 1 : -1) : label);
      const sets = [["train", "labels_train", "#fff"]];
      if (showTest) sets.push(["test", "labels_test", "#000"]);
      for (const [key, labels, ring] of sets) {
        points[key].forEach((point, i) => {
          const [px, py] = toCanvas(point, size);
          context.beginPath();
          context.arc(px, py, 3, 0, 2 * Math.PI);
          context.fillStyle = colour(points[labels][i]);
          context.fill();
          context.strokeStyle = ring;
          context.lineWidth = 1;
          context.stroke();
        });
      }
    }
    context.fillStyle = "#333";
    context.font = "10px sans-serif";
    context.fillText("x₁ →", size - 36, size - 4);
    context.fillText("↑ x₂", 3, 11);
    return;
  }
  const fitted = state.fitted;
  if (!fitted || fitted.target.length === 0) {
    context.fillStyle = "#666";
    context.font = "12px sans-serif";
    context.fillText("no plane to draw for these inputs:", 10, 20);
    context.fillText("see the loss and the metric above", 10, 36);
    return;
  }
  const all = [...fitted.target, ...fitted.prediction];
  const low = Math.min(...all), high = Math.max(...all);
  const span = high - low || 1;
  const at = (v) => 20 + ((v - low) / span) * (size - 30);
  context.strokeStyle = "#ccc";
  context.beginPath();
  context.moveTo(at(low), size - at(low));
  context.lineTo(at(high), size - at(high));
  context.stroke();
  context.fillStyle = "#0877bd";
  fitted.target.forEach((t, i) => {
    context.beginPath();
    context.arc(at(t), size - at(fitted.prediction[i]), 3, 0, 2 * Math.PI);
    context.fill();
  });
  context.fillStyle = "#333";
  context.font = "10px sans-serif";
  context.fillText("target →", size - 50, size - 4);
  context.fillText("↑ prediction (standardised units)", 3, 11);
}
