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
};

class ConsoleError extends Error {
  constructor(message, fatal = false) {
    super(message);
    this.fatal = fatal; // the token or store is refused: retrying will not help
  }
}

// ---- the API ----

async function callApi(path, options = {}) {
  const { api, token } = state.session;
  const headers = { Authorization: `Bearer ${token}` };
  if (options.body) headers["Content-Type"] = "application/json";
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
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: the status says enough.
  }
  if (!response.ok) {
    // The handlers answer {"error":{"code","message"}}; the gateway itself {"message"}.
    const message = body?.error
      ? `${body.error.message} (${body.error.code})`
      : `${body?.message ?? "Refused"} (HTTP ${response.status})`;
    throw new ConsoleError(message, response.status === 401 || response.status === 403);
  }
  return body;
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
  render();
  if (token) {
    $("token").value = token;
    if ($("sign-in").checkValidity()) connect();
  }
}

start();
