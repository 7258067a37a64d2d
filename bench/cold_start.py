#!/usr/bin/env python3
"""Cold start and peak memory of the Lambda functions under a Lambda Runtime API emulator.

Every start is a fresh process: the harness execs the function's binary with the
environment Lambda gives a `provided.al2023` function, serves it one event over a local
Runtime API (the same HTTP API the real service speaks), and measures

- cold start: from just before the exec to the moment the emulator receives the function's
  answer (`.../response` or `.../error`): process start, runtime and app init (SDK config,
  keys), the first `next`, and the first invocation including its DynamoDB round trip;
- init: from just before the exec to the first `GET .../invocation/next`;
- DynamoDB Local's share: the functions reach the store through a timing relay
  (`StoreProxy`), which reports how long requests were with the store and how many were
  sent; the report shows the cold start with and without that share, and the ≤ 2× budget
  is judged on the figure without it (`--no-store-proxy` connects directly);
- peak RSS: `VmHWM` of `/proc/<pid>/status`, read after the answer and before the kill.
  (Not wait4's `ru_maxrss`: Linux carries the forking Python process's high-water mark
  across the exec, so it reads ~27 MB for everything.)

DynamoDB Local (in memory, by the launcher scripts/dynamodb-local) is started by the script,
unless `--dynamodb-endpoint` names one already running; the create-tables binary
(local/src/bin/create-tables.rs: shared::schema, the tables' one definition) creates both
tables (`--create-tables`, default: the newest build in target/).
Starts run round-robin (start 1 of every function, then start 2, ...) after `--warmup`
discarded rounds, so that machine noise spreads evenly over the functions. With `--seed`,
the seed-fixture binary puts what each fixture names (a pending request, a master item and
its item at version 1, a pin for unpin) into the store before every start, so that
single-item routes time their success path rather than a 404.

Usage (from the repository root):

    python3 bench/cold_start.py                                  # every function, with its binary in target/lambda-x86_64/<binary>/bootstrap
    python3 bench/cold_start.py --floor hello-world --starts 20 --json bench/cold-start.json
    python3 bench/cold_start.py --flat --bin-dir target/debug --starts 3 get-request authorizer
    python3 bench/cold_start.py --flat --bin-dir DIR get-request get-request@capability   # two builds, interleaved

Exit status: 0 once the table is printed, whatever the PASS/FAIL marks say (so that a
`set -e` pipeline such as scripts/bench goes on); with `--check`, 1 when a budget or an
answer failed (error, timeout, crash, 5xx). 2 on a harness problem (bad arguments,
DynamoDB Local did not start), 130 when interrupted.

Only the Python 3.11 standard library and scripts/harness.py; Linux only (/proc, waitid).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import harness  # noqa: E402
from harness import ROOT, SetupError, dynamodb, log, percentile, random_secret  # noqa: E402

RUNTIME_PREFIX = "/2018-06-01/runtime"
DEADLINE_MS = 30_000
REGION = "us-east-1"
ACCOUNT = "123456789012"

COLD_START_BUDGET_RATIO = 2.0  # median cold start <= 2x the floor's median
RSS_BUDGET_MB = 32.0  # peak RSS median <= 32 MB (MB = 2^20 bytes, as Lambda's memory sizes)

REQUESTS_TABLE = "supervisor-requests"
ITEMS_TABLE = "preferred-items"

# For a function without a fixture (e.g. the hello-world floor): a plain HTTP API v2 GET /.
GENERIC_HTTP_EVENT = {
    "version": "2.0",
    "routeKey": "GET /",
    "rawPath": "/",
    "rawQueryString": "",
    "headers": {"accept": "application/json", "host": "abc123.execute-api.us-east-1.amazonaws.com"},
    "requestContext": {
        "accountId": ACCOUNT,
        "apiId": "abc123",
        "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "abc123",
        "http": {
            "method": "GET",
            "path": "/",
            "protocol": "HTTP/1.1",
            "sourceIp": "192.0.2.10",
            "userAgent": "cold-start-bench",
        },
        "requestId": "Jb8dYhQ9IAMEVkA=",
        "routeKey": "GET /",
        "stage": "$default",
        "time": "23/Nov/2026:10:00:00 +0000",
        "timeEpoch": 1795428000000,
    },
    "isBase64Encoded": False,
}


# --------------------------------------------------------------------------------------
# The Runtime API emulator
# --------------------------------------------------------------------------------------


@dataclass
class Invocation:
    """One process start: one event to serve, and what came back."""

    function: str
    event: bytes
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    served_ns: int | None = None  # first `next` received
    answer_ns: int | None = None  # response/error body fully received
    kind: str | None = None  # "response" | "error"
    body: bytes = b""
    error_type: str | None = None
    init_error: bytes | None = None
    init_error_type: str | None = None
    extra_next_calls: int = 0
    answered: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


# "1" with --sampled: X-Ray samples every invocation (the trace header Lambda passes).
TRACE_SAMPLED = "0"


class XRayDaemon:
    """A UDP listener in the X-Ray daemon's place: counts the segment documents it receives."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.socket.getsockname()[1]}"
        self.received = 0
        threading.Thread(target=self._receive, daemon=True).start()

    def _receive(self) -> None:
        while True:
            data = self.socket.recv(65536)
            if data.startswith(b'{"format":"json","version":1}\n'):
                self.received += 1


