/**
 * A client of the Store Services API over every route, typed from the live OpenAPI document:
 * scripts/test prints the document (`cargo run -p local-gateway --bin openapi`), generates
 * `./generated/api.d.ts` from it with openapi-typescript, and type-checks this file with
 * `tsc --strict`. Nothing here runs: the check is that a client written the way client
 * developers write one still compiles against the document, with no cast and no escape hatch,
 * and that its error handling can switch on the codes the document lists.
 */
import createClient from "openapi-fetch";
import type { components, operations, paths } from "./generated/api";

type Schemas = components["schemas"];
// JSON: what every route answers by default (list-requests also answers text/csv, below).
type Client = ReturnType<typeof createClient<paths, "application/json">>;

/** The JSON body of response `status` of operation `op`. */
type Body<
  Op extends keyof operations,
  Status extends keyof operations[Op]["responses"],
> = operations[Op]["responses"][Status] extends { content: { "application/json": infer B } } ? B : never;

/** The `error.code`s the functions answer `status` of `op` with. */
type Code<Op extends keyof operations, Status extends keyof operations[Op]["responses"]> = Extract<
  Body<Op, Status>,
  { error: { code: string } }
>["error"]["code"];

/** Any error body: the functions' own, or API Gateway's `{"message"}`. */
type AnyError = { error: { code: string; message: string; requestId?: string } } | Schemas["GatewayError"];

/** What a client shows for a failed call, whoever answered it. */
function describe(error: AnyError): string {
  return "error" in error ? `${error.error.code}: ${error.error.message}` : `API Gateway: ${error.message}`;
}

/** A response header the document declares (so a renamed header fails here). */
function header<Name extends keyof components["headers"]>(response: Response, name: Name): string | null {
  return response.headers.get(name);
}

function unreachable(value: never): never {
  throw new Error(`not in the document: ${String(value)}`);
}

/** Whether an answer's error code is one of its 409s (a type guard: no cast). */
function isAnswerConflict(code: Code<"respond-to-request", keyof operations["respond-to-request"]["responses"]>): code is Code<"respond-to-request", 409> {
  switch (code) {
    case "concurrent_modification":
    case "request_not_pending":
    case "request_timed_out":
      return true;
    default:
      return false;
  }
}

/** Whether an answer refused with 409 is worth retrying: every code the document lists. */
export function answerRetryable(code: Code<"respond-to-request", 409>): boolean {
  switch (code) {
    case "concurrent_modification":
      return true;
    case "request_not_pending":
    case "request_timed_out":
      return false;
    default:
      return unreachable(code);
  }
}

/** A 413 is the functions' (`payload_too_large`) or API Gateway's: both shapes are typed. */
export function tooLarge(body: Body<"create-request", 413>): string {
  return "error" in body ? `over ${body.error.code}` : body.message;
}

/** A 503 is the functions' or (containers) the server's, both with `Retry-After`; a 429 is
 * API Gateway's throttling or the server's rate limit. */
export function retryAfterSeconds(response: Response, body: Body<"get-request", 503> | Body<"get-request", 429>): number {
  if ("error" in body) {
    const code: Code<"get-request", 503> = body.error.code;
    return code === "service_unavailable" ? Number(header(response, "Retry-After") ?? "1") : 1;
  }
  return 1;
}

/** A code every operation answers alike has one type: a function's 503 is the same shape
 * everywhere; the server's own 503 (at its concurrency limit) is the gateway's shape. */
export function unavailable(body: Schemas["ServiceUnavailableError"] | Body<"list-items", 503>): string {
  if (!("error" in body)) {
    return body.message;
  }
  return body.error.code === "service_unavailable" ? body.error.message : unreachable(body.error.code);
}

