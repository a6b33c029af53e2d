// Folio's dashboard: the portfolio list (#/) and a portfolio's page (#/portfolio/ID).
// Every figure comes from the API (same origin, the session cookie); money and
// quantities stay the API's decimal strings (decimal.js), returns and weights
// are the API's floats. Missing prices and FX are shown as such, never as 0.
import { add, compare, grouped, rounded, subtract } from "./decimal.js";
import { barChart, lineChart } from "./chart.js";

window.folioPageId = `${Date.now()}-${Math.random()}`; // a reload would change it (the browser test checks)

const POLL_MS = 3000;
const PERIODS = ["MTD", "QTD", "YTD", "1Y", "3Y", "SI"];
const ALLOCATION_BY = ["asset_class", "sector", "currency", "country", "security"];
const STATUS_TEXT = { ok: "ok", missing_price: "no price", missing_fx: "no FX" };
const main = document.getElementById("main");

class SignedOut extends Error {}

async function api(path) {
  const answer = await fetch(path, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (answer.status === 401) throw new SignedOut();
  if (!answer.ok) {
    const error = new Error(`${path}: HTTP ${answer.status}`);
    error.status = answer.status;
    throw error;
  }
  return answer.json();
}

// Every page of a paginated list.
async function all(path, field = "items") {
  const items = [];
  for (let offset = 0; ; ) {
    const page = await api(`${path}${path.includes("?") ? "&" : "?"}limit=1000&offset=${offset}`);
    items.push(...page[field]);
    offset += page[field].length;
    if (!page[field].length || offset >= page.total) return items;
  }
}

function el(name, attributes = {}, ...children) {
  const element = document.createElement(name);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((c) => c !== null && c !== undefined));
  return element;
}

// A money or quantity: the API's exact text, grouped, to `places` decimals when given
// (the exact text is the tooltip); data-value keeps it as sent.
const CENTS = 2;
function money(value, missing = "unknown", places) {
  if (value === null || value === undefined) return el("span", { class: "missing", "data-value": "" }, missing);
  const shown = places === undefined ? value : rounded(value, places);
  return el("span", { "data-value": value, title: shown === value ? null : grouped(value),
                      class: compare(value, "0") < 0 ? "negative" : null }, grouped(shown));
}

// A float (return, weight) as a percentage; `missing` when the API has none (unknown, or
// "n/a" for a figure that does not apply, e.g. an annualized TWR under a year).
function pct(value, missing = "unknown", digits = 2) {
  if (value === null || value === undefined) return el("span", { class: missing === "n/a" ? "muted" : "missing" }, missing);
  return el("span", { class: value < 0 ? "negative" : null, "data-value": String(value) },
            `${(value * 100).toFixed(digits)}%`);
}

function ratio(value) {
  return value === null || value === undefined ? el("span", { class: "missing" }, "unknown") : value.toFixed(3);
}

function card(id, title, ...content) {
  return el("section", { class: "card", id }, el("h2", {}, title), ...content);
}

function showSignIn() {
  stopLive();
  document.getElementById("sign-out").hidden = true;
  main.replaceChildren(document.getElementById("sign-in").content.cloneNode(true));
  if (new URLSearchParams(location.search).get("signin") === "failed") {
    document.getElementById("sign-in-failed").hidden = false;
  }
}

// --- the portfolio list -------------------------------------------------------

// The last valuation date's gain: MV_t + Out_t − MV_{t−1} − In_t (exact), and r_t.
async function dayChange(id) {
  const head = await api(`/portfolios/${encodeURIComponent(id)}/timeseries?limit=1`);
  if (head.total < 2) return null;
  const last = await api(`/portfolios/${encodeURIComponent(id)}/timeseries?limit=2&offset=${head.total - 2}`);
  const [before, day] = last.items;
  const known = [before.mv, day.mv, day.inflow, day.outflow].every((v) => v !== null);
  const gain = known ? subtract(subtract(add(day.mv, day.outflow), before.mv), day.inflow) : null;
  return { date: day.date, gain, r: day.r };
}

