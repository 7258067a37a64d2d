#!/usr/bin/env python3
"""Bounded load + consistency run against the local gateway and DynamoDB Local.

Starts its own DynamoDB Local (data in a fresh temp dir) and its own `local-gateway`, runs N
concurrent clients for at most T seconds and at most M requests against a few stores, mixing

- create  POST /stores/{s}/supervisor-requests with an Idempotency-Key unique per logical
          create; a transport error or 5xx is retried with the SAME key and body (up to 3
          retries); now and then the same key is deliberately replayed after a 201, or sent
          by two threads at once (both must get the same request back);
- list    GET  /stores/{s}/supervisor-requests?limit=25 (PENDING or NOT_PENDING), sometimes
          following nextCursor;
- respond POST .../{id}/response {"decision":"APPROVED"} as a supervisor, on a small "hot"
          set of fresh requests that several clients pick at once, plus race bursts where 4
          supervisors answer the same new request behind a barrier;
- patch   PATCH .../{id} with If-Match from a GET just before, {"priority": ...};

then checks, as an admin, from the store through the API (every request listed under
PENDING and NOT_PENDING, following cursors, and a GET of every acknowledged id):

1. every acknowledged create exists exactly once (no id twice across the two lists, no
   logical create — one Idempotency-Key — stored twice, no replay returning another id);
2. every request sits under the one status matching its statusCode, and the listed entry
   equals the record read by id (queue entry and record written together);
3. each list is in queue order (priority, then creation time);
4. no request was answered 200 twice; a request answered 200 is RESPONSE_RECEIVED with that
   responder as response.respondedBy; every race burst has exactly one 200 (the rest 409);
5. no lost update: the stored request equals the body of the last acknowledged write to it
   (create, patch or answer: the one with the highest version), and its version is 1 + the
   acknowledged patches + the acknowledged answer;
6. no 5xx, no transport error, and no status outside what each operation may answer.

Prints a summary; --json PATH writes the figures. Exit status 1 if any check fails, 2 if the
run could not start. Traffic goes to 127.0.0.1 only; it stops by itself.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import harness  # noqa: E402  (scripts/harness.py: common puts scripts/ on the path)
from common import Http, Reply  # noqa: E402
from harness import log  # noqa: E402

PRIORITIES = ["URGENT", "HIGH", "NORMAL", "LOW"]
RANK = {p: i for i, p in enumerate(PRIORITIES)}
STATUS_OF_CODE = {
    "PENDING_RESPONSE": "PENDING",
    "RESPONSE_RECEIVED": "NOT_PENDING",
    "TIMEOUT": "NOT_PENDING",
}
# What each operation may answer in this run; anything else is reported as unexpected.
EXPECTED = {
    "create": {201},
    "list": {200},
    "get": {200},
    "respond": {200, 409},
    "patch": {200, 409, 412},
}
CREATE_RETRIES = 3
RACERS = 4


class Budget:
    """At most `limit` requests, and nothing after `deadline`."""

    def __init__(self, limit: int, deadline: float):
        self.limit = limit
        self.deadline = deadline
        self.used = 0
        self.lock = threading.Lock()

    def take(self, n: int = 1, stop: threading.Event | None = None) -> bool:
        if (stop and stop.is_set()) or time.monotonic() >= self.deadline:
            return False
        with self.lock:
            if self.used + n > self.limit:
                return False
            self.used += n
            return True

    def take_retry(self) -> bool:
        """A retry finishing a logical create may go past the deadline, never past the limit."""
        with self.lock:
            if self.used >= self.limit:
                return False
            self.used += 1
            return True


class Record:
    """Everything the clients saw, behind one lock."""

    def __init__(self, stores: list[str]):
        self.lock = threading.Lock()
        self.sent = collections.Counter()  # kind -> requests
        self.statuses = collections.Counter()  # (kind, status) -> count
        self.latency = collections.defaultdict(list)  # kind -> seconds
        self.transport_errors = collections.Counter()
        self.error_codes = collections.Counter()  # "kind status code" -> count
        self.samples = []  # unexpected answers, for the report (first 30)
        self.five_xx = 0
        self.unexpected = 0
        # creates
        self.acked = {}  # requestId -> {"store", "key", "body"}
        self.key_to_id = {}  # Idempotency-Key -> requestId
        self.in_doubt_keys = set()
        self.replay_mismatches = []
        self.creates_retried = 0
        self.replays = collections.Counter()  # "sequential"/"concurrent" -> count
        # writes per id
        self.last_write = {}  # requestId -> body with the highest version acknowledged
        self.patches_ok = collections.Counter()
        self.answers = collections.defaultdict(list)  # requestId -> [responder sub] (200s)
        self.in_doubt_writes = collections.Counter()
        self.respond_windows = collections.defaultdict(list)  # requestId -> [(t0, t1)]
        self.race_bursts = 0
        self.race_burst_failures = []  # bursts without exactly one 200
        self.race_burst_winners = collections.Counter()  # winners per burst -> bursts
        # ids per store, for respond / patch targets
        self.recent = {s: collections.deque(maxlen=200) for s in stores}
        self.hot = {s: [] for s in stores}  # [requestId, tries]
        self.creator = {}  # requestId -> thread index

    def observe(self, kind: str, method: str, path: str, reply: Reply) -> None:
        with self.lock:
            self.sent[kind] += 1
            self.latency[kind].append(reply.seconds)
            if reply.status is None:
                self.transport_errors[kind] += 1
                self.statuses[(kind, "transport-error")] += 1
                self._sample(kind, method, path, reply)
                return
            self.statuses[(kind, reply.status)] += 1
            if reply.status >= 400:
                code = ((reply.json() or {}).get("error") or {}).get("code") if reply.body.startswith(b"{") else None
                self.error_codes[f"{kind} {reply.status} {code}"] += 1
            if reply.status >= 500:
                self.five_xx += 1
            if reply.status not in EXPECTED[kind]:
                self.unexpected += 1
                self._sample(kind, method, path, reply)

    def _sample(self, kind, method, path, reply):
        if len(self.samples) < 30:
            self.samples.append(
                {
                    "kind": kind,
                    "request": f"{method} {path}",
                    "status": reply.status,
                    "error": reply.error,
                    "headers": {k: v for k, v in reply.headers.items() if k != "date"},
                    "body": reply.body[:400].decode(errors="replace"),
                    "at": time.strftime("%H:%M:%S"),
                }
            )

    def write_acked(self, body: dict) -> None:
        """A 200/201 body of a write: keep the highest version seen per id."""
        rid = body["requestId"]
        with self.lock:
            current = self.last_write.get(rid)
            if current is None or body["version"] > current["version"]:
                self.last_write[rid] = body


class Client(threading.Thread):
    def __init__(self, index, run, tokens, rng_seed):
        super().__init__(name=f"client-{index}", daemon=True)
        self.index = index
        self.run_ = run
        self.tokens = tokens
        self.rng = random.Random(rng_seed)
        self.http = Http(run.port)
        self.seq = 0
        self.error = None

    # -- operations --

    def call(self, kind, method, path, body=None, headers=None, token=None, http=None):
        reply = (http or self.http).request(method, path, body=body, headers=headers, token=token)
        self.run_.record.observe(kind, method, path, reply)
        return reply

    def new_create(self, store):
        self.seq += 1
        key = f"{self.run_.run_id}-c{self.index}-{self.seq}"
        body = {
            "requestType": "REFUND",
            "priority": self.rng.choice(PRIORITIES),
            # The key in the details ties every stored request to its logical create.
            "details": f"load {key}: refund of receipt {self.rng.randrange(10**6)}",
        }
        return key, json.dumps(body, separators=(",", ":")).encode()

    def create(self, store, key=None, payload=None, http=None, publish=True, token=None):
        """One logical create, retried with the same key on a transport error or 5xx.
        Returns the 201 body or None."""
        if key is None:
            key, payload = self.new_create(store)
        path = f"/stores/{store}/supervisor-requests"
        record = self.run_.record
        for attempt in range(1 + CREATE_RETRIES):
            if attempt:
                if not self.run_.budget.take_retry():
                    break
                with record.lock:
                    record.creates_retried += 1
                time.sleep(0.05 * attempt)
            reply = self.call(
                "create", "POST", path, payload, {"Idempotency-Key": key},
                token=token or self.tokens["associate"], http=http,
            )
            if reply.status is not None and reply.status < 500:
                break
        if reply.status is None or reply.status >= 500:
            with record.lock:
                record.in_doubt_keys.add(key)
            return None
        if reply.status != 201:
            return None
        created = reply.json()
        rid = created["requestId"]
        with record.lock:
            first = record.key_to_id.setdefault(key, rid)
            if first != rid:
                record.replay_mismatches.append({"key": key, "first": first, "again": rid})
            if rid not in record.acked:
                record.acked[rid] = {"store": store, "key": key, "body": created}
                record.creator[rid] = self.index
                if publish:  # a target for other clients' responds and patches
                    record.recent[store].append(rid)
        record.write_acked(created)
        return created

    def replay(self, store):
        """A create, then the same key and body again: the same request must come back."""
        key, payload = self.new_create(store)
        first = self.create(store, key, payload)
        if first and self.run_.budget.take(1, self.run_.stop):
            again = self.create(store, key, payload)
            with self.run_.record.lock:
                self.run_.record.replays["sequential"] += 1
            if again and again != first:
                with self.run_.record.lock:
                    self.run_.record.replay_mismatches.append(
                        {"key": key, "first": first, "again": again, "kind": "body differs"}
                    )

    def concurrent_create(self, store):
        """Two connections send the same key and body at the same moment."""
        if not self.run_.budget.take(1, self.run_.stop):
            return
        key, payload = self.new_create(store)
        barrier = threading.Barrier(2, timeout=10)
        results = [None, None]

        def send(slot):
            http = Http(self.run_.port)
            try:
                barrier.wait()
                results[slot] = self.create(store, key, payload, http=http)
            except threading.BrokenBarrierError:
                pass
            finally:
                http.close()

        helper = threading.Thread(target=send, args=(1,), daemon=True)
        helper.start()
        send(0)
        helper.join(timeout=60)
        with self.run_.record.lock:
            self.run_.record.replays["concurrent"] += 1

    def list_(self, store):
        status = self.rng.choice(["PENDING", "PENDING", "NOT_PENDING"])
        token = self.rng.choice([self.tokens["associate"], self.tokens["supervisor"]])
        path = f"/stores/{store}/supervisor-requests?limit=25&status={status}"
        reply = self.call("list", "GET", path, token=token)
        pages = 1
        # Sometimes follow the cursor, a few pages at most.
        while (
            reply.status == 200
            and pages < 4
            and self.rng.random() < 0.5
            and (cursor := (reply.json() or {}).get("nextCursor"))
            and self.run_.budget.take(1, self.run_.stop)
        ):
            reply = self.call("list", "GET", f"{path}&cursor={cursor}", token=token)
            pages += 1

    def pick_hot(self, store):
        """A fresh request several clients answer at about the same time."""
        record = self.run_.record
        with record.lock:
            hot = record.hot[store]
            while len(hot) < 3 and record.recent[store]:
                candidate = record.recent[store][-1]
                if any(entry[0] == candidate for entry in hot):
                    break
                hot.append([candidate, 0])
            if not hot:
                return None
            entry = self.rng.choice(hot)
            entry[1] += 1
            if entry[1] >= 3:
                hot.remove(entry)
            return entry[0]

    def respond(self, store, rid, sub_token, http=None):
        path = f"/stores/{store}/supervisor-requests/{rid}/response"
        t0 = time.monotonic()
        reply = self.call("respond", "POST", path, {"decision": "APPROVED"}, token=sub_token[1], http=http)
        t1 = time.monotonic()
        record = self.run_.record
        with record.lock:
            record.respond_windows[rid].append((t0, t1))
            if reply.status == 200:
                record.answers[rid].append(sub_token[0])
            elif reply.status is None or reply.status >= 500:
                record.in_doubt_writes[rid] += 1
        if reply.status == 200:
            record.write_acked(reply.json())
        return reply.status

    def race_burst(self, store):
        """A new request, then RACERS supervisors answer it at once behind a barrier."""
        # Not published until the race is over: only the racers answer it.
        created = self.create(store, publish=False)
        if not created:
            return
        rid = created["requestId"]
        if not self.run_.budget.take(RACERS, self.run_.stop):
            with self.run_.record.lock:
                self.run_.record.recent[store].append(rid)
            return
        barrier = threading.Barrier(RACERS, timeout=10)
        statuses = [None] * RACERS
        racers = self.run_.racer_tokens

        def race(slot):
            http = Http(self.run_.port)
            try:
                barrier.wait()
                statuses[slot] = self.respond(store, rid, racers[slot], http=http)
            except threading.BrokenBarrierError:
                pass
            finally:
                http.close()

        threads = [threading.Thread(target=race, args=(i,), daemon=True) for i in range(1, RACERS)]
        for t in threads:
            t.start()
        race(0)
        for t in threads:
            t.join(timeout=60)
        with self.run_.record.lock:
            record = self.run_.record
            record.race_bursts += 1
            record.race_burst_winners[statuses.count(200)] += 1
            if statuses.count(200) != 1 and all(s is not None and s < 500 for s in statuses):
                record.race_burst_failures.append({"requestId": rid, "store": store, "statuses": statuses})
            record.recent[store].append(rid)

    def patch(self, store):
        record = self.run_.record
        with record.lock:
            recent = list(record.recent[store])
        if not recent:
            return
        rid = self.rng.choice(recent[-50:])
        own = record.creator.get(rid) == self.index
        token = self.tokens["associate"] if own and self.rng.random() < 0.5 else self.tokens["supervisor"]
        path = f"/stores/{store}/supervisor-requests/{rid}"
        got = self.call("get", "GET", path, token=token)
        if got.status != 200 or not self.run_.budget.take(1, self.run_.stop):
            return
        etag = got.headers.get("etag")
        reply = self.call(
            "patch", "PATCH", path, {"priority": self.rng.choice(PRIORITIES)},
            {"If-Match": etag}, token=token,
        )
        with record.lock:
            if reply.status == 200:
                record.patches_ok[rid] += 1
            elif reply.status is None or reply.status >= 500:
                record.in_doubt_writes[rid] += 1
        if reply.status == 200:
            record.write_acked(reply.json())

    # -- the loop --

    def run(self):
        run = self.run_
        try:
            while run.budget.take(1, run.stop):
                store = self.rng.choice(run.stores)
                roll = self.rng.random()
                if roll < 0.30:
                    sub = self.rng.random()
                    if sub < 0.04:
                        self.replay(store)
                    elif sub < 0.08:
                        self.concurrent_create(store)
                    else:
                        self.create(store)
                elif roll < 0.55:
                    self.list_(store)
                elif roll < 0.80:
                    if self.rng.random() < 0.15:
                        self.race_burst(store)
                    else:
                        rid = self.pick_hot(store)
                        if rid:
                            self.respond(store, rid, ("sup-%d" % self.index, self.tokens["supervisor"]))
                else:
                    self.patch(store)
        except Exception as error:  # a bug in this script: report it, do not hide it
            self.error = f"{type(error).__name__}: {error}"
            run.stop.set()
        finally:
            self.http.close()


class Run:
    def __init__(self, args, stack):
        self.args = args
        self.stack = stack
        self.port = stack.gateway.port
        self.run_id = "r%06x" % random.randrange(16**6)
        self.stores = [f"store-{chr(ord('a') + i)}" for i in range(args.stores)]
        self.record = Record(self.stores)
        self.stop = threading.Event()
        self.budget = None
        self.racer_tokens = []


def mint_tokens(stack, args, stores):
    tokens = []
    for i in range(args.clients):
        tokens.append(
            {
                "associate": stack.token("associate", stores, f"assoc-{i}"),
                "supervisor": stack.token("supervisor", stores, f"sup-{i}"),
            }
        )
    racers = [(f"racer-{i}", stack.token("supervisor", stores, f"racer-{i}")) for i in range(RACERS)]
    admin = stack.token("admin", stores, "auditor")
    return tokens, racers, admin


# --- the checks ------------------------------------------------------------------------------


def list_all(http, store, status, max_pages):
    """Every request of one status, following cursors; (items, pages, problems)."""
    items, problems = [], []
    path = f"/stores/{store}/supervisor-requests?status={status}&limit=100"
    cursor = None
    for page in range(max_pages):
        reply = http.request("GET", path + (f"&cursor={cursor}" if cursor else ""))
        if reply.status != 200:
            problems.append(f"list {store} {status} page {page + 1}: {reply.status} {reply.error or reply.body[:200]!r}")
            return items, page + 1, problems
        body = reply.json()
        items.extend(body["items"])
        cursor = body.get("nextCursor")
        if not cursor:
            return items, page + 1, problems
    problems.append(f"list {store} {status}: more than {max_pages} pages, stopped")
    return items, max_pages, problems


def millis(rfc3339: str) -> int:
    # RFC 3339 as the API writes it (fraction trimmed: "…:50.4Z"); strings do not sort.
    return round(datetime.fromisoformat(rfc3339).timestamp() * 1000)


def queue_order(item):
    return (RANK[item["priority"]], millis(item["createdAt"]), item["requestId"])


def verify(run, admin_token, args):
    record = run.record
    failures = collections.defaultdict(list)  # check -> [detail]
    http = Http(run.port, admin_token, timeout=30)
    listed = {}  # requestId -> (status listed under, item)
    seen_twice = []
    per_store_counts = {}
    deadline = time.monotonic() + args.verify_timeout
    for store in run.stores:
        counts = {}
        for status in ("PENDING", "NOT_PENDING"):
            items, pages, problems = list_all(http, store, status, max_pages=1000)
            failures["list_readable"].extend(problems)
            counts[status] = len(items)
            for item in items:
                rid = item["requestId"]
                if rid in listed:
                    seen_twice.append({"requestId": rid, "first": listed[rid][0], "again": status})
                listed[rid] = (status, item)
                if item.get("storeId") != store:
                    failures["store_isolation"].append(f"{rid} listed in {store} but storeId={item.get('storeId')}")
                if item.get("status") != status or STATUS_OF_CODE.get(item.get("statusCode")) != status:
                    failures["status_matches_code"].append(
                        f"{store}/{rid} listed under {status} with status={item.get('status')} statusCode={item.get('statusCode')}"
                    )
            order = [queue_order(i) for i in items]
            if order != sorted(order):
                bad = next(k for k in range(1, len(order)) if order[k] < order[k - 1])
                failures["queue_order"].append(f"{store} {status}: item {bad} sorts before item {bad - 1}: {order[bad]} < {order[bad - 1]}")
        per_store_counts[store] = counts
    http.close()
    for dup in seen_twice:
        failures["exactly_once_listed"].append(f"{dup['requestId']} listed twice (under {dup['first']} and {dup['again']})")

    # One logical create (one key, written into the details) must be one stored request.
    by_key = collections.defaultdict(list)
    for rid, (_, item) in listed.items():
        details = item.get("details", "")
        if details.startswith("load "):
            by_key[details.split(":", 1)[0][5:]].append(rid)
    for key, rids in by_key.items():
        if len(rids) > 1:
            failures["no_duplicate_create"].append(f"Idempotency-Key {key} stored {len(rids)} times: {rids}")
    for mismatch in record.replay_mismatches:
        failures["replay_returns_first"].append(json.dumps(mismatch)[:400])

    # GET every acknowledged id (and every listed one), as the admin, a few at a time.
    ids = sorted(set(record.acked) | set(listed))
    stores_of = {rid: v["store"] for rid, v in record.acked.items()}
    for rid, (_, item) in listed.items():
        stores_of.setdefault(rid, item["storeId"])
    local = threading.local()

    def get(rid):
        if time.monotonic() > deadline:
            return rid, None
        if not hasattr(local, "http"):
            local.http = Http(run.port, admin_token, timeout=30)
        return rid, local.http.request("GET", f"/stores/{stores_of[rid]}/supervisor-requests/{rid}")

    records = {}
    with ThreadPoolExecutor(max_workers=args.verify_workers) as pool:
        for rid, reply in pool.map(get, ids):
            records[rid] = reply
    unverified = [rid for rid, reply in records.items() if reply is None]
    if unverified:
        failures["verify_finished"].append(f"{len(unverified)} ids not read within --verify-timeout")

    found = 0
    for rid, meta in record.acked.items():
        reply = records.get(rid)
        if reply is None:
            continue
        if reply.status != 200:
            failures["acknowledged_create_exists"].append(f"GET {meta['store']}/{rid} -> {reply.status} {reply.body[:200]!r}")
            continue
        if rid not in listed:
            failures["acknowledged_create_listed"].append(f"{meta['store']}/{rid} readable by id but in neither list")
        else:
            found += 1
    for rid, reply in records.items():
        if reply is None or reply.status != 200:
            if rid not in record.acked and reply is not None:
                failures["listed_is_readable"].append(f"{rid} listed, GET -> {reply.status}")
            continue
        stored = reply.json()
        if rid in listed and listed[rid][1] != stored:
            failures["list_entry_equals_record"].append(
                f"{rid}: list={json.dumps(listed[rid][1], sort_keys=True)[:300]} get={json.dumps(stored, sort_keys=True)[:300]}"
            )
        if reply.headers.get("etag") != f"\"{stored['version']}\"":
            failures["etag_is_version"].append(f"{rid}: ETag {reply.headers.get('etag')} for version {stored['version']}")
        if STATUS_OF_CODE.get(stored["statusCode"]) != stored["status"]:
            failures["status_matches_code"].append(f"{rid}: GET status={stored['status']} statusCode={stored['statusCode']}")
        answers = record.answers.get(rid, [])
        if len(answers) > 1:
            failures["single_answer"].append(f"{rid} answered 200 {len(answers)} times, by {answers}")
        if answers:
            if stored["statusCode"] != "RESPONSE_RECEIVED" or (stored.get("response") or {}).get("respondedBy") not in answers[:1]:
                failures["answer_is_stored"].append(
                    f"{rid}: 200 to {answers} but stored statusCode={stored['statusCode']} response={stored.get('response')}"
                )
        elif stored["statusCode"] == "RESPONSE_RECEIVED" and record.in_doubt_writes.get(rid, 0) == 0:
            failures["answer_is_stored"].append(
                f"{rid}: RESPONSE_RECEIVED by {(stored.get('response') or {}).get('respondedBy')} but no responder got 200"
            )
        if rid in record.acked:
            doubt = record.in_doubt_writes.get(rid, 0)
            writes = record.patches_ok.get(rid, 0) + len(answers)
            if not (writes <= stored["version"] - 1 <= writes + doubt):
                failures["no_lost_update"].append(
                    f"{rid}: version {stored['version']} after {writes} acknowledged writes (+{doubt} in doubt)"
                )
            last = record.last_write.get(rid)
            if doubt == 0 and last is not None and last != stored:
                failures["last_write_is_stored"].append(
                    f"{rid}: last acknowledged={json.dumps(last, sort_keys=True)[:300]} stored={json.dumps(stored, sort_keys=True)[:300]}"
                )

    # Requests nobody was told about: only a create whose outcome stayed unknown may leave one.
    unacked = [rid for rid in listed if rid not in record.acked]
    phantom = []
    for rid in unacked:
        details = listed[rid][1].get("details", "")
        key = details.split(":", 1)[0][5:] if details.startswith("load ") else None
        if key not in record.in_doubt_keys:
            phantom.append(rid)
    for rid in phantom:
        failures["no_phantom_request"].append(f"{rid} stored but never acknowledged, and its create was not in doubt")

    for burst in record.race_burst_failures:
        failures["race_has_one_winner"].append(json.dumps(burst))
    if record.five_xx:
        failures["no_5xx"].append(f"{record.five_xx} answers were 5xx")
    if sum(record.transport_errors.values()):
        failures["no_transport_error"].append(f"{dict(record.transport_errors)}")
    if record.unexpected:
        failures["expected_statuses"].append(f"{record.unexpected} answers outside {{{', '.join(f'{k}: {sorted(v)}' for k, v in EXPECTED.items())}}}")

    overlapping = 0
    contested = 0
    for rid, windows in record.respond_windows.items():
        if len(windows) > 1:
            contested += 1
            windows = sorted(windows)
            if any(windows[k][0] < windows[k - 1][1] for k in range(1, len(windows))):
                overlapping += 1
    return {
        "acknowledged_creates": len(record.acked),
        "found_by_id_and_listed": found,
        "listed_total": len(listed),
        "listed_per_store": per_store_counts,
        "listed_not_acknowledged": len(unacked),
        "in_doubt_creates": len(record.in_doubt_keys),
        "duplicates": len(seen_twice) + sum(1 for r in by_key.values() if len(r) > 1),
        "double_answers": sum(1 for a in record.answers.values() if len(a) > 1),
        "answered_200": len(record.answers),
        "ids_with_several_respond_attempts": contested,
        "ids_with_overlapping_respond_attempts": overlapping,
        "patched_ok": sum(record.patches_ok.values()),
        "failures": {check: details for check, details in failures.items() if details},
    }


# --- main ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16, help="concurrent client threads (default 16)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load at most (default 30)")
    parser.add_argument("--max-requests", type=int, default=20000, help="requests at most (default 20000)")
    parser.add_argument("--stores", type=int, default=3, help="stores to spread the load over (default 3)")
    parser.add_argument("--verify-workers", type=int, default=8, help="threads reading back ids (default 8)")
    parser.add_argument("--verify-timeout", type=float, default=300.0, help="seconds the checks may take at most")
    common.add_common_arguments(parser)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    random.seed(seed)
    figures = {"script": "load_consistency", "machine": common.machine(), "config": {**vars(args), "seed": seed}}
    failed = True
    with common.Stack(args.bin_dir, args.log_level, name="load-consistency") as stack:
        try:
            run = Run(args, stack)
            tokens, run.racer_tokens, admin = mint_tokens(stack, args, run.stores)
            log(f"{args.clients} clients, {args.duration:.0f} s or {args.max_requests} requests at most, stores {run.stores}, seed {seed}")
            started = time.monotonic()
            run.budget = Budget(args.max_requests, started + args.duration)
            clients = [Client(i, run, tokens[i], seed * 1000 + i) for i in range(args.clients)]
            for c in clients:
                c.start()
            # Join in short slices so Ctrl-C is handled promptly.
            hard_stop = started + args.duration + 120
            while any(c.is_alive() for c in clients) and time.monotonic() < hard_stop:
                for c in clients:
                    c.join(timeout=0.2)
            run.stop.set()
            elapsed = time.monotonic() - started
            stuck = [c.name for c in clients if c.is_alive()]
            script_errors = [f"{c.name}: {c.error}" for c in clients if c.error]
            log(f"load done in {elapsed:.1f} s; checking the store")
            gateway_alive = stack.gateway.alive()
            checks = verify(run, admin, args)
            if stuck:
                checks["failures"]["clients_stopped"] = stuck
            if script_errors:
                checks["failures"]["script_errors"] = script_errors
            if not gateway_alive:
                checks["failures"]["gateway_alive"] = ["local-gateway exited during the load:\n" + harness.tail(stack.tmp / "gateway.log")]
            figures.update(summarize(run, elapsed, checks))
            failed = bool(checks["failures"])
            print_summary(figures)
        finally:
            common.save_logs_on_failure(stack, args.keep_logs, failed)
    harness.write_json(args.json, figures)
    return 1 if failed else 0


def summarize(run, elapsed, checks):
    record = run.record
    total = sum(record.sent.values())
    histogram = collections.defaultdict(dict)
    for (kind, status), count in sorted(record.statuses.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        histogram[kind][str(status)] = count
    overall = collections.Counter()
    for (kind, status), count in record.statuses.items():
        overall[str(status)] += count
    return {
        "elapsed_seconds": round(elapsed, 2),
        "requests_total": total,
        "throughput_rps": round(total / elapsed, 1) if elapsed else None,
        "requests_by_kind": dict(record.sent),
        "status_histogram": dict(sorted(overall.items())),
        "status_by_kind": histogram,
        "latency_by_kind": {kind: common.latency_summary(v) for kind, v in sorted(record.latency.items())},
        "error_codes": dict(sorted(record.error_codes.items())),
        "five_xx": record.five_xx,
        "transport_errors": sum(record.transport_errors.values()),
        "unexpected_statuses": record.unexpected,
        "unexpected_samples": record.samples,
        "creates_retried_same_key": record.creates_retried,
        "deliberate_replays": dict(record.replays),
        "race_bursts": record.race_bursts,
        "race_burst_winner_counts": {str(k): v for k, v in sorted(record.race_burst_winners.items())},
        "checks": checks,
    }


def print_summary(f):
    c = f["checks"]
    out = sys.stdout
    print("\n=== load + consistency ===", file=out)
    m = f["machine"]
    print(f"machine: nproc={m['nproc']} RAM={m['ram_gib']} GiB, {m['date']}", file=out)
    cfg = f["config"]
    print(f"config: {cfg['clients']} clients, {cfg['duration']} s / {cfg['max_requests']} requests max, {cfg['stores']} stores, seed {cfg['seed']}", file=out)
    print(f"sent {f['requests_total']} requests in {f['elapsed_seconds']} s = {f['throughput_rps']} req/s", file=out)
    print("by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(f["requests_by_kind"].items())), file=out)
    print("status histogram: " + ", ".join(f"{k}: {v}" for k, v in f["status_histogram"].items()), file=out)
    for kind, statuses in f["status_by_kind"].items():
        print(f"  {kind:8} " + ", ".join(f"{k}: {v}" for k, v in statuses.items()), file=out)
    print("error codes: " + ", ".join(f"{k}: {v}" for k, v in f["error_codes"].items()), file=out)
    print("latency (ms):      count     p50     p95     p99     max", file=out)
    for kind, l in f["latency_by_kind"].items():
        print(f"  {kind:8} {l['count']:>12} {l['p50_ms']:>7} {l['p95_ms']:>7} {l['p99_ms']:>7} {l['max_ms']:>7}", file=out)
    print(f"creates acknowledged {c['acknowledged_creates']}, found (by id and listed) {c['found_by_id_and_listed']}; "
          f"listed {c['listed_total']} ({c['listed_not_acknowledged']} not acknowledged, {c['in_doubt_creates']} creates in doubt)", file=out)
    print(f"idempotency: {f['creates_retried_same_key']} same-key retries, replays {f['deliberate_replays']}", file=out)
    print(f"responds: {c['answered_200']} ids answered 200, {c['ids_with_several_respond_attempts']} ids answered by several clients "
          f"({c['ids_with_overlapping_respond_attempts']} with overlapping attempts), {f['race_bursts']} race bursts of {RACERS} "
          f"(winners per burst: {f['race_burst_winner_counts']})", file=out)
    print(f"patches acknowledged: {c['patched_ok']}", file=out)
    print(f"duplicates {c['duplicates']}, double answers {c['double_answers']}, 5xx {f['five_xx']}, "
          f"transport errors {f['transport_errors']}, unexpected statuses {f['unexpected_statuses']}", file=out)
    if c["failures"]:
        print("\nFAILED checks:", file=out)
        for check, details in c["failures"].items():
            print(f"- {check}: {len(details)}", file=out)
            for d in details[:10]:
                print(f"    {d}", file=out)
        if f["unexpected_samples"]:
            print("samples of unexpected answers:", file=out)
            for s in f["unexpected_samples"][:10]:
                print(f"    {json.dumps(s)}", file=out)
    else:
        print("\nall checks passed", file=out)


if __name__ == "__main__":
    sys.exit(harness.run(main))