class RuntimeApi(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), RuntimeApiHandler)
        self.current: Invocation | None = None
        self.stray: list[str] = []  # calls that matched no invocation (diagnostics)

    def handle_error(self, request, client_address) -> None:
        # A killed function resets its keep-alive connections: expected, not worth a traceback.
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"{host}:{port}"


class RuntimeApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real Runtime API
    server: RuntimeApi

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet
        pass

    # -- helpers --

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(65537)
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: dict | bytes, headers: dict[str, str] | None = None) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    # -- routes --

    def do_GET(self) -> None:  # noqa: N802
        if self.path != f"{RUNTIME_PREFIX}/invocation/next":
            self.server.stray.append(f"GET {self.path}")
            self._send(404, {"errorMessage": "not found", "errorType": "NotFound"})
            return
        now = time.perf_counter_ns()
        invocation = self.server.current
        first = False
        if invocation is not None:
            with invocation.lock:
                if invocation.served_ns is None:
                    invocation.served_ns = now
                    first = True
                else:
                    invocation.extra_next_calls += 1
        if not first:
            # One event per process: the function asking for more work waits, as in a frozen
            # sandbox, until the harness kills it; then the connection just closes.
            if invocation is not None:
                invocation.released.wait(timeout=300)
            self.close_connection = True
            return
        deadline = int(time.time() * 1000) + DEADLINE_MS
        trace = f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled={TRACE_SAMPLED}"
        self._send(
            200,
            invocation.event,
            {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline),
                "Lambda-Runtime-Invoked-Function-Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{invocation.function}",
                "Lambda-Runtime-Trace-Id": trace,
            },
        )

    def do_POST(self) -> None:  # noqa: N802
        body = self._read_body()
        now = time.perf_counter_ns()
        invocation = self.server.current
        path = self.path
        if path == f"{RUNTIME_PREFIX}/init/error":
            if invocation is None:
                self.server.stray.append(f"POST {path}")
            else:
                invocation.init_error = body
                invocation.init_error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
                invocation.answer_ns = now
                invocation.answered.set()
            self._send(202, {"status": "OK"})
            return
        prefix = f"{RUNTIME_PREFIX}/invocation/"
        if path.startswith(prefix):
            rest = path[len(prefix):]
            request_id, _, action = rest.partition("/")
            if action in ("response", "error"):
                if invocation is None or request_id != invocation.request_id:
                    self.server.stray.append(f"POST {path}")
                    self._send(400, {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"})
                    return
                with invocation.lock:
                    if invocation.kind is not None:
                        self._send(400, {"errorMessage": "Invalid state transition", "errorType": "InvalidStateTransition"})
                        return
                    invocation.answer_ns = now
                    invocation.kind = action
                    invocation.body = body
                    invocation.error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
                self._send(202, {"status": "OK"})
                invocation.answered.set()
                return
        self.server.stray.append(f"POST {path}")
        self._send(404, {"errorMessage": "not found", "errorType": "NotFound"})


# --------------------------------------------------------------------------------------
# The store: a timing relay, and DynamoDB Local's warm-up
# --------------------------------------------------------------------------------------


class StoreProxy:
    """A TCP relay between the functions and DynamoDB, timing the store's share of a start.

    DynamoDB Local is a JVM on the same two cores: after the idle gap between two starts it
    answers a TransactWriteItems in 7-8 ms where back-to-back calls take 3 ms (measured,
    BENCHMARKS.md). That is the emulator's time, not the function's; the relay measures it
    so that the report can show the cold start with and without it. Store time is the time
    during which at least one request is with the store: from the last request byte the
    relay forwards to the first response byte it receives back, with concurrent requests
    counted once (their union, not their sum). The relay's own forwarding (a Python thread)
    stays in the function's figure, so that figure errs on the high side.
    """

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.removeprefix("http://").partition(":")
        self.upstream = (host, int(port or 80))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.lock = threading.Lock()
        self.busy_ns = 0
        self.requests = 0
        self.in_flight = 0
        self.busy_since = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return "http://127.0.0.1:%d" % self.listener.getsockname()[1]

    def take(self) -> tuple[float, int]:
        """(store ms, requests) since the last call."""
        with self.lock:
            busy, count = self.busy_ns, self.requests
            self.busy_ns, self.requests = 0, 0
        return busy / 1e6, count

    def close(self) -> None:
        self.closed = True
        self.listener.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        for s in (client, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        selector = selectors.DefaultSelector()
        selector.register(client, selectors.EVENT_READ, upstream)
        selector.register(upstream, selectors.EVENT_READ, client)
        waiting = False  # a request of this connection is with the store
        try:
            while True:
                for key, _ in selector.select():
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    if key.fileobj is client:
                        key.data.sendall(data)
                        with self.lock:
                            now = time.perf_counter_ns()
                            if not waiting:
                                waiting = True
                                self.in_flight += 1
                                if self.in_flight == 1:
                                    self.busy_since = now
                            elif self.in_flight == 1:
                                self.busy_since = now  # more of the same request: from its last byte
                        continue
                    if waiting:  # counted before the function can see the answer
                        with self.lock:
                            waiting = False
                            self.requests += 1
                            self.in_flight -= 1
                            if self.in_flight == 0:
                                self.busy_ns += time.perf_counter_ns() - self.busy_since
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            if waiting:  # closed mid-request: the store is no longer busy on its account
                with self.lock:
                    self.in_flight -= 1
                    if self.in_flight == 0:
                        self.busy_ns += time.perf_counter_ns() - self.busy_since
            selector.close()
            client.close()
            upstream.close()


def warm_dynamodb(endpoint: str, requests_table: str, items_table: str, rounds: int = 300) -> None:
    """Every kind of call the functions make, a few hundred times, before anything is measured.

    DynamoDB on AWS is never cold; DynamoDB Local is a JVM whose first few hundred calls of a
    kind run interpreted (a TransactWriteItems took 15-20 ms before this warm-up covered
    transactions, about 2 ms after). Without it the figures would time the emulator's JIT.
    """
    key = lambda sk: {"storeId": {"S": "warm-up"}, "sk": {"S": sk}}  # noqa: E731

    def item(table: str, sk: str, n: int) -> dict:
        # Shaped like the functions' items: index keys, a TTL attribute, a dozen attributes.
        # Index maintenance is its own code path in the emulator and must be warm too.
        attributes = {f"a{i}": {"S": f"value {i}"} for i in range(10)}
        if table == requests_table:
            attributes.update({"sweepShard": {"S": f"PENDING#{n % 4}"}, "deadline": {"N": str(n)},
                               "expiresAt": {"N": str(4_000_000_000 + n)}})
        else:
            attributes["masterListKey"] = {"S": "warm-up"}
        return {**key(sk), **attributes, "version": {"N": "1"}}

    for n in range(rounds):
        for table in (requests_table, items_table):
            dynamodb(endpoint, "GetItem", {"TableName": table, "ConsistentRead": True, "Key": key("REQUEST#none")})
            dynamodb(endpoint, "Query", {
                "TableName": table, "Limit": 10,
                "KeyConditionExpression": "storeId = :s AND begins_with(sk, :p)",
                "ExpressionAttributeValues": {":s": {"S": "warm-up"}, ":p": {"S": "PENDING#"}},
            })
            dynamodb(endpoint, "TransactWriteItems", {"TransactItems": [
                {"Put": {"TableName": table, "Item": item(table, f"A#{n}", n),
                         "ConditionExpression": "attribute_not_exists(sk)"}},
                {"Put": {"TableName": table, "Item": item(table, f"B#{n}", n),
                         "ConditionExpression": "attribute_not_exists(sk)"}},
                {"Put": {"TableName": table, "Item": key(f"C#{n}")}},
            ], "ClientRequestToken": str(uuid.uuid4())})
            dynamodb(endpoint, "UpdateItem", {
                "TableName": table, "Key": key(f"A#{n}"),
                "UpdateExpression": "SET version = version + :one",
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":v": {"N": "1"}},
            })
            dynamodb(endpoint, "TransactWriteItems", {"TransactItems": [
                {"Delete": {"TableName": table, "Key": key(f"A#{n}"), "ConditionExpression": "attribute_exists(sk)"}},
                {"Delete": {"TableName": table, "Key": key(f"B#{n}")}},
                {"Delete": {"TableName": table, "Key": key(f"C#{n}")}},
            ], "ClientRequestToken": str(uuid.uuid4())})
        dynamodb(endpoint, "Query", {
            "TableName": requests_table, "IndexName": "byDeadline",
            "KeyConditionExpression": "sweepShard = :s AND deadline <= :d",
            "ExpressionAttributeValues": {":s": {"S": "PENDING#0"}, ":d": {"N": "0"}},
        })


# --------------------------------------------------------------------------------------
# One start
# --------------------------------------------------------------------------------------


def proc_status_kb(pid: int) -> dict[str, int]:
    values: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                name, _, rest = line.partition(":")
                if name in ("VmHWM", "VmRSS"):
                    values[name] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return values


def exited(pid: int) -> bool:
    """Has the child exited? Does not reap it (WNOWAIT): reap() does that after the kill."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def reap(proc: subprocess.Popen) -> int:
    """SIGKILL (if still running), then wait for it: its exit code (-9 when killed)."""
    try:
        os.kill(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 10
    while True:
        try:
            pid, status = os.waitpid(proc.pid, os.WNOHANG)
        except ChildProcessError:
            proc.returncode = proc.returncode if proc.returncode is not None else -9
            return proc.returncode
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode
        if time.monotonic() > deadline:
            raise RuntimeError(f"pid {proc.pid} did not die after SIGKILL")
        time.sleep(0.005)


def run_start(
    stray: list[str],
    function: str,
    binary: Path,
    event: bytes,
    is_api: bool,
    env: dict[str, str],
    timeout: float,
    workdir: Path,
    children: set,
    proxy: StoreProxy | None = None,
) -> dict:
    invocation = Invocation(function=function, event=event)
    if proxy is not None:
        proxy.take()
    # A Runtime API of its own per start: a killed process's last `next` request can still be
    # in the old listener's backlog, and must not take the next start's event.
    server = RuntimeApi()
    server.stray = stray
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    env = dict(env, AWS_LAMBDA_RUNTIME_API=server.address)
    server.current = invocation
    output_path = workdir / f"{function}.out"
    sample: dict = {"request_id": invocation.request_id}
    with open(output_path, "wb") as output:
        env = dict(env, AWS_LAMBDA_FUNCTION_NAME=function,
                   AWS_LAMBDA_LOG_STREAM_NAME=f"2026/11/23/[$LATEST]{secrets.token_hex(16)}",
                   AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{function}")
        t0 = time.perf_counter_ns()
        proc = subprocess.Popen(
            [str(binary)], env=env, cwd=str(binary.parent), stdin=subprocess.DEVNULL,
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
        )
    children.add(proc)
    try:
        end = time.monotonic() + timeout
        outcome = None
        while not invocation.answered.wait(0.01):
            if exited(proc.pid):
                invocation.answered.wait(0.05)  # an answer posted just before exiting
                if not invocation.answered.is_set():
                    outcome = "exited"
                break
            if time.monotonic() > end:
                outcome = "timeout"
                break
        memory = proc_status_kb(proc.pid)  # after the answer, before the kill
        store_ms, store_requests = proxy.take() if proxy is not None else (None, None)
        exit_code = reap(proc)
    finally:
        invocation.released.set()
        children.discard(proc)
        if server.current is invocation:
            server.current = None
        server.shutdown()
        server.server_close()

    sample["vm_hwm_kb"] = memory.get("VmHWM")
    sample["vm_rss_kb"] = memory.get("VmRSS")
    sample["init_ms"] = (invocation.served_ns - t0) / 1e6 if invocation.served_ns else None
    sample["extra_next_calls"] = invocation.extra_next_calls
    if invocation.init_error is not None:
        outcome = "init_error"
        sample["error"] = invocation.init_error.decode(errors="replace")[:2000]
        sample["error_type"] = invocation.init_error_type
    elif invocation.kind is not None:
        outcome = invocation.kind
    sample["outcome"] = outcome
    sample["cold_start_ms"] = (invocation.answer_ns - t0) / 1e6 if invocation.kind else None
    sample["store_ms"] = store_ms
    sample["store_requests"] = store_requests
    sample["own_ms"] = (
        sample["cold_start_ms"] - store_ms if sample["cold_start_ms"] is not None and store_ms is not None else None
    )
    sample["status_code"] = None
    ok = outcome == "response"
    problem = None
    if outcome == "response":
        try:
            answer = json.loads(invocation.body)
        except ValueError:
            answer = None
        if isinstance(answer, dict) and isinstance(answer.get("statusCode"), int):
            sample["status_code"] = answer["statusCode"]
            if answer["statusCode"] >= 500:
                ok, problem = False, f"HTTP {answer['statusCode']}: {invocation.body[:300].decode(errors='replace')}"
        elif is_api:
            ok, problem = False, f"no statusCode in the answer: {invocation.body[:300].decode(errors='replace')}"
        sample["body"] = invocation.body[:500].decode(errors="replace")
    elif outcome == "error":
        sample["error_type"] = invocation.error_type
        sample["error"] = invocation.body.decode(errors="replace")[:2000]
        problem = f"error ({invocation.error_type}): {sample['error'][:300]}"
    elif outcome == "init_error":
        problem = f"init error ({invocation.init_error_type}): {sample['error'][:300]}"
    elif outcome == "exited":
        problem = f"exited with {exit_code} before answering"
    elif outcome == "timeout":
        problem = f"no answer within {timeout:g} s"
    if not ok and outcome != "response":
        sample["output_tail"] = harness.tail(output_path, 20)[-1500:]
        if sample["output_tail"]:
            problem = f"{problem}; output: {sample['output_tail'][-400:]}"
    sample["exit_code"] = exit_code
    sample["ok"] = ok
    sample["problem"] = problem
    return sample


# --------------------------------------------------------------------------------------
# Statistics and report
# --------------------------------------------------------------------------------------


def summarize(function: str, samples: list[dict]) -> dict:
    measured = [s for s in samples if not s["warmup"]]
    times = [s["cold_start_ms"] for s in measured if s["cold_start_ms"] is not None]
    inits = [s["init_ms"] for s in measured if s["init_ms"] is not None]
    stores = [s["store_ms"] for s in measured if s.get("store_ms") is not None]
    owns = [s["own_ms"] for s in measured if s.get("own_ms") is not None]
    store_requests = sorted({s["store_requests"] for s in measured if s.get("store_requests") is not None})
    rss = [s["vm_hwm_kb"] / 1024 for s in measured if s["vm_hwm_kb"]]
    codes: dict[str, int] = {}
    for s in measured:
        key = str(s["status_code"]) if s["status_code"] is not None else (s["outcome"] or "none")
        codes[key] = codes.get(key, 0) + 1
    spread = lambda values: {"median": percentile(values, 50), "p10": percentile(values, 10), "p90": percentile(values, 90)}  # noqa: E731
    return {
        "function": function,
        "starts": len(measured),
        "ok": sum(1 for s in measured if s["ok"]),
        "answers": codes,
        "cold_start_ms": {**spread(times), "min": min(times, default=None), "max": max(times, default=None)},
        "init_ms": spread(inits),
        "store_ms": spread(stores),
        "own_ms": spread(owns),
        "store_requests": store_requests,
        "peak_rss_mb": {"median": percentile(rss, 50), "max": max(rss, default=None)},
        "problems": [s["problem"] for s in measured if s["problem"]],
    }


def fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def report(summaries: list[dict], floor: str | None) -> tuple[str, bool]:
    floor_summary = next((s for s in summaries if s["function"] == floor), None) if floor else None

    def ratio(value: float | None, floor_value: float | None, is_floor: bool) -> tuple[str, bool]:
        if floor is None:
            return "n/a (no --floor)", True
        if is_floor:
            return "1.00 (floor)", True
        if value is None or not floor_value:
            return "— FAIL", False
        r = value / floor_value
        passed = r <= COLD_START_BUDGET_RATIO
        return f"{r:.2f} {'PASS' if passed else 'FAIL'}", passed

    all_pass = True
    lines = [
        "| function | cold start median ms | p10–p90 ms | ratio to floor | DynamoDB Local median ms (requests) "
        "| without store median ms | ratio without store | init median ms | peak RSS median MB | answers OK |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for s in summaries:
        cold = s["cold_start_ms"]
        is_floor = s["function"] == floor
        floor_cold = floor_summary["cold_start_ms"]["median"] if floor_summary else None
        # The floor makes no store call: its figure without store time is its cold start.
        floor_own = (floor_summary["own_ms"]["median"] or floor_cold) if floor_summary else None
        raw_ratio, _ = ratio(cold["median"], floor_cold, is_floor)
        own = s["own_ms"]["median"]
        own_ratio, own_pass = ratio(own, floor_own, is_floor)
        all_pass &= own_pass
        store = s["store_ms"]["median"]
        requests = "/".join(str(n) for n in s["store_requests"]) or "—"
        rss = s["peak_rss_mb"]["median"]
        rss_pass = rss is not None and rss <= RSS_BUDGET_MB
        all_pass &= rss_pass
        answers_pass = s["ok"] == s["starts"] and s["starts"] > 0
        all_pass &= answers_pass
        codes = ", ".join(f"{k}×{v}" for k, v in sorted(s["answers"].items()))
        lines.append(
            f"| {s['function']} | {fmt(cold['median'])} | {fmt(cold['p10'])}–{fmt(cold['p90'])} | {raw_ratio} "
            f"| {fmt(store)} ({requests}) | {fmt(own)} | {own_ratio} | {fmt(s['init_ms']['median'])} "
            f"| {fmt(rss)} {'PASS' if rss_pass else 'FAIL'} | {s['ok']}/{s['starts']} "
            f"{'' if answers_pass else 'FAIL '}({codes}) |"
        )
    lines.append("")
    lines.append(
        f"Budgets: cold-start median ≤ {COLD_START_BUDGET_RATIO:g}× the floor's median"
        f"{f' ({floor})' if floor else ' (needs --floor)'}, judged on the figure without the time DynamoDB "
        f"Local spent answering (the raw ratio is shown beside it); peak RSS (VmHWM) median ≤ {RSS_BUDGET_MB:g} MB (MB = 2^20 bytes). "
        "An answer is OK when the function posted a response (not an error, crash or timeout) "
        "and, for API functions, its statusCode is below 500."
    )
    problems = [(s["function"], p) for s in summaries for p in s["problems"]]
    if problems:
        lines.append("")
        lines.append("Failed answers:")
        seen = set()
        for function, problem in problems:
            if (function, problem) in seen:
                continue
            seen.add((function, problem))
            count = sum(1 for f, p in problems if f == function and p == problem)
            lines.append(f"- {function} ({count}×): {problem}")
    return "\n".join(lines), all_pass


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def discover(bin_dir: Path, flat: bool) -> list[str]:
    names = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "Cargo.toml").is_file())
    return [n for n in names if binary_path(bin_dir, n, flat).is_file()]


def binary_path(bin_dir: Path, name: str, flat: bool) -> Path:
    """Flat: DIR/<function>. Otherwise as scripts/build-lambdas leaves them: the binary the
    function deploys (template.yaml: its own crate's), DIR/<binary>/bootstrap."""
    if flat:
        return bin_dir / name
    return bin_dir / harness.deployed_binaries().get(name, name) / "bootstrap"


def fixture_name(function: str) -> str:
    """`NAME@VARIANT` (another build of NAME, measured beside it) runs NAME's fixture and seed."""
    return function.split("@", 1)[0]


def load_event(name: str, overrides: dict[str, Path]) -> tuple[bytes, bool, str]:
    """(event bytes, is an API Gateway HTTP event, where it came from)."""
    path = overrides.get(name, ROOT / "events" / f"{fixture_name(name)}.json")
    if path.is_file():
        raw = path.read_bytes()
        source = str(path)
    else:
        raw = json.dumps(GENERIC_HTTP_EVENT).encode()
        source = "built-in HTTP API v2 GET / (no events/%s.json)" % name
    try:
        event = json.loads(raw)
    except ValueError as error:
        raise SystemExit(f"{path}: not JSON: {error}")
    is_api = (
        isinstance(event, dict)
        and event.get("version") == "2.0"
        and isinstance(event.get("requestContext", {}).get("http"), dict)
        and event.get("type") != "REQUEST"  # the authorizer's event
    )
    # Compact, as the service sends it.
    return json.dumps(event, separators=(",", ":")).encode(), is_api, source


def with_fresh_idempotency_key(event: bytes) -> bytes:
    """A create's fixture carries an `Idempotency-Key`; sent unchanged, every start after the
    first would time the replay of the first start's answer instead of a create. Each start
    gets its own key, as each new create from a till would."""
    parsed = json.loads(event)
    headers = parsed.get("headers") if isinstance(parsed, dict) else None
    if not isinstance(headers, dict) or "idempotency-key" not in headers:
        return event
    headers["idempotency-key"] = str(uuid.uuid4())
    return json.dumps(parsed, separators=(",", ":")).encode()


def seed(binary: Path, function: str, endpoint: str, args: argparse.Namespace) -> None:
    """Puts what `function`'s fixture names into the store, straight to DynamoDB (not the relay)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **harness.sdk_environment(endpoint),
        "REQUESTS_TABLE": args.requests_table,
        "ITEMS_TABLE": args.items_table,
    }
    done = subprocess.run([str(binary), function], env=env, capture_output=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"seeding for {function} failed: {done.stderr.decode(errors='replace')[-800:]}")


def base_environment(endpoint: str, args: argparse.Namespace) -> dict[str, str]:
    """What Lambda sets for a provided.al2023 function, plus the app's configuration
    (run_start adds the function's name and its Runtime API)."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "_HANDLER": "bootstrap",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": "WARN",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "REQUESTS_TABLE": args.requests_table,
        "ITEMS_TABLE": args.items_table,
        "EVENTS_TABLE": "supervisor-request-events",
        "CONNECTIONS_TABLE": "websocket-connections",
        "CURSOR_SECRET": random_secret(),
        "REQUEST_TIMEOUT_SECONDS": "600",
        "JWT_ISSUER": "http://127.0.0.1/local-dev",
        "JWT_AUDIENCE": "store-services",
        "JWT_HS256_SECRET": random_secret(),
        # The functions run as on Lambda (AWS_LAMBDA_FUNCTION_NAME is set), where a
        # symmetric dev key is refused unless allowed by name; a benchmark's key is random.
        "INSECURE_ALLOW_HS256_DEV_KEY_IN_DEPLOYMENT": "true",
    }
    env.update(args.env)
    return env


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Cold start and peak RSS of each function under a Lambda Runtime API emulator.",
        epilog="Example: python3 bench/cold_start.py --floor hello-world --json bench/cold-start.json",
    )
    parser.add_argument("functions", nargs="*", help="functions to measure (default: every functions/* with a binary)")
    parser.add_argument("--bin-dir", type=Path, default=ROOT / "target" / "lambda-x86_64",
                        help="where the binaries are: DIR/<function>/bootstrap (default: target/lambda-x86_64)")
    parser.add_argument("--flat", action="store_true", help="binaries are DIR/<function> (e.g. target/release)")
    parser.add_argument("--starts", type=int, default=20, help="measured starts per function (default 20; use ≥ 15)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="discarded rounds before measuring (page cache, DynamoDB Local's first writes; default 1)")
    parser.add_argument("--floor", metavar="NAME", help="the hello-world baseline function; medians are reported as ratios to it")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a start may take to answer (default 10)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every raw sample and the summaries here")
    parser.add_argument("--event", action="append", default=[], metavar="NAME=PATH", help="event for a function (default events/<name>.json)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="extra environment for every function")
    parser.add_argument("--create-tables", type=Path, metavar="PATH",
                        help="the create-tables binary (local/src/bin/create-tables.rs; default: the newest "
                             "target/{bench-tools,release,debug}/create-tables)")
    parser.add_argument("--seed", type=Path, metavar="PATH",
                        help="seed-fixture binary (bench/src/bin/seed-fixture.rs) run before every start, so that "
                             "fixtures naming a request, master item or item find it and time the success path")
    parser.add_argument("--store-on-all-cpus", action="store_true",
                        help="let DynamoDB Local run on every CPU (by default it gets the first alone)")
    parser.add_argument("--no-store-proxy", action="store_true",
                        help="connect the functions to DynamoDB directly (no store-time split)")
    parser.add_argument("--sampled", action="store_true",
                        help="X-Ray on: every invocation sampled (Sampled=1 in the trace header) and "
                             "AWS_XRAY_DAEMON_ADDRESS a UDP listener of the harness; reports the subsegments received")
    parser.add_argument("--check", action="store_true", help="exit 1 when a budget or an answer failed")
    parser.add_argument("--dynamodb-endpoint", metavar="URL", help="use this DynamoDB (Local) instead of starting one")
    parser.add_argument("--requests-table", default=REQUESTS_TABLE)
    parser.add_argument("--items-table", default=ITEMS_TABLE)
    args = parser.parse_args(argv)
    if args.starts < 1:
        parser.error("--starts must be at least 1")
    if args.warmup < 0:
        parser.error("--warmup must be 0 or more")

    def pairs(option: str, items: list[str]) -> dict[str, str]:
        split = [item.partition("=") for item in items]
        for item, (_, sep, _) in zip(items, split):
            if not sep:
                parser.error(f"{option} {item}: expected NAME=VALUE")
        return {name: value for name, _, value in split}

    args.event = {name: Path(path) for name, path in pairs("--event", args.event).items()}
    args.env = pairs("--env", args.env)
    return args


def main(argv: list[str]) -> int:
    if not sys.platform.startswith("linux"):
        raise SetupError("Linux only (/proc/<pid>/status, waitid)")
    args = parse_args(argv)
    bin_dir = args.bin_dir.resolve()
    functions = list(dict.fromkeys(args.functions)) or discover(bin_dir, args.flat)
    if args.floor and args.floor not in functions:
        functions.insert(0, args.floor)
    if not functions:
        raise SetupError(f"no function binaries found in {bin_dir} ({'flat' if args.flat else '<function>/bootstrap'})")
    missing = [f for f in functions if not os.access(binary_path(bin_dir, f, args.flat), os.X_OK)]
    if missing:
        raise SetupError("not found or not executable: " + ", ".join(str(binary_path(bin_dir, f, args.flat)) for f in missing))
    if args.starts < 15:
        log(f"note: {args.starts} starts per function; use at least 15 for a meaningful p10–p90")

    events = {f: load_event(f, args.event) for f in functions}
    for f in functions:
        if not events[f][2].startswith("/"):
            log(f"note: {f}: {events[f][2]}")

    xray: XRayDaemon | None = None
    if args.sampled:
        global TRACE_SAMPLED
        TRACE_SAMPLED = "1"
        xray = XRayDaemon()
        args.env["AWS_XRAY_DAEMON_ADDRESS"] = xray.address
    workdir = Path(tempfile.mkdtemp(prefix="cold-start-"))
    children: set[subprocess.Popen] = set()
    # DynamoDB Local is a JVM whose JIT compiler threads keep a core busy long after start:
    # on two or more CPUs it gets the first alone, so the function being timed does not
    # share a core with the emulator's compiler (a function on Lambda shares none with
    # DynamoDB). The harness and the functions may use every CPU.
    pin = (not args.store_on_all_cpus and (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None)
    database = harness.DynamoDBLocal(workdir / "dynamodb-local.log", cpus="0" if pin else None)
    proxy: StoreProxy | None = None
    stray: list[str] = []  # Runtime API calls that matched no invocation (diagnostics)
    samples: dict[str, list[dict]] = {f: [] for f in functions}
    started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    try:
        if args.dynamodb_endpoint:
            endpoint = args.dynamodb_endpoint.rstrip("/")
        else:
            log("starting DynamoDB Local (in memory)...")
            database.start()
            endpoint = database.endpoint
        harness.create_tables(endpoint, args.requests_table, args.items_table, args.create_tables)
        warm_dynamodb(endpoint, args.requests_table, args.items_table)
        log(f"DynamoDB at {endpoint}; tables {args.requests_table}, {args.items_table} ready")

        proxy = None if args.no_store_proxy else StoreProxy(endpoint)
        env = base_environment(proxy.endpoint if proxy else endpoint, args)
        log(f"{len(functions)} functions × ({args.warmup} warm-up + {args.starts}) starts, round-robin, "
            "each under a Runtime API emulator of its own")

        rounds = args.warmup + args.starts
        for round_index in range(rounds):
            warmup = round_index < args.warmup
            for function in functions:
                event, is_api, _ = events[function]
                event = with_fresh_idempotency_key(event)
                if args.seed:
                    seed(args.seed, fixture_name(function), endpoint, args)
                sample = run_start(stray, function, binary_path(bin_dir, function, args.flat), event, is_api,
                                   env, args.timeout, workdir, children, proxy)
                sample["round"] = round_index + 1
                sample["warmup"] = warmup
                samples[function].append(sample)
                if not sample["ok"] and not warmup:
                    log(f"  {function} start {round_index + 1 - args.warmup}: {sample['problem'][:300]}")
            label = "warm-up" if warmup else f"{round_index + 1 - args.warmup}/{args.starts}"
            log(f"round {label} done")
        if xray is not None:
            log(f"X-Ray subsegments received: {xray.received} (DynamoDB calls of sampled invocations)")
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:  # SetupError, DynamoDbError too
        log(f"error: {error}")
        if database.process is not None:
            log(f"DynamoDB Local log:\n{database.log_tail()}")
        return 2
    finally:  # also on Ctrl-C or SIGTERM (harness.run: KeyboardInterrupt, then exit 130)
        for proc in list(children):
            try:
                reap(proc)
            except Exception:  # noqa: BLE001 - best effort during cleanup
                pass
        if proxy is not None:
            proxy.close()
        database.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        if stray:
            log(f"note: {len(stray)} Runtime API calls matched no invocation: {stray[:5]}")

    summaries = [summarize(f, samples[f]) for f in functions]
    table, all_pass = report(summaries, args.floor)
    print(table)
    if args.json:
        document = {
            "started_at": started_at,
            "host": {"machine": platform.machine(), "cpus": os.cpu_count(), "kernel": platform.release(),
                     "loadavg_at_end": os.getloadavg()},
            "settings": {
                "bin_dir": str(bin_dir), "flat": args.flat, "starts": args.starts, "warmup": args.warmup,
                "floor": args.floor, "timeout_s": args.timeout, "memory_size_mb": 128,
                "budgets": {"cold_start_ratio_max": COLD_START_BUDGET_RATIO, "peak_rss_mb_max": RSS_BUDGET_MB},
                "order": "round-robin", "dynamodb": "given" if args.dynamodb_endpoint else "DynamoDB Local, in memory",
            },
            "functions": {
                f: {
                    "binary": str(binary_path(bin_dir, f, args.flat)),
                    "binary_bytes": binary_path(bin_dir, f, args.flat).stat().st_size,
                    "event": events[f][2],
                    "api": events[f][1],
                    "summary": next(s for s in summaries if s["function"] == f),
                    "samples": samples[f],
                }
                for f in functions
            },
            "all_pass": all_pass,
        }
        harness.write_json(args.json, document)
    return 1 if args.check and not all_pass else 0


if __name__ == "__main__":
    sys.exit(harness.run(lambda: main(sys.argv[1:])))
