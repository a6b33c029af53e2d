// Exact decimal text for money and quantities. The API writes them as JSON
// strings ("1234.5600"); they are never turned into floats here: grouping and
// sums work on the digits (BigInt), so what is shown is what the API said.

const PATTERN = /^(-?)(\d+)(?:\.(\d+))?$/;

function parse(text) {
  const match = PATTERN.exec(String(text));
  if (!match) throw new Error(`not a decimal: ${text}`);
  const [, sign, whole, fraction = ""] = match;
  return { units: BigInt(sign + whole + fraction), scale: fraction.length };
}

function render(units, scale) {
  const negative = units < 0n;
  let digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = scale ? "." + digits.slice(digits.length - scale) : "";
  return (negative ? "-" : "") + whole + fraction;
}

function aligned(a, b) {
  const x = parse(a), y = parse(b);
  const scale = Math.max(x.scale, y.scale);
  return [x.units * 10n ** BigInt(scale - x.scale), y.units * 10n ** BigInt(scale - y.scale), scale];
}

export function add(a, b) {
  const [x, y, scale] = aligned(a, b);
  return render(x + y, scale);
}

export function subtract(a, b) {
  const [x, y, scale] = aligned(a, b);
  return render(x - y, scale);
}

export function compare(a, b) {
  const [x, y] = aligned(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

// "1234567.5600" -> "1,234,567.5600": digits untouched, thousands grouped.
export function grouped(text) {
  const match = PATTERN.exec(String(text));
  if (!match) return String(text);
  const [, sign, whole, fraction] = match;
  return sign + whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (fraction !== undefined ? "." + fraction : "");
}

// `text` to `places` decimals, half to even (as the API rounds), e.g. for a
// 34-digit average cost; the digits kept are the API's own.
export function rounded(text, places) {
  const { units, scale } = parse(text);
  if (scale <= places) return render(units * 10n ** BigInt(places - scale), places);
  const divisor = 10n ** BigInt(scale - places);
  let kept = units / divisor; // BigInt division truncates toward zero
  const twice = 2n * (units % divisor < 0n ? -(units % divisor) : units % divisor);
  if (twice > divisor || (twice === divisor && kept % 2n !== 0n)) kept += units < 0n ? -1n : 1n;
  return render(kept, places);
}
