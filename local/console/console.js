// The supervisor console: one store's pending queue, kept live over the WebSocket API, with
// Approve / Deny. Plain JavaScript and no build step; it uses only the public API and the
// WebSocket, so it works against `make run` and a deployed stack alike.
//
// The token stays in this page's memory: it is never stored, never logged, and removed from
// the address bar when it came in the URL fragment (`#store=…&token=…`).
"use strict";

const PRIORITY_RANK = { URGENT: 0, HIGH: 1, NORMAL: 2, LOW: 3 };
// Messages that take a request out of the queue, and what the "recent" list says of them.
const CLOSING = {
  "request.answered": (request) => request.response?.decision ?? "ANSWERED",
  "request.timed_out": () => "TIMEOUT",
  "request.withdrawn": () => "WITHDRAWN",
};
const RECENT_LIMIT = 20;
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30000;
const SETTINGS_KEY = "store-services.console"; // api, ws and store only: never the token

const $ = (id) => document.getElementById(id);

const state = {
  session: null, // { api, ws, store, token } while signed in
  socket: null,
  generation: 0, // bumped by every (re)connect and sign-out: older callbacks see it and stop
  retryTimer: null,
  retryMs: FIRST_RETRY_MS,
  pending: new Map(), // requestId → request, as the API shows it
  versions: new Map(), // requestId → highest version seen, also of requests that left
  rows: new Map(), // requestId → <li>
  report: null, // the report on show
  reportLoading: false,
  reportAsked: 0, // bumped by every report asked for
  exportUrl: null, // the last CSV file's object URL
};

class ConsoleError extends Error {
  constructor(message, fatal = false) {
    super(message);
    this.fatal = fatal; // the token or store is refused: retrying will not help
  }
}

// ---- the API ----

// One call to the API: the response and its text. A refusal throws, with the API's words.
// `accept` asks for another media type than JSON (the history as CSV).
async function send(path, { accept, ...options } = {}) {
  const { api, token } = state.session;
  const headers = { Authorization: `Bearer ${token}` };
  if (options.body) headers["Content-Type"] = "application/json";
  if (accept) headers.Accept = accept;
  let response;
  try {
    response = await fetch(api + path, {
      ...options,
      headers,
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new ConsoleError(
      "The API did not answer (is the base URL right, and does the API allow this page's origin?)",
    );
  }
  const text = await response.text();
  if (!response.ok) {
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // Not JSON: the status says enough.
    }
    // The handlers answer {"error":{"code","message"}}; the gateway itself {"message"}.
    const message = body?.error
      ? `${body.error.message} (${body.error.code})`
      : `${body?.message ?? "Refused"} (HTTP ${response.status})`;
    throw new ConsoleError(message, response.status === 401 || response.status === 403);
  }
  return { response, text };
}

// A JSON call: its body (null when empty).
async function callApi(path, options = {}) {
  const { text } = await send(path, options);
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    throw new ConsoleError("The API answered something that is not JSON");
  }
}

const storePath = () => `/stores/${encodeURIComponent(state.session.store)}/supervisor-requests`;

