// Hand-written SVG charts: no library, no inline style (the page's CSP has
// style-src 'self'; SVG presentation attributes are not styles).

const SVG = "http://www.w3.org/2000/svg";

function node(name, attributes = {}, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

const percent = (x) => `${(x * 100).toFixed(1)}%`;

// Horizontal bars: [{label, value (a fraction), note}]; value null draws no bar.
export function barChart(items) {
  const rowHeight = 22, labelWidth = 150, barWidth = 360, width = labelWidth + barWidth + 70;
  const svg = node("svg", { viewBox: `0 0 ${width} ${rowHeight * items.length + 4}`, class: "chart bars",
                            role: "img" });
  items.forEach((item, index) => {
    const y = index * rowHeight + 2;
    svg.append(node("text", { x: labelWidth - 6, y: y + 15, "text-anchor": "end" }, item.label));
    if (item.value !== null) {
      const w = Math.max(0, Math.min(1, Math.abs(item.value))) * barWidth;
      svg.append(node("rect", { x: labelWidth, y: y + 3, width: w.toFixed(2), height: rowHeight - 6,
                                class: item.value < 0 ? "bar negative" : "bar" }));
    }
    svg.append(node("text", { x: labelWidth + barWidth + 6, y: y + 15 },
                    item.value === null ? item.note || "unknown" : percent(item.value)));
  });
  return svg;
}

// Lines over dates: series = [{name, cls, points: [[dateText, value or null]]}];
// a null value breaks the line (an unknown return is not drawn as flat).
export function lineChart(series) {
  const width = 640, height = 240, left = 56, right = 10, top = 10, bottom = 24;
  const svg = node("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart lines", role: "img" });
  const known = series.flatMap((s) => s.points.filter(([, v]) => v !== null));
  if (!known.length) {
    svg.append(node("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "no returns to draw"));
    return svg;
  }
  const times = known.map(([d]) => Date.parse(d));
  const t0 = Math.min(...times), t1 = Math.max(...times);
  let low = Math.min(0, ...known.map(([, v]) => v)), high = Math.max(0, ...known.map(([, v]) => v));
  if (high === low) high = low + 0.01;
  const x = (d) => left + (t1 === t0 ? 0 : ((Date.parse(d) - t0) / (t1 - t0)) * (width - left - right));
  const y = (v) => top + ((high - v) / (high - low)) * (height - top - bottom);
  for (const level of [low, 0, high]) {
    svg.append(node("line", { x1: left, x2: width - right, y1: y(level), y2: y(level),
                              class: level === 0 ? "axis zero" : "axis" }));
    svg.append(node("text", { x: left - 4, y: y(level) + 4, "text-anchor": "end" }, percent(level)));
  }
  svg.append(node("text", { x: left, y: height - 6 }, known.length ? series[0].points[0]?.[0] ?? "" : ""));
  svg.append(node("text", { x: width - right, y: height - 6, "text-anchor": "end" },
                  new Date(t1).toISOString().slice(0, 10)));
  for (const s of series) {
    let path = "", pen = "M";
    for (const [d, v] of s.points) {
      if (v === null) { pen = "M"; continue; }
      path += `${pen}${x(d).toFixed(1)},${y(v).toFixed(1)} `;
      pen = "L";
    }
    svg.append(node("path", { d: path.trim(), class: `line ${s.cls}` }, undefined));
  }
  return svg;
}