async function renderList() {
  const portfolios = await all("/portfolios");
  const rows = await Promise.all(portfolios.map(async (p) => {
    const id = encodeURIComponent(p.portfolio_id);
    const [valuation, change] = await Promise.all([api(`/portfolios/${id}/valuation`), dayChange(p.portfolio_id)]);
    return el("tr", { "data-portfolio": p.portfolio_id },
      el("td", {}, el("a", { href: `#/portfolio/${id}` }, p.portfolio_id)),
      el("td", {}, p.name),
      el("td", {}, p.base_currency),
      el("td", { class: "num", "data-field": "total_base" }, money(valuation.total_base, "incomplete: a price or FX rate is missing", CENTS)),
      el("td", { class: "num", "data-field": "day_gain" }, change ? money(change.gain, "unknown", CENTS) : el("span", { class: "muted" }, "—")),
      el("td", { class: "num", "data-field": "day_return" }, change ? pct(change.r) : el("span", { class: "muted" }, "—")),
      el("td", { class: "muted" }, change ? change.date : ""));
  }));
  main.replaceChildren(el("h1", {}, "Portfolios"), card("portfolios", "Total value and day change",
    el("table", { id: "portfolio-list" },
      el("thead", {}, el("tr", {}, ...["portfolio", "name", "base", "total value", "day change", "day return", "as of"]
        .map((h, i) => el("th", { class: i >= 3 && i <= 5 ? "num" : null }, h)))),
      el("tbody", {}, rows))));
}

// --- a portfolio's page ---------------------------------------------------------

const POSITION_COLUMNS = [
  // [header, field, kind, decimals shown]: kind "money" sorts as exact decimals, "float" as numbers.
  ["security", "security_id", "text"],
  ["quantity", "quantity", "money"],
  ["avg cost", "avg_cost_local", "money", 4],
  ["currency", "currency", "text"],
  ["price", "price", "money"],
  ["market value (base)", "mv_base", "money", CENTS],
  ["unrealized (base)", "unrealized_base", "money", CENTS],
  ["weight", "weight", "float"],
  ["status", "valuation_status", "text"],
];

const page = { id: null, portfolio: null, positions: new Map(), sort: ["security_id", 1], period: "YTD",
               by: "asset_class", stream: null, polling: false, poll: null, refresh: null, generation: 0 };

function missingText(position) {
  return STATUS_TEXT[position.valuation_status] || position.valuation_status;
}

function positionCell(position, field, kind, places) {
  const value = position[field];
  if (field === "valuation_status") {
    return el("td", { "data-field": field, class: value === "ok" ? null : "missing" }, STATUS_TEXT[value] || value);
  }
  if (kind === "money") {
    // A figure that needs the price (or FX) it lacks says which is missing.
    const missing = ["price", "mv_base", "unrealized_base"].includes(field) ? missingText(position) : "—";
    return el("td", { class: "num", "data-field": field }, money(value, missing, places));
  }
  if (kind === "float") return el("td", { class: "num", "data-field": field }, pct(value, missingText(position)));
  return el("td", { "data-field": field }, value ?? "—");
}

function sortedPositions() {
  const [field, direction] = page.sort;
  const kind = POSITION_COLUMNS.find(([, f]) => f === field)[2];
  const order = (a, b) => {
    const x = a[field], y = b[field];
    if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1; // unknowns last
    if (y === null || y === undefined) return -1;
    if (kind === "money") return compare(x, y) * direction;
    if (kind === "float") return (x - y) * direction;
    return String(x).localeCompare(String(y)) * direction;
  };
  return [...page.positions.values()].sort(order);
}