export function client(baseUrl: string, token: string): Client {
  return createClient<paths, "application/json">({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
}

/** A till raises a request; a supervisor edits, answers, and reads the history and the trail. */
export async function supervisorRequests(till: Client, supervisor: Client, storeId: string): Promise<string[]> {
  const seen: string[] = [];
  const created = await till.POST("/stores/{storeId}/supervisor-requests", {
    params: { path: { storeId }, header: { "Idempotency-Key": "till-4-2026-12-02-0001" } },
    body: { requestType: "PRICE_OVERRIDE", priority: "HIGH", details: "Shelf tag 2.49, till 2.99", timeoutSeconds: 900 },
  });
  if (created.error) {
    return [describe(created.error)];
  }
  const request: Schemas["SupervisorRequest"] = created.data;
  const requestId = request.requestId;
  seen.push(header(created.response, "Location") ?? "", header(created.response, "Idempotent-Replayed") ?? "first");

  const queue = await supervisor.GET("/stores/{storeId}/supervisor-requests", {
    params: { path: { storeId }, query: { status: "PENDING", priority: "HIGH", requestedBy: "me", limit: 25 } },
  });
  let cursor: Schemas["Cursor"] | null = queue.data ? queue.data.nextCursor : null;
  while (cursor !== null) {
    const page = await supervisor.GET("/stores/{storeId}/supervisor-requests", {
      params: { path: { storeId }, query: { status: "PENDING", cursor } },
    });
    if (page.error) {
      seen.push(describe(page.error));
      break;
    }
    seen.push(...page.data.items.map((item) => item.requestId));
    cursor = page.data.nextCursor;
  }

  const read = await supervisor.GET("/stores/{storeId}/supervisor-requests/{requestId}", {
    params: { path: { storeId, requestId } },
  });
  const etag = header(read.response, "ETag") ?? `"${request.version}"`;
  const edited = await supervisor.PATCH("/stores/{storeId}/supervisor-requests/{requestId}", {
    params: { path: { storeId, requestId }, header: { "If-Match": etag } },
    body: { priority: "URGENT" },
  });
  if (edited.error) {
    seen.push(describe(edited.error));
  }

  const answered = await supervisor.POST("/stores/{storeId}/supervisor-requests/{requestId}/response", {
    params: { path: { storeId, requestId } },
    body: { decision: "APPROVED", note: "Tag price honoured" },
  });
  if (answered.data) {
    const answer: Schemas["Answer"] | undefined = answered.data.response;
    seen.push(answer ? `${answer.decision} by ${answer.respondedBy}` : "unanswered");
  } else if ("error" in answered.error && isAnswerConflict(answered.error.error.code)) {
    seen.push(answerRetryable(answered.error.error.code) ? "retry" : "closed");
  } else {
    seen.push(describe(answered.error));
  }

  const history = await supervisor.GET("/stores/{storeId}/supervisor-requests", {
    params: { path: { storeId }, query: { status: "NOT_PENDING", order: "newest", decision: "APPROVED" } },
  });
  const closed: Schemas["RequestStatus"][] = history.data ? history.data.items.map((item) => item.status) : [];
  seen.push(...closed);
  const ranged = await supervisor.GET("/stores/{storeId}/supervisor-requests", {
    params: { path: { storeId }, query: { since: "2026-11-23T09:30:00Z", until: "2026-11-24T00:00:00Z" } },
  });
  seen.push(String(ranged.data?.items.length ?? 0));

  const trail = await supervisor.GET("/stores/{storeId}/supervisor-requests/{requestId}/events", {
    params: { path: { storeId, requestId }, query: { limit: 10 } },
  });
  for (const event of trail.data?.items ?? []) {
    const changes: Schemas["FieldChange"][] = event.changes;
    seen.push(`${event.type} v${event.version}`, ...changes.map((c) => `${c.field}: ${c.from ?? "-"} -> ${c.to ?? "-"}`));
  }
  const report = await supervisor.GET("/stores/{storeId}/reports/supervisor-requests", {
    params: { path: { storeId }, query: { from: "2026-11-01", to: "2026-11-30", tz: "America/Denver", groupBy: "hour" } },
  });
  if (report.data) {
    const totals: Schemas["ReportTally"] = report.data.totals;
    seen.push(String(totals.created), String(totals.timeToAnswerMs.p90 ?? "-"), String(totals.byPriority.URGENT.approved));
    seen.push(...report.data.buckets.map((bucket) => `${bucket.start}: ${bucket.timedOut}`));
    seen.push(...report.data.supervisors.map((row) => `${row.subject}: ${row.medianTimeToAnswerMs ?? "-"}`));
    const monday: number[] = report.data.busyHours.created[0] ?? [];
    seen.push(String(monday[9] ?? 0));
  }
  const storeTrail = await supervisor.GET("/stores/{storeId}/supervisor-request-events", {
    params: { path: { storeId }, query: { limit: 10 } },
  });
  seen.push(String(storeTrail.data?.items.length ?? 0));

  const another = await till.POST("/stores/{storeId}/supervisor-requests", {
    params: { path: { storeId } },
    body: { requestType: "VOID", details: "Line 2 scanned twice" },
  });
  if (another.data) {
    const withdrawn = await till.DELETE("/stores/{storeId}/supervisor-requests/{requestId}", {
      params: { path: { storeId, requestId: another.data.requestId }, header: { "If-Match": "*" } },
    });
    seen.push(withdrawn.error ? describe(withdrawn.error) : String(withdrawn.response.status));
  }
  return seen;
}

/** An admin keeps the catalogue: master items, their items, the weights, a pin. */
export async function preferredItems(admin: Client, storeId: string): Promise<string[]> {
  const seen: string[] = [];
  const master = await admin.POST("/stores/{storeId}/master-items", {
    params: { path: { storeId }, header: { "Idempotency-Key": "catalog-0001" } },
    body: { name: "Whole milk 1 l", description: "Semi-skimmed, 1 litre", currency: "USD" },
  });
  if (master.error) {
    return [describe(master.error)];
  }
  const masterItemId = master.data.masterItemId;
  const masters = await admin.GET("/stores/{storeId}/master-items", { params: { path: { storeId }, query: { limit: 50 } } });
  seen.push(...(masters.data?.items.map((m) => m.name) ?? []));
  const read = await admin.GET("/stores/{storeId}/master-items/{masterItemId}", {
    params: { path: { storeId, masterItemId } },
  });
  const pin: Schemas["Pin"] | null = read.data ? read.data.pin : null;
  seen.push(pin ? pin.itemId : "no pin");
  const renamed = await admin.PATCH("/stores/{storeId}/master-items/{masterItemId}", {
    params: { path: { storeId, masterItemId }, header: { "If-Match": header(read.response, "ETag") ?? "*" } },
    body: { name: "Whole milk, 1 l" },
  });
  seen.push(renamed.data ? renamed.data.name : describe(renamed.error));

  const prices: Schemas["Money"][] = [
    { amount: 129, currency: "USD" },
    { amount: 145, currency: "USD" },
  ];
  const itemIds: string[] = [];
  for (const price of prices) {
    const item = await admin.POST("/stores/{storeId}/master-items/{masterItemId}/items", {
      params: { path: { storeId, masterItemId } },
      body: { vendor: "Valley Dairy", price, status: "ACTIVE" },
    });
    if (item.data) {
      itemIds.push(item.data.itemId);
    } else {
      seen.push(describe(item.error));
    }
  }
  const items = await admin.GET("/stores/{storeId}/master-items/{masterItemId}/items", {
    params: { path: { storeId, masterItemId }, query: { status: "ACTIVE", limit: 10 } },
  });
  seen.push(...(items.data?.items.map((item) => `${item.vendor} ${item.price.amount}`) ?? []));

  const [first, second] = itemIds;
  if (first !== undefined && second !== undefined) {
    const item = await admin.GET("/stores/{storeId}/items/{itemId}", { params: { path: { storeId, itemId: first } } });
    const status: Schemas["ItemStatus"] = item.data ? item.data.status : "ACTIVE";
    seen.push(status);
    const restocked = await admin.PATCH("/stores/{storeId}/items/{itemId}", {
      params: { path: { storeId, itemId: first }, header: { "If-Match": header(item.response, "ETag") ?? "*" } },
      body: { status: "OUT_OF_STOCK", price: { amount: 119, currency: "USD" } },
    });
    seen.push(restocked.data ? restocked.data.status : describe(restocked.error));

    const weights = await admin.GET("/stores/{storeId}/scoring-weights", { params: { path: { storeId } } });
    const replaced = await admin.PUT("/stores/{storeId}/scoring-weights", {
      params: { path: { storeId }, header: { "If-Match": header(weights.response, "ETag") ?? "*" } },
      body: { priceWeight: 60, statusWeight: 40, activeScore: 100, outOfStockScore: 25 },
    });
    seen.push(String(replaced.data?.priceWeight ?? 0));

    const pinned = await admin.PUT("/stores/{storeId}/master-items/{masterItemId}/preferred-item/pin", {
      params: { path: { storeId, masterItemId } },
      body: { itemId: second },
    });
    if (pinned.error) {
      const code: string = "error" in pinned.error ? pinned.error.error.code : pinned.error.message;
      seen.push(code);
    }
    const preferred = await admin.GET("/stores/{storeId}/master-items/{masterItemId}/preferred-item", {
      params: { path: { storeId, masterItemId } },
    });
    if (preferred.data) {
      const state: Schemas["PinState"] | null = preferred.data.pin;
      seen.push(preferred.data.selection, preferred.data.preferred.itemId, state ? String(state.honoured) : "no pin");
      seen.push(...preferred.data.candidates.map((c) => `${c.rank}. ${c.itemId} ${c.score}`));
    } else if (preferred.response.status === 409) {
      seen.push("no eligible candidate");
    }
    const unpinned = await admin.DELETE("/stores/{storeId}/master-items/{masterItemId}/preferred-item/pin", {
      params: { path: { storeId, masterItemId } },
    });
    seen.push(String(unpinned.response.status));

    for (const itemId of itemIds) {
      const deleted = await admin.DELETE("/stores/{storeId}/items/{itemId}", { params: { path: { storeId, itemId } } });
      seen.push(deleted.error ? describe(deleted.error) : "deleted");
    }
  }
  const gone = await admin.DELETE("/stores/{storeId}/master-items/{masterItemId}", {
    params: { path: { storeId, masterItemId } },
  });
  if (gone.error && "error" in gone.error) {
    const hasItems: boolean = gone.error.error.code === "master_item_has_items";
    seen.push(hasItems ? "delete its items first" : describe(gone.error));
  }
  return seen;
}

/** History as a spreadsheet: the same list with `Accept: text/csv`, the next page in `Link`. */
export async function historyCsv(baseUrl: string, token: string, storeId: string): Promise<string[]> {
  const csv = createClient<paths, "text/csv">({
    baseUrl,
    headers: { Authorization: `Bearer ${token}`, Accept: "text/csv" },
  });
  const pages: string[] = [];
  const first = await csv.GET("/stores/{storeId}/supervisor-requests", {
    params: { path: { storeId }, query: { status: "NOT_PENDING", limit: 100 } },
    parseAs: "text",
  });
  const text: string = first.data ?? "";
  pages.push(text, first.response.headers.get("Link") ?? "last page");
  return pages;
}
