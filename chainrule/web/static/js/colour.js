// Colours: orange for negative, blue for positive (as Playground), and number formatting.

const ORANGE = [245, 147, 34];
const MIDDLE = [232, 234, 235];
const BLUE = [8, 119, 189];

/** RGB of a value in [−1, 1]: orange (−1) through light grey (0) to blue (+1). */
export function rgb(value) {
  const v = Math.max(-1, Math.min(1, value));
  const [from, t] = v < 0 ? [ORANGE, -v] : [BLUE, v];
  return MIDDLE.map((m, i) => Math.round(m + (from[i] - m) * t));
}

/** 256 RGBA entries: byte b of a heat map means the value b / 127.5 − 1 (see session._b64). */
export const PALETTE = (() => {
  const table = new Uint8ClampedArray(256 * 4);
  for (let b = 0; b < 256; b++) {
    const [r, g, bl] = rgb(b / 127.5 - 1);
    table.set([r, g, bl, 255], b * 4);
  }
  return table;
})();

/** CSS colour of a value in [−1, 1]. */
export function css(value) {
  const [r, g, b] = rgb(value);
  return `rgb(${r},${g},${b})`;
}

/** A number as the page shows it: 5 decimals, trailing zeros dropped; e-notation when tiny or huge. */
export function fmt(value, decimals = 5) {
  if (value === null || value === undefined) return "–";
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return "0";
  if (Math.abs(value) < 10 ** -decimals || Math.abs(value) >= 1e6) return value.toExponential(decimals - 1);
  const text = value.toFixed(decimals).replace(/\.?0+$/, "");
  return text === "-0" ? "0" : text;
}

/** Bytes of a base64 heat map drawn into a canvas of its resolution. */
export function paintHeatmap(canvas, base64, resolution) {
  if (canvas.width !== resolution) { canvas.width = resolution; canvas.height = resolution; }
  const bytes = atob(base64);
  const context = canvas.getContext("2d");
  const image = context.createImageData(resolution, resolution);
  for (let i = 0; i < bytes.length; i++) image.data.set(PALETTE.subarray(bytes.charCodeAt(i) * 4, bytes.charCodeAt(i) * 4 + 4), i * 4);
  context.putImageData(image, 0, 0);
}