function renderPositions() {
  const [sortField, direction] = page.sort;
  const head = el("tr", {}, POSITION_COLUMNS.map(([title, field, kind]) => el("th", {
    class: ["sortable", kind === "text" ? "" : "num",
            field === sortField ? (direction > 0 ? "sorted-asc" : "sorted-desc") : ""].join(" ").trim(),
    "data-sort": field,
    onclick: () => {
      page.sort = [field, field === sortField ? -direction : 1];
      renderPositions();
    },
  }, title)));
  const body = sortedPositions().map((p) => el("tr", { "data-security": p.security_id },
    POSITION_COLUMNS.map(([, field, kind, places]) => positionCell(p, field, kind, places))));
  document.getElementById("positions-table").replaceChildren(el("thead", {}, head), el("tbody", {}, body));
}

const TOTALS = [
  ["total value", "total_base"], ["securities", "mv_base"], ["cash", "cash_base"], ["cost", "cost_base"],
  ["unrealized", "unrealized_base"], ["realized", "realized_base"], ["income", "income_base"],
];

function renderValuation(valuation) {
  const missing = "incomplete: a price or FX rate is missing";
  const items = TOTALS.map(([title, field]) => el("div", {},
    el("dt", {}, `${title} (${valuation.base_currency})`),
    el("dd", { "data-field": field }, money(valuation[field], missing, CENTS))));
  const note = valuation.complete ? null : el("p", { class: "missing" },
    `Incomplete: a price or FX rate is missing, so the totals that need it are unknown (known so far: ` +
    `securities ${grouped(rounded(valuation.known_mv_base, CENTS))}, cash ${grouped(rounded(valuation.known_cash_base, CENTS))}).`);
  document.getElementById("totals-body").replaceChildren(el("dl", { class: "totals" }, items), note || "");
}

function renderCash(cash) {
  document.getElementById("cash-table").replaceChildren(
    el("thead", {}, el("tr", {}, el("th", {}, "currency"), el("th", { class: "num" }, "balance"),
                    el("th", { class: "num" }, "FX"), el("th", { class: "num" }, `in ${page.portfolio.base_currency}`))),
    el("tbody", {}, cash.balances.map((b) => el("tr", { "data-currency": b.currency },
      el("td", {}, b.currency),
      el("td", { class: "num", "data-field": "amount" }, money(b.amount, "unknown", CENTS)),
      el("td", { class: "num" }, money(b.fx, b.currency === page.portfolio.base_currency ? "—" : "no FX")),
      el("td", { class: "num", "data-field": "amount_base" },
         money(b.amount_base, STATUS_TEXT[b.valuation_status] || "no FX", CENTS))))));
}

async function loadAllocation() {
  const allocation = await api(`/portfolios/${encodeURIComponent(page.id)}/allocation?by=${page.by}`);
  const chart = barChart(allocation.buckets.map((b) => ({ label: b.name, value: b.weight, note: "no price/FX" })));
  chart.id = "allocation-chart";
  const note = allocation.complete ? null :
    el("p", { class: "missing" }, "Incomplete: positions without a price or FX rate are not in these weights.");
  document.getElementById("allocation-body").replaceChildren(chart, note || "");
}

