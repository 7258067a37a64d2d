#!/usr/bin/env python3
"""Durability run: crash DynamoDB Local mid-load and check no acknowledged create is lost.

Starts its own DynamoDB Local (data on disk: `-dbPath` in a fresh temp dir, `-sharedDb`) and
its own `local-gateway`, then repeats R times (default 3):

1. N clients (default 8) send creates, each with an Idempotency-Key unique per logical
   create; a 503 or transport error is retried with the same key and body (up to 3 times);
2. at a random moment mid-load the DynamoDB Local java process gets SIGKILL (no shutdown
   hook runs); the clients carry on for about 1 s more, then stop;
3. every answer is classified: a 503 is expected while the store is down, but must be JSON
   (`{"error":{"code":"service_unavailable",…}}`) with a numeric Retry-After header; a 500
   is a failure, and so is any other status a create may not answer;
4. DynamoDB Local restarts on the same dbPath and port; the (same) gateway must recover
   by itself: its first answers may be 503, never 500;
5. EVERY create acknowledged with 201 so far (this cycle and the earlier ones) is read back
   by id: 200 with exactly the body the 201 carried. The gateway reaches DynamoDB Local
   through a loopback relay (witness.py) that records which TransactWriteItems DynamoDB
   Local answered 200, so a missing create is classified: the service acknowledged a write
   the store never acknowledged (a service bug: failure), or DynamoDB Local acknowledged the
   transaction and lost it in the crash (its own commit window, see RELIABILITY.md:
   reported, a failure only with --strict);
6. creates whose outcome stayed unknown (only 503s / transport errors) are retried with the
   same key: they must answer 201 — replayed if the write had committed before the crash,
   new otherwise — and join the acknowledged set.

At the end every store is listed (following cursors): each acknowledged request exactly
once, and no logical create (one key) stored twice. Prints acknowledged vs found per cycle,
503s and 500s seen; exits 1 if anything acknowledged is missing or changed, any 500 (or a
malformed 503, or an unexpected status) was seen — except the store-side losses above,
unless --strict; 2 if the run could not start.
Traffic goes to 127.0.0.1 only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import harness  # noqa: E402  (scripts/harness.py: common puts scripts/ on the path)
from common import Http, Reply  # noqa: E402
from harness import log  # noqa: E402

PRIORITIES = ["URGENT", "HIGH", "NORMAL", "LOW"]
CREATE_RETRIES = 3


class Cycle:
    """What one kill/restart cycle saw, behind one lock."""

    def __init__(self, number: int):
        self.number = number
        self.lock = threading.Lock()
        self.kill_at: float | None = None
        self.statuses = collections.Counter()
        self.latency_before_kill = []
        self.acked = {}  # requestId -> {"store", "key", "payload", "body", "at"}
        self.in_doubt = {}  # key -> (store, payload)
        self.first_503_after_kill: float | None = None
        self.samples_500 = []
        self.bad_503 = []
        self.unexpected = []
        self.sent = 0

    def observe(self, store: str, key: str, reply: Reply) -> None:
        now = time.monotonic()
        with self.lock:
            self.sent += 1
            status = reply.status if reply.status is not None else "transport-error"
            self.statuses[status] += 1
            if self.kill_at is None:
                self.latency_before_kill.append(reply.seconds)
            elif status == 503 and self.first_503_after_kill is None:
                self.first_503_after_kill = now - self.kill_at
            sample = describe(f"POST /stores/{store}/supervisor-requests (Idempotency-Key {key})", reply)
            if status == 500:
                self.samples_500.append(sample)
            elif status == 503:
                problem = check_503(reply)
                if problem:
                    self.bad_503.append({**sample, "problem": problem})
            elif status not in (201, 409, "transport-error"):
                self.unexpected.append(sample)
            elif status == 409 and error_code(reply) != "idempotency_key_in_use":
                self.unexpected.append(sample)


def error_code(reply: Reply):
    body = reply.json()
    return ((body or {}).get("error") or {}).get("code") if isinstance(body, dict) else None


def describe(request: str, reply: Reply) -> dict:
    return {
        "request": request,
        "status": reply.status,
        "error": reply.error,
        "headers": {k: v for k, v in reply.headers.items() if k != "date"},
        "body": reply.body[:400].decode(errors="replace"),
        "at": time.strftime("%H:%M:%S"),
    }


def check_503(reply: Reply) -> str | None:
    """A 503 must say what it is, in JSON, and when to come back."""
    problems = []
    if not reply.headers.get("content-type", "").startswith("application/json"):
        problems.append(f"content-type {reply.headers.get('content-type')!r}")
    if error_code(reply) != "service_unavailable":
        problems.append("body is not {\"error\":{\"code\":\"service_unavailable\",…}}")
    retry_after = reply.headers.get("retry-after")
    if retry_after is None or not retry_after.strip().isdigit():
        problems.append(f"Retry-After {retry_after!r}")
    return "; ".join(problems) or None


def new_create(rng, run_id, cycle, client, seq):
    key = f"{run_id}-y{cycle}-c{client}-{seq}"
    body = {
        "requestType": "REFUND",
        "priority": rng.choice(PRIORITIES),
        "details": f"durability {key}: refund of receipt {rng.randrange(10**6)}",
    }
    return key, json.dumps(body, separators=(",", ":")).encode()


def send_create(http, token, store, key, payload, cycle: Cycle, stop: threading.Event | None):
    """One logical create; retries the same key and body on 503 / transport error / 409
    idempotency_key_in_use. Returns the final Reply."""
    path = f"/stores/{store}/supervisor-requests"
    reply = None
    for attempt in range(1 + CREATE_RETRIES):
        if attempt:
            if stop is not None and stop.is_set():
                break
            time.sleep(0.1 * attempt)
        reply = http.request("POST", path, body=payload, headers={"Idempotency-Key": key}, token=token)
        cycle.observe(store, key, reply)
        retry = reply.status is None or reply.status == 503 or (
            reply.status == 409 and error_code(reply) == "idempotency_key_in_use"
        )
        if not retry:
            break
    return reply


def client_loop(index, cycle, run, stop, deadline, budget):
    rng = random.Random(run["seed"] * 1000 + cycle.number * 100 + index)
    http = Http(run["port"], timeout=15)
    seq = 0
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            with budget["lock"]:
                if budget["left"] <= 0:
                    return
                budget["left"] -= 1
            seq += 1
            store = rng.choice(run["stores"])
            key, payload = new_create(rng, run["run_id"], cycle.number, index, seq)
            reply = send_create(http, run["tokens"][index], store, key, payload, cycle, stop)
            if reply.status == 201:
                body = reply.json()
                with cycle.lock:
                    cycle.acked[body["requestId"]] = {
                        "store": store, "key": key, "payload": payload, "body": body,
                        "before_kill": cycle.kill_at is None, "ack_at": time.monotonic(), "cycle": cycle.number,
                    }
            elif reply.status is None or reply.status >= 500 or reply.status == 409:
                with cycle.lock:
                    cycle.in_doubt[key] = (store, payload, index)
            if reply.status is not None and reply.status >= 500:
                time.sleep(0.05)  # do not spin while the store is down
    finally:
        http.close()


def read_back(http, acked: dict, deadline: float):
    """GET every acknowledged id; (found, [(requestId, "missing"|"changed"|"unreadable", detail)])."""
    found, problems = 0, []
    for rid, meta in acked.items():
        if time.monotonic() > deadline:
            problems.append((None, "unread", f"stopped reading back at the time limit: {len(acked) - found - len(problems)} ids unread"))
            break
        reply = None
        for attempt in range(5):  # a 503 right after the restart is allowed; retry a little
            reply = http.request("GET", f"/stores/{meta['store']}/supervisor-requests/{rid}")
            if reply.status != 503 and reply.status is not None:
                break
            time.sleep(0.5)
        request = f"GET /stores/{meta['store']}/supervisor-requests/{rid} (Idempotency-Key {meta['key']})"
        if reply.status == 200 and reply.json() == meta["body"]:
            found += 1
        elif reply.status == 200:
            problems.append((rid, "changed", f"{request}: acknowledged {json.dumps(meta['body'])} now {reply.body.decode()}"))
        elif reply.status == 404:
            problems.append((rid, "missing", f"{request} -> 404 {reply.body[:200].decode(errors='replace')}"))
        else:
            problems.append((rid, "unreadable", f"{request} -> {reply.status} {reply.error or reply.body[:200]!r}"))
    return found, problems


def wait_recovered(http, probe_path, timeout):
    """Polls until the gateway answers 200 again; (seconds, statuses seen meanwhile)."""
    started = time.monotonic()
    seen = collections.Counter()
    samples_500 = []
    while time.monotonic() - started < timeout:
        reply = http.request("GET", probe_path)
        seen[reply.status if reply.status is not None else "transport-error"] += 1
        if reply.status == 500:
            samples_500.append(describe(f"GET {probe_path}", reply))
        if reply.status == 200:
            return time.monotonic() - started, seen, samples_500
        time.sleep(0.2)
    return None, seen, samples_500


def list_store(http, store, max_pages=1000):
    items = []
    path = f"/stores/{store}/supervisor-requests?status=PENDING&limit=100"
    cursor = None
    for _ in range(max_pages):
        reply = http.request("GET", path + (f"&cursor={cursor}" if cursor else ""))
        if reply.status != 200:
            return items, f"list {store}: {reply.status} {reply.body[:200]!r}"
        body = reply.json()
        items.extend(body["items"])
        cursor = body.get("nextCursor")
        if not cursor:
            return items, None
    return items, f"list {store}: more than {max_pages} pages"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads (default 8)")
    parser.add_argument("--cycles", type=int, default=3, help="kill/restart cycles (default 3)")
    parser.add_argument("--stores", type=int, default=2, help="stores (default 2)")
    parser.add_argument("--kill-after", type=float, nargs=2, default=[2.0, 5.0], metavar=("MIN", "MAX"),
                        help="SIGKILL DynamoDB Local at a random moment this many seconds into the load (default 2 5)")
    parser.add_argument("--run-on", type=float, default=1.0, help="seconds the clients keep going after the kill (default 1)")
    parser.add_argument("--max-requests", type=int, default=20000, help="create attempts per cycle at most (default 20000)")
    parser.add_argument("--recovery-timeout", type=float, default=60.0, help="seconds the gateway may take to answer 200 again")
    parser.add_argument("--verify-timeout", type=float, default=300.0, help="seconds the read-back may take per cycle")
    parser.add_argument("--no-witness", action="store_true",
                        help="point the gateway straight at DynamoDB Local, without the relay that witnesses its acknowledgements")
    parser.add_argument("--strict", action="store_true",
                        help="also fail when DynamoDB Local itself lost a transaction it had acknowledged (see RELIABILITY.md)")
    common.add_common_arguments(parser)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**31)
    rng = random.Random(seed)
    figures = {"script": "durability", "machine": common.machine(), "config": {**vars(args), "seed": seed}, "cycles": []}
    failures = collections.defaultdict(list)
    notes = collections.defaultdict(list)  # reported, not failures (unless --strict)
    failed = True
    with common.Stack(args.bin_dir, args.log_level, name="durability", witness=not args.no_witness) as stack:
        try:
            stores = [f"store-{chr(ord('a') + i)}" for i in range(args.stores)]
            tokens = [stack.token("associate", stores, f"assoc-{i}") for i in range(args.clients)]
            admin = stack.token("admin", stores, "auditor")
            run = {"port": stack.gateway.port, "stores": stores, "tokens": tokens, "seed": seed,
                   "run_id": "d%06x" % rng.randrange(16**6)}
            ddb = stack.dynamodb
            admin_http = Http(stack.gateway.port, admin, timeout=15)
            acked_all = {}  # requestId -> meta, over every cycle
            log(f"{args.cycles} cycles, {args.clients} clients, stores {stores}, seed {seed}")
            for number in range(1, args.cycles + 1):
                cycle = Cycle(number)
                stop = threading.Event()
                kill_after = rng.uniform(*args.kill_after)
                budget = {"lock": threading.Lock(), "left": args.max_requests}
                load_deadline = time.monotonic() + kill_after + args.run_on + 5
                threads = [
                    threading.Thread(target=client_loop, args=(i, cycle, run, stop, load_deadline, budget), daemon=True)
                    for i in range(args.clients)
                ]
                started = time.monotonic()
                for t in threads:
                    t.start()
                while time.monotonic() - started < kill_after and any(t.is_alive() for t in threads):
                    time.sleep(0.05)
                with cycle.lock:
                    acked_before = len(cycle.acked)
                    cycle.kill_at = time.monotonic()
                ddb_pid = ddb.pid
                ddb.kill()
                if stack.witness:
                    stack.witness.pause()
                log(f"cycle {number}: SIGKILL DynamoDB Local (pid {ddb_pid}) {kill_after:.2f} s into the load, "
                    f"{acked_before} creates acknowledged so far")
                time.sleep(args.run_on)
                stop.set()
                join_deadline = time.monotonic() + 60
                for t in threads:
                    t.join(timeout=max(0.1, join_deadline - time.monotonic()))
                stuck = sum(t.is_alive() for t in threads)
                if stuck:
                    failures["clients_stopped"].append(f"cycle {number}: {stuck} client threads still running after 60 s")
                clients_stopped = time.monotonic() - cycle.kill_at

                restart_seconds = ddb.start()
                if stack.witness:
                    stack.witness.resume()
                log(f"cycle {number}: DynamoDB Local restarted on port {ddb.port} in {restart_seconds:.1f} s (pid {ddb.pid})")
                # The same gateway must come back by itself.
                probe = f"/stores/{stores[0]}/supervisor-requests?limit=1"
                recovered, recovery_statuses, recovery_500 = wait_recovered(admin_http, probe, args.recovery_timeout)
                if recovered is None:
                    failures["gateway_recovers"].append(f"cycle {number}: no 200 within {args.recovery_timeout} s: {dict(recovery_statuses)}")

                acked_all.update(cycle.acked)
                acked_so_far = len(acked_all)
                found, problems = read_back(admin_http, acked_all, time.monotonic() + args.verify_timeout)
                store_lost = []
                for rid, kind, detail in problems:
                    meta = acked_all.get(rid, {})
                    ack_ms = None if not meta else round((cycle.kill_at - meta["ack_at"]) * 1000, 1)
                    store_ack = stack.witness.acknowledged_at(rid) if (stack.witness and rid) else None
                    if kind == "missing" and meta.get("cycle") == number and store_ack is not None:
                        # DynamoDB Local answered 200 to the transaction, then lost it in the crash.
                        store_ms = round((cycle.kill_at - store_ack) * 1000, 1)
                        store_lost.append(f"{detail}; 201 received {ack_ms} ms before SIGKILL, DynamoDB Local's 200 to its TransactWriteItems {store_ms} ms before SIGKILL")
                    elif kind == "missing" and meta.get("cycle") == number and stack.witness:
                        failures["service_acknowledged_unstored_write"].append(
                            f"cycle {number}: {detail}; 201 received {ack_ms} ms before SIGKILL, but DynamoDB Local never answered 200 to a transaction writing it")
                    else:
                        failures["acknowledged_still_readable"].append(f"cycle {number}: {detail}" + (f"; 201 received {ack_ms} ms before SIGKILL" if ack_ms is not None else ""))
                for rid, kind, _ in problems:
                    if kind == "missing":  # reported once; not counted again in later cycles
                        acked_all.pop(rid, None)
                if store_lost:
                    target = failures["dynamodb_local_lost_acknowledged_transaction"] if args.strict else notes["dynamodb_local_lost_acknowledged_transaction"]
                    target.extend(f"cycle {number}: {d}" for d in store_lost)
                window = []
                if stack.witness:
                    with stack.witness.lock:
                        window = [rid for rid, t in stack.witness.acknowledged.items() if 0 <= cycle.kill_at - t <= 0.1]

                # Creates left in doubt: the same key again must settle them (201).
                resolved = collections.Counter()
                settle = Cycle(number)
                settle.kill_at = 0.0
                for key, (store, payload, index) in list(cycle.in_doubt.items())[:5000]:
                    reply = send_create(admin_http, tokens[index], store, key, payload, settle, None)
                    if reply.status == 201:
                        body = reply.json()
                        replayed = reply.headers.get("idempotent-replayed") == "true"
                        resolved["replayed (had committed)" if replayed else "created now"] += 1
                        acked_all[body["requestId"]] = {"store": store, "key": key, "payload": payload, "body": body}
                    else:
                        resolved[f"status {reply.status}"] += 1
                        failures["in_doubt_settles"].append(f"cycle {number}: key {key} retried -> {reply.status} {reply.body[:200]!r}")

                before_kill = sum(1 for m in cycle.acked.values() if m["before_kill"])
                for s in cycle.samples_500 + recovery_500 + settle.samples_500:
                    failures["no_500"].append(f"cycle {number}: {json.dumps(s)}")
                for s in cycle.bad_503 + settle.bad_503:
                    failures["503_is_json_with_retry_after"].append(f"cycle {number}: {json.dumps(s)}")
                for s in cycle.unexpected + settle.unexpected:
                    failures["expected_statuses"].append(f"cycle {number}: {json.dumps(s)}")
                row = {
                    "cycle": number,
                    "kill_after_seconds": round(kill_after, 2),
                    "create_attempts": cycle.sent,
                    "acknowledged_before_kill": before_kill,
                    "acknowledged_after_kill": len(cycle.acked) - before_kill,
                    "acknowledged_total_so_far": acked_so_far,
                    "found_of_acknowledged_so_far": found,
                    "missing_or_changed": len(problems),
                    "lost_by_dynamodb_local_after_its_200": len(store_lost),
                    "store_acks_in_last_100ms_before_kill": len(window),
                    "statuses": {str(k): v for k, v in sorted(cycle.statuses.items(), key=lambda kv: str(kv[0]))},
                    "status_503": cycle.statuses[503],
                    "status_500": cycle.statuses[500] + recovery_statuses[500] + settle.statuses[500],
                    "settle_statuses": {str(k): v for k, v in settle.statuses.items()},
                    "first_503_after_kill_seconds": None if cycle.first_503_after_kill is None else round(cycle.first_503_after_kill, 2),
                    "clients_stopped_after_kill_seconds": round(clients_stopped, 2),
                    "dynamodb_restart_seconds": round(restart_seconds, 2),
                    "gateway_recovered_seconds": None if recovered is None else round(recovered, 2),
                    "recovery_probe_statuses": {str(k): v for k, v in recovery_statuses.items()},
                    "in_doubt_creates": len(cycle.in_doubt),
                    "in_doubt_settled": dict(resolved),
                    "create_latency_before_kill": common.latency_summary(cycle.latency_before_kill),
                }
                figures["cycles"].append(row)
                log(f"cycle {number}: acknowledged so far {row['acknowledged_total_so_far']}, found {found}, "
                    f"503s {row['status_503']}, 500s {row['status_500']}, in doubt {len(cycle.in_doubt)} -> {dict(resolved)}")

            # Final audit: every acknowledged request listed exactly once, one per key.
            listed = collections.Counter()
            per_key = collections.defaultdict(set)
            for store in stores:
                items, problem = list_store(admin_http, store)
                if problem:
                    failures["final_list"].append(problem)
                for item in items:
                    listed[item["requestId"]] += 1
                    details = item.get("details", "")
                    if details.startswith("durability "):
                        per_key[details.split(":", 1)[0].split(" ", 1)[1]].add(item["requestId"])
            for rid, n in listed.items():
                if n > 1:
                    failures["final_listed_once"].append(f"{rid} listed {n} times")
            for rid, meta in acked_all.items():
                if listed[rid] != 1:
                    failures["final_listed_once"].append(f"{meta['store']}/{rid} (key {meta['key']}) listed {listed[rid]} times")
            for key, rids in per_key.items():
                if len(rids) > 1:
                    failures["no_duplicate_create"].append(f"key {key} stored as {sorted(rids)}")
            admin_http.close()
            figures["final"] = {
                "acknowledged": len(acked_all),
                "listed": sum(listed.values()),
                "distinct_keys_listed": len(per_key),
                "duplicates": sum(1 for r in per_key.values() if len(r) > 1),
            }
            figures["failures"] = {k: v for k, v in failures.items() if v}
            figures["notes"] = {k: v for k, v in notes.items() if v}
            if stack.witness:
                figures["witness"] = {"store_acknowledged_transactions": stack.witness.transactions_ok,
                                      "unparsed_connections": stack.witness.unparsed_connections}
            failed = bool(figures["failures"])
            print_summary(figures)
        finally:
            common.save_logs_on_failure(stack, args.keep_logs, failed)
    harness.write_json(args.json, figures)
    return 1 if failed else 0


def print_summary(f):
    m, cfg = f["machine"], f["config"]
    print("\n=== durability (SIGKILL DynamoDB Local mid-load) ===")
    print(f"machine: nproc={m['nproc']} RAM={m['ram_gib']} GiB, {m['date']}")
    print(f"config: {cfg['cycles']} cycles, {cfg['clients']} clients, kill {cfg['kill_after'][0]}-{cfg['kill_after'][1]} s in, "
          f"clients run {cfg['run_on']} s more, seed {cfg['seed']}")
    print("cycle  kill@s  attempts  acked(before/after kill)  acked so far  found  missing(store lost)  503s  500s  "
          "first503@s  ddb restart s  recovered s  in doubt -> settled")
    for c in f["cycles"]:
        print(f"{c['cycle']:>5}  {c['kill_after_seconds']:>6}  {c['create_attempts']:>8}  "
              f"{c['acknowledged_before_kill']:>12}/{c['acknowledged_after_kill']:<11}  {c['acknowledged_total_so_far']:>12}  "
              f"{c['found_of_acknowledged_so_far']:>5}  {c['missing_or_changed']:>7}({c['lost_by_dynamodb_local_after_its_200']:>2})         {c['status_503']:>4}  {c['status_500']:>4}  "
              f"{str(c['first_503_after_kill_seconds']):>10}  {c['dynamodb_restart_seconds']:>13}  {str(c['gateway_recovered_seconds']):>11}  "
              f"{c['in_doubt_creates']} -> {c['in_doubt_settled']}")
        print(f"       statuses {c['statuses']}; recovery probe {c['recovery_probe_statuses']}; "
              f"create latency before kill p50/p95/p99 {c['create_latency_before_kill']['p50_ms']}/"
              f"{c['create_latency_before_kill']['p95_ms']}/{c['create_latency_before_kill']['p99_ms']} ms")
    for note, details in f.get("notes", {}).items():
        print(f"\nNOTE {note}: {len(details)} (not a service bug: the store lost what it had acknowledged; --strict makes this fail)")
        for d in details[:10]:
            print(f"    {d[:1000]}")
    fin = f["final"]
    print(f"final: {fin['acknowledged']} acknowledged, {fin['listed']} listed, {fin['duplicates']} duplicates")
    if f["failures"]:
        print("\nFAILED checks:")
        for check, details in f["failures"].items():
            print(f"- {check}: {len(details)}")
            for d in details[:10]:
                print(f"    {d[:1000]}")
    else:
        print("\nall checks passed")


if __name__ == "__main__":
    sys.exit(harness.run(main))