// Every page of the pending queue.
async function loadQueue() {
  const items = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ status: "PENDING", limit: "100" });
    if (cursor) query.set("cursor", cursor);
    const page = await callApi(`${storePath()}?${query}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

// ---- the queue's state ----

// Most urgent first, then oldest first (as the API orders it).
function compare(a, b) {
  return (
    (PRIORITY_RANK[a.priority] ?? 9) - (PRIORITY_RANK[b.priority] ?? 9) ||
    instant(a.createdAt) - instant(b.createdAt) ||
    (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0)
  );
}

// RFC 3339 with any number of fraction digits, to milliseconds.
const instant = (text) => Date.parse(String(text).replace(/(\.\d{3})\d+/, "$1"));

function replaceQueue(items) {
  state.pending.clear();
  for (const request of items) {
    // A page read just before a change may be older than a message already seen.
    if (request.version < (state.versions.get(request.requestId) ?? -1)) continue;
    state.versions.set(request.requestId, request.version);
    state.pending.set(request.requestId, request);
  }
  render();
}

// One WebSocket message (or an answer this page gave). Versions make it idempotent and keep
// an older copy from overwriting a newer one.
function apply({ type, request }) {
  const id = request.requestId;
  const known = state.versions.get(id) ?? -1;
  const closing = type in CLOSING || request.statusCode !== "PENDING_RESPONSE";
  if (closing) {
    // A withdrawal carries the request as it last was: same version.
    if (request.version < known) return;
    state.versions.set(id, request.version);
    const was = state.pending.get(id);
    if (!was) return;
    state.pending.delete(id);
    addRecent(request, (CLOSING[type] ?? (() => request.statusCode))(request));
  } else {
    if (request.version <= known) return;
    state.versions.set(id, request.version);
    state.pending.set(id, request);
  }
  render();
}

// ---- rendering ----

const humanize = (code) =>
  String(code).charAt(0) + String(code).slice(1).toLowerCase().replaceAll("_", " ");

function render() {
  const queue = $("queue");
  for (const [id, row] of state.rows) {
    if (!state.pending.has(id)) {
      row.remove();
      state.rows.delete(id);
    }
  }
  [...state.pending.values()].sort(compare).forEach((request, index) => {
    let row = state.rows.get(request.requestId);
    if (!row) {
      row = newRow(request.requestId);
      state.rows.set(request.requestId, row);
    }
    fill(row, request);
    // Moves only rows out of place, so a note being typed keeps its focus.
    if (queue.children[index] !== row) queue.insertBefore(row, queue.children[index] ?? null);
  });
  $("queue-count").textContent = String(state.pending.size);
  $("queue-empty").hidden = state.pending.size > 0;
}

function newRow(id) {
  const row = $("request-row").content.firstElementChild.cloneNode(true);
  row.dataset.requestId = id;
  row.querySelector(".approve").addEventListener("click", () => answer(row, "APPROVED"));
  row.querySelector(".deny").addEventListener("click", () => answer(row, "DENIED"));
  return row;
}

function fill(row, request) {
  row.dataset.priority = request.priority;
  row.dataset.version = String(request.version);
  row.dataset.deadline = request.deadline;
  row.querySelector(".priority").textContent = request.priority;
  row.querySelector(".type").textContent = humanize(request.requestType);
  row.querySelector(".details").textContent = request.details;
  row.querySelector(".requested-by").textContent = request.requestedBy;
  const created = row.querySelector(".created-at");
  created.dateTime = request.createdAt;
  created.textContent = new Date(instant(request.createdAt)).toLocaleTimeString();
  for (const button of row.querySelectorAll("button")) {
    button.setAttribute("aria-label", `${button.textContent} ${humanize(request.requestType)} request from ${request.requestedBy}`);
  }
  updateDue(row);
}

// "due in 4 min"; past the deadline the API refuses answers, so the buttons go.
function updateDue(row) {
  const left = instant(row.dataset.deadline) - Date.now();
  const expired = left <= 0;
  row.classList.toggle("expired", expired);
  row.querySelector(".due").textContent = expired
    ? "past its deadline"
    : left < 60000
      ? `due in ${Math.ceil(left / 1000)} s`
      : `due in ${Math.round(left / 60000)} min`;
  if (expired) for (const button of row.querySelectorAll("button")) button.disabled = true;
}

function addRecent(request, outcome) {
  const item = document.createElement("li");
  item.dataset.requestId = request.requestId;
  item.dataset.outcome = outcome;
  const label = document.createElement("span");
  label.className = "outcome";
  label.textContent = humanize(outcome);
  const by = request.response?.respondedBy ? ` — by ${request.response.respondedBy}` : "";
  const note = request.response?.note ? `: “${request.response.note}”` : "";
  item.append(label, `${humanize(request.requestType)}, ${request.details}${by}${note}`);
  const recent = $("recent");
  recent.prepend(item);
  while (recent.children.length > RECENT_LIMIT) recent.lastElementChild.remove();
}

function setStatus(stateName, text) {
  const status = $("status");
  status.dataset.state = stateName;
  status.textContent = text;
}

// Who the token says signed in (display only: the API decides).
function showWho(token) {
  let text = "";
  try {
    const payload = token.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
    const claims = JSON.parse(atob(payload));
    text = `Signed in as ${claims.sub ?? "?"}${claims.role ? ` (${claims.role})` : ""}`;
  } catch {
    // Not a JWT we can read: the API will say so.
  }
  $("who").textContent = text;
}

// ---- answering ----

async function answer(row, decision) {
  const id = row.dataset.requestId;
  const error = row.querySelector(".error");
  const buttons = row.querySelectorAll("button");
  error.textContent = "";
  for (const button of buttons) button.disabled = true;
  const note = row.querySelector(".note").value.trim();
  try {
    const answered = await callApi(`${storePath()}/${encodeURIComponent(id)}/response`, {
      method: "POST",
      body: JSON.stringify(note ? { decision, note } : { decision }),
    });
    apply({ type: "request.answered", request: answered });
  } catch (refusal) {
    error.textContent = refusal.message;
    for (const button of buttons) button.disabled = false;
    updateDue(row);
  }
}

// ---- the connection ----

function openSocket() {
  const generation = ++state.generation;
  const { ws, store, token } = state.session;
  let url;
  try {
    url = new URL(ws);
  } catch {
    stop("The WebSocket URL is not valid");
    return;
  }
  url.searchParams.set("store", store);
  url.searchParams.set("token", token);
  setStatus("connecting", `Connecting to ${store}…`);
  const socket = new WebSocket(url);
  state.socket = socket;
  const early = []; // messages that arrive while the queue loads
  let opened = false;
  let loaded = false;

  socket.onopen = async () => {
    opened = true;
    // Listening first, then reading: nothing that changes in between is missed.
    try {
      const items = await loadQueue();
      if (generation !== state.generation) return;
      replaceQueue(items);
      loaded = true;
      early.splice(0).forEach(apply);
      state.retryMs = FIRST_RETRY_MS;
      $("queue").dataset.loaded = "true";
      setStatus("connected", `Connected: ${store}, live`);
    } catch (error) {
      if (generation !== state.generation) return;
      if (error.fatal) stop(error.message);
      else socket.close();
    }
  };
  socket.onmessage = (event) => {
    if (generation !== state.generation) return;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    // Anything but a change (e.g. the answer to a frame sent by mistake) is ignored.
    if (typeof message?.type !== "string" || !message.request?.requestId) return;
    if (loaded) apply(message);
    else early.push(message);
  };
  socket.onclose = async () => {
    if (generation !== state.generation) return;
    state.socket = null;
    $("queue").dataset.loaded = "false";
    if (!opened) {
      // A refused upgrade does not say why; the API does (an expired token, another store).
      try {
        await callApi(`${storePath()}?limit=1`);
      } catch (error) {
        if (generation !== state.generation) return;
        if (error.fatal) return stop(error.message);
      }
      if (generation !== state.generation) return;
    }
    retryLater();
  };
}

function retryLater() {
  const wait = state.retryMs * (0.75 + Math.random() / 2);
  state.retryMs = Math.min(state.retryMs * 2, MAX_RETRY_MS);
  setStatus("disconnected", `Disconnected; reconnecting in ${Math.round(wait / 1000)} s`);
  const generation = state.generation;
  state.retryTimer = setTimeout(() => {
    if (generation === state.generation) openSocket();
  }, wait);
}

// Closes the connection; `message` says why (nothing: signed out).
function stop(message) {
  state.generation++;
  clearTimeout(state.retryTimer);
  if (state.socket) state.socket.close();
  state.socket = null;
  $("queue").dataset.loaded = "false";
  $("disconnect").disabled = true;
  if (message) setStatus("error", message);
  else setStatus("disconnected", "Not connected");
}

function connect() {
  stop();
  const value = (id) => $(id).value.trim();
  state.session = {
    api: value("api").replace(/\/+$/, ""),
    ws: value("ws"),
    store: value("store"),
    token: value("token"),
  };
  try {
    const { api, ws, store } = state.session;
    localStorage.setItem(SETTINGS_KEY, JSON.stringify({ api, ws, store }));
  } catch {
    // No storage (private mode, file://): nothing to remember.
  }
  state.pending.clear();
  state.versions.clear();
  render();
  $("recent").replaceChildren();
  showWho(state.session.token);
  $("disconnect").disabled = false;
  state.retryMs = FIRST_RETRY_MS;
  openSocket();
  // Another store or token: the last report is not this session's.
  clearReport();
  if (!$("view-reports").hidden) showReport();
}

// ---- the views ----

function showView(name) {
  for (const view of ["queue", "reports"]) {
    const tab = $(`tab-${view}`);
    const selected = view === name;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(`view-${view}`).hidden = !selected;
  }
  // The first look at the reports, once signed in, shows the default range.
  if (name === "reports" && state.session && !state.report && !state.reportLoading) showReport();
}

// ---- reports ----
//
// GET /stores/{storeId}/reports/supervisor-requests?from&to&tz&groupBy: counts per day or
// hour in the store's local time, time to answer, supervisors and busy hours. The charts are
// SVG drawn here (no library: the page loads nothing but its own files); each mark carries
// its number in data-* attributes, and the table beside the charts says the same in text.

const SVG_NS = "http://www.w3.org/2000/svg";
const MAX_HOURLY_REPORT_DAYS = 31;
const MAX_REPORT_DAYS = 92;
const OUTCOME_SERIES = [
  { key: "created", label: "created", value: (tally) => tally.created },
  { key: "answered", label: "answered", value: (tally) => tally.approved + tally.denied },
  { key: "timedOut", label: "timed out", value: (tally) => tally.timedOut },
];
const ANSWER_SERIES = [
  { key: "p50", label: "median time to answer" },
  { key: "p90", label: "p90 time to answer" },
];
const WEEKDAY_NAMES = { MON: "Monday", TUE: "Tuesday", WED: "Wednesday", THU: "Thursday", FRI: "Friday", SAT: "Saturday", SUN: "Sunday" };

function svg(name, attributes = {}, parent = null, text = null) {
  const element = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== null) element.textContent = text;
  parent?.append(element);
  return element;
}

function html(name, attributes = {}, text = null) {
  const element = document.createElement(name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== null) element.textContent = text;
  return element;
}

// The browser's zone, the likely one of the store it stands in.
const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

// Today's calendar date in `zone`, as YYYY-MM-DD.
function today(zone) {
  try {
    return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
  } catch {
    return new Date().toISOString().slice(0, 10);
  }
}

// A YYYY-MM-DD date moved by `days` (calendar arithmetic, no zone involved).
function addDays(date, days) {
  const [year, month, day] = date.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

const daysBetween = (from, to) => Math.round((Date.parse(to) - Date.parse(from)) / 86400000);

// "2026-11-01T00:00:00-06:00": the local date and time are the text itself.
function bucketLabel(start, groupBy, short = false) {
  const date = start.slice(0, 10);
  const [year, month, day] = date.split("-").map(Number);
  const options = short ? { month: "short", day: "numeric", timeZone: "UTC" } : { weekday: "short", month: "short", day: "numeric", timeZone: "UTC" };
  const dayText = new Date(Date.UTC(year, month - 1, day)).toLocaleDateString(undefined, options);
  if (groupBy !== "hour") return dayText;
  const time = start.slice(11, 16);
  if (short) return time === "00:00" ? dayText : time;
  // The offset tells apart the two 01:00 hours of a day that ends daylight saving time.
  const offset = start.slice(19).replace(/^\.\d+/, "");
  return `${dayText} ${time} (UTC${offset === "Z" ? "" : offset})`;
}

// 41000 → "41 s", 125000 → "2 min 5 s", 3780000 → "1 h 3 min".
function duration(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return `${ms} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return seconds % 60 ? `${minutes} min ${seconds % 60} s` : `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
}

// Round steps from 0 to at least `max`, about `count` of them: counts by 1, 2, 5, 10…;
// durations by whole seconds, minutes or hours.
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map((s) => s * 1000);

function ticks(max, { count = 4, time = false } = {}) {
  if (max <= 0) return time ? [0, 1000] : [0, 1];
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step =
    (time && TIME_STEPS.find((s) => s >= raw)) ||
    [1, 2, 5, 10].map((m) => Math.max(1, m * magnitude)).find((s) => s >= raw);
  const values = [];
  for (let value = 0; value < max + step; value += step) values.push(value);
  return values;
}

function reportQuery() {
  return {
    from: $("report-from").value,
    to: $("report-to").value,
    tz: $("report-tz").value.trim(),
    groupBy: $("report-group").value,
  };
}

function setReportError(message) {
  $("report-error").textContent = message;
}

async function showReport() {
  setReportError("");
  if (!state.session) {
    setReportError("Sign in first: the reports are the signed-in store's.");
    return;
  }
  const query = reportQuery();
  if (!query.from || !query.to) return setReportError("Pick the first and the last day.");
  if (query.to < query.from) return setReportError("The last day is before the first.");
  const days = daysBetween(query.from, query.to) + 1;
  if (days > MAX_REPORT_DAYS) {
    return setReportError(`A report covers at most ${MAX_REPORT_DAYS} days.`);
  }
  // Hourly buckets over more than a month would near Lambda's response limit: the API
  // refuses them, so a longer range is shown per day.
  if (query.groupBy === "hour" && days > MAX_HOURLY_REPORT_DAYS) {
    query.groupBy = "day";
    $("report-group").value = "day";
  }
  // The latest asked for wins: an answer to an earlier one that comes later is dropped.
  const asked = ++state.reportAsked;
  const session = state.session;
  state.reportLoading = true;
  $("report-status").textContent = "Loading the report…";
  $("report").setAttribute("aria-busy", "true");
  try {
    const path = `/stores/${encodeURIComponent(session.store)}/reports/supervisor-requests?${new URLSearchParams(query)}`;
    const report = await callApi(path);
    if (asked !== state.reportAsked || session !== state.session) return;
    state.report = report;
    renderReport(report);
    $("report-status").textContent = `${report.buckets.length} ${report.groupBy === "hour" ? "hours" : "days"}, ${report.tz}`;
  } catch (error) {
    if (asked !== state.reportAsked || session !== state.session) return;
    $("report-status").textContent = "";
    setReportError(error.message);
  } finally {
    if (asked === state.reportAsked) {
      state.reportLoading = false;
      $("report").removeAttribute("aria-busy");
    }
  }
}

function clearReport() {
  state.report = null;
  state.reportAsked += 1;
  state.reportLoading = false;
  $("report").hidden = true;
  $("report").dataset.loaded = "false";
  $("csv-download").disabled = true;
  $("csv-result").hidden = true;
  $("report-status").textContent = "";
  setReportError("");
  releaseExport();
}

function renderReport(report) {
  const groupWord = report.groupBy === "hour" ? "hour" : "day";
  for (const word of document.querySelectorAll("#report .group-word")) word.textContent = groupWord;
  $("report-range-text").textContent =
    report.from === report.to ? `${report.from}, ${report.tz}` : `${report.from} to ${report.to}, ${report.tz}`;
  renderTotals(report.totals);
  drawOutcomes($("outcomes-chart"), report);
  drawAnswerTimes($("answer-chart"), report);
  fillBucketTable(report);
  drawBusyHours($("busy-chart"), report.busyHours);
  fillSplit($("priority-table"), report.totals.byPriority);
  fillSplit($("type-table"), report.totals.byRequestType);
  fillSupervisors(report.supervisors);
  const root = $("report");
  root.dataset.from = report.from;
  root.dataset.to = report.to;
  root.dataset.tz = report.tz;
  root.dataset.groupBy = report.groupBy;
  root.dataset.loaded = "true";
  root.hidden = false;
  $("csv-download").disabled = report.buckets.length === 0;
}

function renderTotals(totals) {
  const time = totals.timeToAnswerMs ?? {};
  const entries = [
    ["created", "Created", totals.created],
    ["approved", "Approved", totals.approved],
    ["denied", "Denied", totals.denied],
    ["timedOut", "Timed out", totals.timedOut],
    ["withdrawn", "Withdrawn", totals.withdrawn],
    ["discarded", "Discarded", totals.discarded],
    ["p50", "Median time to answer", duration(time.p50)],
    ["p90", "p90 time to answer", duration(time.p90)],
  ];
  const list = $("report-totals");
  list.replaceChildren();
  for (const [field, label, value] of entries) {
    const group = html("div", { "data-field": field });
    group.append(html("dt", {}, label), html("dd", {}, String(value)));
    list.append(group);
  }
}

// The frame every bucket chart shares: a viewBox, the plot area and the time axis labels.
function frame(chart, report, { height = 240, left = 44 } = {}) {
  chart.replaceChildren();
  const width = 860;
  const box = { left, right: width - 12, top: 12, bottom: height - 30 };
  chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
  chart.setAttribute("preserveAspectRatio", "xMinYMin meet");
  const count = Math.max(report.buckets.length, 1);
  const band = (box.right - box.left) / count;
  // A label every few buckets: at most about 12 on the axis.
  const every = Math.ceil(count / 12);
  const axis = svg("g", { class: "axis x", "aria-hidden": "true" }, chart);
  report.buckets.forEach((bucket, index) => {
    if (index % every) return;
    svg("text", { x: box.left + band * (index + 0.5), y: box.bottom + 18, "text-anchor": "middle" }, axis, bucketLabel(bucket.start, report.groupBy, true));
  });
  svg("line", { x1: box.left, x2: box.right, y1: box.bottom, y2: box.bottom, class: "baseline" }, axis);
  return { box, band };
}

// Horizontal grid lines and their labels; returns value → y.
function yAxis(chart, box, max, format, time = false) {
  const steps = ticks(max, { time });
  const top = steps[steps.length - 1];
  const y = (value) => box.bottom - (value / top) * (box.bottom - box.top);
  const axis = svg("g", { class: "axis y", "aria-hidden": "true" }, chart);
  for (const value of steps) {
    svg("line", { x1: box.left, x2: box.right, y1: y(value), y2: y(value), class: "grid" }, axis);
    svg("text", { x: box.left - 6, y: y(value) + 4, "text-anchor": "end" }, axis, format(value));
  }
  return y;
}

function drawOutcomes(chart, report) {
  const { box, band } = frame(chart, report);
  const max = Math.max(0, ...report.buckets.flatMap((bucket) => OUTCOME_SERIES.map((s) => s.value(bucket))));
  const y = yAxis(chart, box, max, String);
  const width = (band * 0.8) / OUTCOME_SERIES.length;
  const bars = svg("g", { class: "bars" }, chart);
  report.buckets.forEach((bucket, index) => {
    const group = svg("g", { "data-bucket": bucket.start }, bars);
    OUTCOME_SERIES.forEach((series, position) => {
      const value = series.value(bucket);
      const bar = svg("rect", {
        class: `bar ${series.key}`,
        "data-series": series.key,
        "data-bucket": bucket.start,
        "data-value": value,
        x: box.left + band * (index + 0.1) + width * position,
        y: y(value),
        width: Math.max(width - 0.5, 0.5),
        height: box.bottom - y(value),
      }, group);
      svg("title", {}, bar, `${bucketLabel(bucket.start, report.groupBy)}: ${value} ${series.label}`);
    });
  });
  const total = (key) => report.buckets.reduce((sum, bucket) => sum + OUTCOME_SERIES.find((s) => s.key === key).value(bucket), 0);
  chart.setAttribute(
    "aria-label",
    `Requests per ${report.groupBy}, ${report.from} to ${report.to}: ${total("created")} created, ` +
      `${total("answered")} answered, ${total("timedOut")} timed out. The table below lists every ${report.groupBy}.`,
  );
}

function drawAnswerTimes(chart, report) {
  const { box, band } = frame(chart, report, { left: 64 });
  const times = report.buckets.map((bucket) => bucket.timeToAnswerMs ?? {});
  const max = Math.max(0, ...times.flatMap((time) => [time.p50 ?? 0, time.p90 ?? 0]));
  const y = yAxis(chart, box, max, (value) => (value === 0 ? "0" : duration(value)), true);
  for (const series of ANSWER_SERIES) {
    const group = svg("g", { class: `line ${series.key}`, "data-series": series.key }, chart);
    // A line through consecutive buckets that have answers; a gap where none were given.
    let points = [];
    const flush = () => {
      if (points.length > 1) svg("polyline", { points: points.join(" "), class: "trace" }, group);
      points = [];
    };
    report.buckets.forEach((bucket, index) => {
      const value = times[index][series.key];
      if (value === null || value === undefined) return flush();
      const x = box.left + band * (index + 0.5);
      points.push(`${x},${y(value)}`);
      const dot = svg("circle", {
        class: "point",
        "data-series": series.key,
        "data-bucket": bucket.start,
        "data-value": value,
        cx: x,
        cy: y(value),
        r: report.buckets.length > 60 ? 2 : 3.5,
      }, group);
      svg("title", {}, dot, `${bucketLabel(bucket.start, report.groupBy)}: ${series.label} ${duration(value)} (${times[index].count} answers)`);
    });
    flush();
  }
  const answered = times.filter((time) => time.count);
  chart.setAttribute(
    "aria-label",
    answered.length
      ? `Time to answer per ${report.groupBy}: median and p90 of ${answered.length} ${report.groupBy}s with answers; ` +
          `over the whole range median ${duration(report.totals.timeToAnswerMs?.p50)}, p90 ${duration(report.totals.timeToAnswerMs?.p90)}. The table below lists every ${report.groupBy}.`
      : "Time to answer: no request was answered in this range.",
  );
}

function fillBucketTable(report) {
  const body = $("buckets-table").tBodies[0];
  body.replaceChildren();
  for (const bucket of report.buckets) {
    const time = bucket.timeToAnswerMs ?? {};
    const row = html("tr", { "data-bucket": bucket.start });
    row.append(html("th", { scope: "row" }, bucketLabel(bucket.start, report.groupBy)));
    for (const [field, value] of [
      ["created", bucket.created],
      ["approved", bucket.approved],
      ["denied", bucket.denied],
      ["answered", bucket.approved + bucket.denied],
      ["timedOut", bucket.timedOut],
      ["withdrawn", bucket.withdrawn],
      ["discarded", bucket.discarded],
    ]) {
      row.append(html("td", { "data-field": field, "data-value": value }, String(value)));
    }
    for (const field of ["p50", "p90", "max"]) {
      row.append(html("td", { "data-field": field, "data-value": time[field] ?? "" }, duration(time[field])));
    }
    body.append(row);
  }
}

function drawBusyHours(chart, busy) {
  chart.replaceChildren();
  const weekdays = busy?.weekdays ?? Object.keys(WEEKDAY_NAMES);
  const counts = busy?.created ?? [];
  const cell = 32;
  const left = 48;
  const top = 22;
  chart.setAttribute("viewBox", `0 0 ${left + cell * 24 + 4} ${top + cell * weekdays.length + 4}`);
  chart.setAttribute("preserveAspectRatio", "xMinYMin meet");
  const max = Math.max(0, ...counts.flat());
  const hours = svg("g", { class: "axis", "aria-hidden": "true" }, chart);
  for (let hour = 0; hour < 24; hour += 1) {
    svg("text", { x: left + cell * (hour + 0.5), y: top - 8, "text-anchor": "middle" }, hours, String(hour).padStart(2, "0"));
  }
  const cells = svg("g", { class: "cells" }, chart);
  let busiest = null;
  weekdays.forEach((weekday, row) => {
    svg("text", { x: left - 8, y: top + cell * (row + 0.5) + 4, "text-anchor": "end", class: "axis", "aria-hidden": "true" }, chart, weekday.charAt(0) + weekday.slice(1).toLowerCase());
    for (let hour = 0; hour < 24; hour += 1) {
      const value = counts[row]?.[hour] ?? 0;
      if (value && (!busiest || value > busiest.value)) busiest = { weekday, hour, value };
      const rect = svg("rect", {
        class: value ? "cell" : "cell empty",
        "data-weekday": weekday,
        "data-hour": hour,
        "data-value": value,
        x: left + cell * hour + 1,
        y: top + cell * row + 1,
        width: cell - 2,
        height: cell - 2,
        rx: 3,
        // Darker for busier: a presentation attribute, not a style (the page's policy allows no inline style).
        "fill-opacity": value ? (0.15 + (0.85 * value) / max).toFixed(3) : 1,
      }, cells);
      svg("title", {}, rect, `${WEEKDAY_NAMES[weekday] ?? weekday} ${String(hour).padStart(2, "0")}:00: ${value} created`);
      if (value) {
        svg("text", { x: left + cell * (hour + 0.5), y: top + cell * (row + 0.5) + 4, "text-anchor": "middle", class: value / max > 0.55 ? "count strong" : "count", "aria-hidden": "true" }, cells, String(value));
      }
    }
  });
  $("busy-summary").textContent = busiest
    ? `Busiest: ${WEEKDAY_NAMES[busiest.weekday] ?? busiest.weekday}s ${String(busiest.hour).padStart(2, "0")}:00–${String(busiest.hour + 1).padStart(2, "0")}:00, ${busiest.value} created.`
    : "No request was created in this range.";
  // The same numbers as a table.
  const table = $("busy-table");
  const head = html("tr");
  head.append(html("th", { scope: "col" }, "Day"));
  for (let hour = 0; hour < 24; hour += 1) head.append(html("th", { scope: "col" }, String(hour).padStart(2, "0")));
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(
    ...weekdays.map((weekday, row) => {
      const line = html("tr", { "data-weekday": weekday });
      line.append(html("th", { scope: "row" }, WEEKDAY_NAMES[weekday] ?? weekday));
      for (let hour = 0; hour < 24; hour += 1) line.append(html("td", {}, String(counts[row]?.[hour] ?? 0)));
      return line;
    }),
  );
}

// Totals split by a key (priority, request type): one row each, in the API's order.
function fillSplit(table, keyed) {
  const head = html("tr");
  for (const label of ["", "Created", "Answered", "Timed out", "Answer p50"]) head.append(html("th", { scope: "col" }, label));
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(
    ...Object.entries(keyed ?? {}).map(([key, counts]) => {
      const row = html("tr", { "data-key": key });
      row.append(html("th", { scope: "row" }, humanize(key)));
      for (const [field, value] of [
        ["created", counts.created],
        ["answered", counts.approved + counts.denied],
        ["timedOut", counts.timedOut],
      ]) {
        row.append(html("td", { "data-field": field, "data-value": value }, String(value)));
      }
      const p50 = counts.timeToAnswerMs?.p50 ?? null;
      row.append(html("td", { "data-field": "p50", "data-value": p50 ?? "" }, duration(p50)));
      return row;
    }),
  );
}

function fillSupervisors(supervisors) {
  const body = $("supervisors-table").tBodies[0];
  body.replaceChildren(
    ...supervisors.map((supervisor) => {
      const row = html("tr", { "data-subject": supervisor.subject });
      row.append(html("th", { scope: "row" }, supervisor.subject));
      for (const field of ["answers", "approved", "denied"]) {
        row.append(html("td", { "data-field": field, "data-value": supervisor[field] }, String(supervisor[field])));
      }
      row.append(html("td", { "data-field": "medianTimeToAnswerMs", "data-value": supervisor.medianTimeToAnswerMs ?? "" }, duration(supervisor.medianTimeToAnswerMs)));
      return row;
    }),
  );
  $("supervisors-table").hidden = supervisors.length === 0;
  $("supervisors-empty").hidden = supervisors.length > 0;
}

// ---- the history as CSV ----
//
// The history route answers `Accept: text/csv` page by page, each page a whole CSV with its
// header row, the next page in `Link: <…>; rel="next"`. The button reads every page of the
// requests created in the report's range, keeps one header row, and saves one file.

// The next page's query, from a Link header (its path may lack the API's stage prefix: the
// query alone is taken, on the route this page already calls).
function nextPage(link) {
  if (!link) return null;
  for (const part of link.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (match && /;\s*rel="?([^"]*\s)?next(\s[^"]*)?"?\s*(;|$)/i.test(match[2])) {
      return new URL(match[1], "http://link.invalid/").search;
    }
  }
  return null;
}

// The records of a CSV text (quoted cells may hold line breaks).
function records(text) {
  const rows = [];
  let start = 0;
  let quoted = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (char === '"') quoted = !quoted;
    else if (char === "\n" && !quoted) {
      rows.push(text.slice(start, index + 1));
      start = index + 1;
    }
  }
  if (start < text.length) rows.push(text.slice(start) + "\r\n");
  return rows;
}

function releaseExport() {
  if (state.exportUrl) URL.revokeObjectURL(state.exportUrl);
  state.exportUrl = null;
}

async function downloadCsv() {
  const report = state.report;
  const session = state.session;
  if (!report || !session || !report.buckets.length) return;
  const button = $("csv-download");
  button.disabled = true;
  setReportError("");
  $("csv-result").hidden = true;
  const pageSize = button.dataset.pageSize || "100";
  const query = new URLSearchParams({
    status: "NOT_PENDING",
    since: report.buckets[0].start,
    until: report.buckets[report.buckets.length - 1].end,
    limit: pageSize,
  });
  let next = `?${query}`;
  let header = null;
  const lines = [];
  let pages = 0;
  try {
    while (next) {
      $("report-status").textContent = `Exporting: page ${pages + 1}…`;
      const { response, text } = await send(`${storePath()}${next}`, { accept: "text/csv" });
      if (session !== state.session) return;
      // The first page's byte order mark is decoded away by fetch; the file gets one below.
      const rows = records(text.replace(/^\uFEFF/, ""));
      const first = rows.shift();
      if (first !== undefined) header ??= first;
      lines.push(...rows);
      pages += 1;
      next = nextPage(response.headers.get("Link"));
    }
  } catch (error) {
    if (session === state.session) {
      setReportError(`The CSV export stopped: ${error.message}`);
      $("report-status").textContent = "";
    }
    return;
  } finally {
    button.disabled = !state.report;
  }
  // A byte order mark, so that spreadsheets read the file as UTF-8.
  const blob = new Blob(["\uFEFF", header ?? "", ...lines], { type: "text/csv;charset=utf-8" });
  releaseExport();
  state.exportUrl = URL.createObjectURL(blob);
  const name = `supervisor-requests_${session.store}_${report.from}_${report.to}.csv`.replace(/[^\w.-]+/g, "-");
  const link = $("csv-link");
  link.href = state.exportUrl;
  link.download = name;
  link.textContent = name;
  link.dataset.rows = String(lines.length);
  link.dataset.pages = String(pages);
  $("csv-result").hidden = false;
  $("csv-count").textContent = ` (${lines.length} request${lines.length === 1 ? "" : "s"})`;
  $("report-status").textContent = `Exported ${lines.length} requests in ${pages} page${pages === 1 ? "" : "s"}.`;
  link.click();
}

function startReports() {
  const zone = browserZone();
  $("report-tz").value = zone;
  try {
    const list = $("time-zones");
    for (const name of Intl.supportedValuesOf("timeZone")) list.append(html("option", { value: name }));
  } catch {
    // An older browser: the zone is typed.
  }
  const last = today(zone);
  $("report-to").value = last;
  $("report-from").value = addDays(last, -6);
  $("report-range").addEventListener("submit", (event) => {
    event.preventDefault();
    showReport();
  });
  $("csv-download").addEventListener("click", () => downloadCsv());
  $("tab-queue").addEventListener("click", () => showView("queue"));
  $("tab-reports").addEventListener("click", () => showView("reports"));
  // Arrow keys move between the tabs (the tab pattern of WAI-ARIA).
  $("tab-queue").parentElement.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    const next = $("tab-queue").getAttribute("aria-selected") === "true" ? "reports" : "queue";
    showView(next);
    $(`tab-${next}`).focus();
  });
}

// ---- start-up ----

// The API on this page's origin, the WebSocket API on the next port (as `make run` serves them).
function defaults() {
  const origin = location.protocol.startsWith("http") ? location.origin : "http://127.0.0.1:3000";
  const url = new URL(origin);
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  return { api: origin, ws: `${url.protocol === "https:" ? "wss" : "ws"}://${url.hostname}:${port + 1}` };
}

function start() {
  let saved = {};
  try {
    saved = JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? "{}") ?? {};
  } catch {
    // Nothing saved.
  }
  const given = new URLSearchParams(location.hash.slice(1));
  const fallback = defaults();
  for (const name of ["api", "ws", "store"]) {
    $(name).value = given.get(name) || saved[name] || fallback[name] || "";
  }
  const token = given.get("token");
  // Leave no token in the address bar or the history.
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  $("sign-in").addEventListener("submit", (event) => {
    event.preventDefault();
    connect();
  });
  $("disconnect").addEventListener("click", () => stop());
  setInterval(() => state.rows.forEach(updateDue), 1000);
  startReports();
  render();
  if (token) {
    $("token").value = token;
    if ($("sign-in").checkValidity()) connect();
  }
}

start();