// Cumulative TWR over the period: Π(1 + r_t) − 1 of the API's daily returns, the
// same linking as the period's TWR; the benchmark is its price return over the
// same dates, from its last price before the period.
async function loadPerformance() {
  const id = encodeURIComponent(page.id);
  const [performance, risk] = await Promise.all([
    api(`/portfolios/${id}/performance?period=${page.period}`), api(`/portfolios/${id}/risk?period=${page.period}`)]);
  const figures = el("dl", { class: "totals", id: "performance-figures" },
    ...[["TWR", performance.twr], ["TWR annualized", performance.twr_annualized],
        ["MWR annualized", performance.mwr_annualized], ["MWR over the period", performance.mwr_period],
        ["volatility", risk.volatility], ["max drawdown", risk.max_drawdown], ["VaR", risk.var], ["CVaR", risk.cvar],
        ["tracking error", risk.tracking_error]]
      .map(([title, value]) => el("div", {}, el("dt", {}, title), el("dd", {}, pct(value, title === "TWR annualized" ? "n/a" : "unknown")))),
    ...[["Sharpe", risk.sharpe], ["Sortino", risk.sortino], ["beta", risk.beta], ["alpha", risk.alpha],
        ["information ratio", risk.information_ratio]]
      .map(([title, value]) => el("div", {}, el("dt", {}, title), el("dd", {}, ratio(value)))));
  const series = [];
  if (performance.from && performance.to) {
    const points = await all(`/portfolios/${id}/timeseries?from=${performance.from}&to=${performance.to}`);
    let level = 1;
    series.push({ name: "portfolio", cls: "portfolio", points: points.map((p) => {
      if (p.r === null) { level = NaN; return [p.date, null]; }
      level *= 1 + p.r;
      return [p.date, Number.isNaN(level) ? null : level - 1];
    }) });
    const benchmark = risk.benchmark;
    if (benchmark && points.length) {
      const prices = await all(`/prices?security_id=${encodeURIComponent(benchmark)}&to=${performance.to}`);
      const latest = (day) => {
        let found = null;
        for (const p of prices) { if (p.price_date <= day) found = Number(p.price); else break; }
        return found;
      };
      const before = prices.filter((p) => p.price_date < performance.from);
      const base = before.length ? Number(before[before.length - 1].price) : latest(performance.from);
      if (base) {
        series.push({ name: benchmark, cls: "benchmark", points: points.map((p) => {
          const level = latest(p.date);
          return [p.date, level === null ? null : level / base - 1];
        }) });
      }
    }
  }
  const chart = lineChart(series);
  chart.id = "performance-chart";
  const legend = el("p", { class: "legend" }, ...series.map((s) => el("span", { class: s.cls }, `■ ${s.name} `)),
    el("span", { class: "muted" }, performance.from ? ` ${performance.from} to ${performance.to}` : " no transactions in the period"));
  document.getElementById("performance-body").replaceChildren(figures, chart, legend);
}

async function loadTransactions() {
  const found = await api(`/portfolios/${encodeURIComponent(page.id)}/transactions?status=ALL&sort=-trade_date&limit=15`);
  document.getElementById("transactions-table").replaceChildren(
    el("thead", {}, el("tr", {}, ...["id", "trade date", "type", "security", "quantity", "price", "amount", "currency",
                                      "version", "status"].map((h, i) => el("th", { class: [4, 5, 6].includes(i) ? "num" : null }, h)))),
    el("tbody", {}, found.items.map((t) => el("tr", { "data-transaction": t.transaction_id },
      el("td", {}, t.transaction_id), el("td", {}, t.trade_date ?? ""), el("td", {}, t.type ?? ""),
      el("td", {}, t.security_id ?? ""), el("td", { class: "num" }, t.quantity === null ? "" : money(t.quantity)),
      el("td", { class: "num" }, t.price === null ? "" : money(t.price)),
      el("td", { class: "num" }, t.amount === null ? "" : money(t.amount, "", CENTS)), el("td", {}, t.currency ?? ""),
      el("td", {}, String(t.version)), el("td", { "data-field": "status" }, t.status.toLowerCase())))));
}

async function loadIncome() {
  const income = await api(`/portfolios/${encodeURIComponent(page.id)}/income?limit=1000`);
  document.getElementById("income-body").replaceChildren(income.items.length ? el("table", {},
    el("thead", {}, el("tr", {}, ...["year", "security", "currency", "gross", "fees", "tax withheld", "net",
                                      `net (${income.base_currency})`].map((h, i) => el("th", { class: i >= 3 ? "num" : null }, h)))),
    el("tbody", {}, income.items.map((r) => el("tr", {},
      el("td", {}, String(r.year)), el("td", {}, r.security_id ?? "interest"), el("td", {}, r.currency),
      ...[r.gross, r.fees, r.tax_withheld, r.net].map((v) => el("td", { class: "num" }, money(v, "", CENTS))),
      el("td", { class: "num" }, money(r.net_base, "no FX", CENTS)))))) : el("p", { class: "muted" }, "No income."));
}

// Realized gains per closed lot (GET .../realized-gains): the latest closings first.
async function loadRealized() {
  const body = document.getElementById("realized-body");
  let report;
  try {
    report = await api(`/portfolios/${encodeURIComponent(page.id)}/realized-gains?limit=1000`);
  } catch (error) {
    if (error instanceof SignedOut) throw error;
    body.replaceChildren(el("p", { class: "muted", id: "realized-unavailable" }, "Not available."));
    return;
  }
  const items = [...report.items].reverse().slice(0, 20);
  const base = report.base_currency;
  body.replaceChildren(items.length ? el("table", { id: "realized-table" },
    el("thead", {}, el("tr", {}, ...["closed", "security", "closing trade", "lot", "opened", "days", "quantity",
                                      `proceeds (${base})`, `cost (${base})`, `gain (${base})`]
      .map((h, i) => el("th", { class: i >= 5 ? "num" : null }, h)))),
    el("tbody", {}, items.map((r) => el("tr", { "data-closing": r.transaction_id },
      el("td", {}, r.close_date), el("td", {}, r.security_id), el("td", {}, r.transaction_id),
      el("td", {}, r.lot_transaction_id ?? "pool (AVCO)"), el("td", {}, r.open_date ?? ""),
      el("td", { class: "num" }, r.holding_days === null ? "" : String(r.holding_days)),
      el("td", { class: "num" }, money(r.quantity)),
      ...[r.proceeds_base, r.cost_base, r.gain_base].map((v) => el("td", { class: "num" }, money(v, "", CENTS)))))))
    : el("p", { class: "muted" }, "No realized gains."));
}

async function loadPositions() {
  const found = await all(`/portfolios/${encodeURIComponent(page.id)}/positions`, "positions");
  page.positions = new Map(found.map((p) => [p.security_id, p]));
  renderPositions();
}

async function loadLiveFigures() {
  const id = encodeURIComponent(page.id);
  const [valuation, cash] = await Promise.all([api(`/portfolios/${id}/valuation`), api(`/portfolios/${id}/cash`)]);
  renderValuation(valuation);
  renderCash(cash);
}

async function renderPortfolio(id) {
  page.id = id;
  page.portfolio = await api(`/portfolios/${encodeURIComponent(id)}`);
  const p = page.portfolio;
  const select = (options, current, change) => el("select", { onchange: (e) => change(e.target.value) },
    options.map((o) => el("option", { value: o, selected: o === current }, o)));
  main.replaceChildren(
    el("h1", {}, `${p.name} `, el("span", { class: "muted" },
      `${p.portfolio_id} · ${p.base_currency} · ${p.cost_method}${p.benchmark_id ? ` · benchmark ${p.benchmark_id}` : ""}`)),
    card("totals", "Valuation", el("div", { id: "totals-body" })),
    card("positions", "Positions", el("table", { id: "positions-table" })),
    el("div", { class: "grid" },
      card("cash", "Cash", el("table", { id: "cash-table" })),
      card("allocation", "Allocation",
        el("div", { class: "controls" }, "by ", select(ALLOCATION_BY, page.by, (v) => { page.by = v; loadAllocation(); })),
        el("div", { id: "allocation-body" }))),
    card("performance", "Performance",
      el("div", { class: "controls" }, "period ", select(PERIODS, page.period, (v) => { page.period = v; loadPerformance(); })),
      el("div", { id: "performance-body" })),
    card("transactions", "Recent transactions", el("table", { id: "transactions-table" })),
    card("income", "Income", el("div", { id: "income-body" })),
    card("realized", "Realized gains", el("div", { id: "realized-body" })));
  await Promise.all([loadPositions(), loadLiveFigures(), loadAllocation(), loadPerformance(), loadTransactions(),
                     loadIncome(), loadRealized()]);
  startLive(id);
}

// --- live updates ---------------------------------------------------------------
// The position stream (SSE) when the API has it: events carry positions and the
// valuation, shown at once; what they do not carry (the other positions' weights,
// cash in base, allocation, transactions, returns) is re-read shortly after. Whenever the stream is not open (the API has
// none, refuses it, or the connection is down while the browser retries), the
// REST answers are re-read every few seconds instead.

function setLive(text) {
  document.getElementById("live").textContent = text;
}

function refreshSoon(all = false) {
  clearTimeout(page.refresh);
  const generation = page.generation;
  page.refresh = setTimeout(() => {
    if (generation !== page.generation) return;
    // Positions too: a trade moves every position's weight, but only its own security has an event.
    const loads = [loadPositions(), loadLiveFigures(), loadAllocation(), loadTransactions()];
    if (all) loads.push(loadPerformance(), loadIncome());
    Promise.all(loads).catch(failed);
  }, 500);
}

function startPolling(why) {
  setLive(why);
  if (page.polling) return;
  page.polling = true;
  const generation = page.generation;
  const tick = async () => {
    if (generation !== page.generation || !page.polling) return;
    try {
      await Promise.all([loadPositions(), loadLiveFigures(), loadAllocation(), loadTransactions()]);
    } catch (error) {
      if (error instanceof SignedOut) return failed(error);
      setLive(`live: ${error.message}; retrying`);
    }
    if (generation === page.generation && page.polling) page.poll = setTimeout(tick, POLL_MS);
  };
  page.poll = setTimeout(tick, POLL_MS);
}

function stopPolling() {
  const was = page.polling;
  page.polling = false;
  clearTimeout(page.poll);
  return was;
}

function startLive(id) {
  stopLive();
  const generation = page.generation;
  const stream = new EventSource(`/portfolios/${encodeURIComponent(id)}/stream`);
  page.stream = stream;
  stream.addEventListener("open", () => {
    if (generation !== page.generation) return;
    setLive("live: streaming");
    if (stopPolling()) refreshSoon(true); // what changed while the stream was down
  });
  stream.addEventListener("position", (event) => {
    const position = JSON.parse(event.data);
    page.positions.set(position.security_id, position);
    renderPositions();
    refreshSoon();
  });
  stream.addEventListener("valuation", (event) => renderValuation(JSON.parse(event.data)));
  stream.addEventListener("cash", () => refreshSoon());
  stream.addEventListener("transaction", () => refreshSoon(true));
  stream.addEventListener("reset", () => refreshSoon(true)); // events were missed: re-read everything
  stream.addEventListener("error", () => {
    if (generation !== page.generation) return;
    if (stream.readyState === EventSource.CLOSED) {
      // Refused (no such endpoint yet, or signed out): the browser will not retry.
      stream.close();
      page.stream = null;
      startPolling("live: polling every few seconds");
    } else {
      startPolling("live: stream interrupted, polling until it is back");
    }
  });
}

function stopLive() {
  page.generation += 1;
  if (page.stream) page.stream.close();
  page.stream = null;
  stopPolling();
  clearTimeout(page.refresh);
  setLive("");
}

// --- routing --------------------------------------------------------------------

function failed(error) {
  if (error instanceof SignedOut) return showSignIn();
  main.append(el("p", { class: "error" }, `Could not load: ${error.message}`));
}

async function route() {
  stopLive();
  delete document.body.dataset.ready;
  document.getElementById("sign-out").hidden = document.body.dataset.auth === "off"; // no session to end
  const match = /^#\/portfolio\/(.+)$/.exec(location.hash);
  main.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  try {
    if (match) await renderPortfolio(decodeURIComponent(match[1]));
    else await renderList();
    document.body.dataset.ready = location.hash || "#/";
  } catch (error) {
    failed(error);
  }
}

window.addEventListener("hashchange", route);
route();
