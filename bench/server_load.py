#!/usr/bin/env python3
"""The long-running server under load, beside the local gateway, in one run.

For each of the two processes (`store-server`, and `local-gateway`: API Gateway, the Lambda
authorizer and the functions' adapter in one process) on the same DynamoDB Local:

- time from process start to a 200 from `/readyz` (the server) or the first answered request
  (the gateway), median of `--starts` starts;
- RSS idle (after ready) and under load (`VmHWM` after the load);
- per route, with wrk at a fixed concurrency for a fixed time: throughput and latency p50/p99,
  and the process's own CPU time per request (utime + stime from /proc over the run,
  divided by the requests wrk counted): capacity per vCPU, independent of DynamoDB Local's
  speed.

Usage (from the repository root, binaries built first):

    python3 bench/server_load.py --server target/container/store-server \
        --gateway target/bench-tools/local-gateway --seconds 10 --connections 16

Needs wrk (Debian: apt-get install wrk), Java 17 (DynamoDB Local). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def request(url: str, token: str, method: str = "GET", body: bytes | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, method=method, data=body)
    req.add_header("authorization", f"Bearer {token}")
    req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wrk(url: str, token: str, seconds: int, connections: int, script: Path | None) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
               "-H", f"authorization: Bearer {token}", "-H", "content-type: application/json"]
    if script:
        command += ["-s", str(script)]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout

    def millis(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests": requests,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": millis("50"),
        "p99": millis("99"),
        "errors": int(non2xx.group(1)) if non2xx else 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", type=Path, required=True)
    parser.add_argument("--gateway", type=Path, required=True)
    parser.add_argument("--mint-token", type=Path, default=ROOT / "target/debug/mint-token")
    parser.add_argument("--create-tables", type=Path, default=ROOT / "target/debug/create-tables")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()

    store_port = free_port()
    dynamodb = subprocess.Popen([str(ROOT / "scripts/dynamodb-local"), str(store_port), "in-memory"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    processes: list[subprocess.Popen] = [dynamodb]
    try:
        wait_port(store_port)
        secret = base64.b64encode(os.urandom(32)).decode()
        env = {
            "PATH": os.environ["PATH"],
            "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{store_port}",
            "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
            "REQUESTS_TABLE": "supervisor-requests", "ITEMS_TABLE": "preferred-items",
            "EVENTS_TABLE": "supervisor-request-events", "CONNECTIONS_TABLE": "websocket-connections",
            "JWT_ISSUER": "http://bench", "JWT_AUDIENCE": "store-services", "JWT_HS256_SECRET": secret,
            "CURSOR_SECRET": secret, "AWS_LAMBDA_LOG_LEVEL": "warn", "RUST_LOG": "warn",
            "RATE_LIMIT_PER_SECOND": "0", "MAX_CONCURRENT_REQUESTS": "1024",
        }
        subprocess.run([str(args.create_tables)], env=env, check=True, capture_output=True)

        def token(role: str) -> str:
            return subprocess.run([str(args.mint_token), "--hs256", "--role", role, "--stores", "store-1",
                                   "--sub", f"bench-{role}"], env=env, capture_output=True, text=True,
                                  check=True).stdout.strip().splitlines()[-1]

        associate = token("associate")
        rows = []
        for name, binary, probe in (("store-server", args.server, "/readyz"),
                                    ("local-gateway", args.gateway, None)):
            # Time to ready: fresh processes, the median.
            readies = []
            for _ in range(args.starts):
                port = free_port()
                started = time.monotonic()
                process = subprocess.Popen([str(binary)], env=dict(env, PORT=str(port)),
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                url = f"http://127.0.0.1:{port}"
                while True:
                    try:
                        status, _ = (request(url + probe, associate) if probe else
                                     request(url + "/stores/store-1/supervisor-requests?limit=1", associate))
                        if status == 200:
                            break
                    except OSError:
                        pass
                    time.sleep(0.002)
                readies.append((time.monotonic() - started) * 1000)
                process.terminate()
                process.wait()
            port = free_port()
            process = subprocess.Popen([str(binary)], env=dict(env, PORT=str(port)),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            processes.append(process)
            base = f"http://127.0.0.1:{port}"
            wait_port(port)
            time.sleep(0.5)
            idle = rss_mb(process.pid, "VmRSS")
            ids = []
            for i in range(50):
                status, body = request(base + "/stores/store-1/supervisor-requests", associate, "POST",
                                       json.dumps({"requestType": "VOID", "details": f"seed {i}"}).encode())
                assert status == 201, (status, body)
                ids.append(json.loads(body)["requestId"])
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
                script.write('wrk.method = "POST"\nwrk.body = \'{"requestType":"VOID","details":"load"}\'\n')
            routes = [
                ("GET one request", f"{base}/stores/store-1/supervisor-requests/{ids[0]}", None),
                ("GET a page of 25", f"{base}/stores/store-1/supervisor-requests?limit=25", None),
                ("POST create", f"{base}/stores/store-1/supervisor-requests", Path(script.name)),
            ]
            for label, url, lua in routes:
                # Discarded: DynamoDB Local's JIT and both processes' pools warm up here, so
                # neither process is measured on a colder store than the other.
                wrk(url, associate, max(2, args.seconds // 3), args.connections, lua)
                before = cpu_seconds(process.pid)
                figures = wrk(url, associate, args.seconds, args.connections, lua)
                cpu = cpu_seconds(process.pid) - before
                rows.append((name, label, figures, cpu / max(figures["requests"], 1) * 1e6))
            peak = rss_mb(process.pid, "VmHWM")
            rows.append((name, "ready", {"ready_ms": statistics.median(readies), "idle": idle, "peak": peak}, 0))
            process.terminate()
            process.wait()
        print(f"wrk: 2 threads, {args.connections} connections, {args.seconds} s per route; DynamoDB Local "
              f"in memory on the same 2 cores.\n")
        print("| process | route | requests/s | p50 ms | p99 ms | non-2xx | own CPU µs per request |")
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
        for name, label, figures, cpu in rows:
            if label != "ready":
                print(f"| {name} | {label} | {figures['rps']:.0f} | {figures['p50']:.2f} | {figures['p99']:.2f} "
                      f"| {figures['errors']} | {cpu:.0f} |")
        print("\n| process | start to ready, median ms | RSS idle MB | RSS peak under load MB |")
        print("| --- | ---: | ---: | ---: |")
        for name, label, figures, _ in rows:
            if label == "ready":
                print(f"| {name} | {figures['ready_ms']:.1f} | {figures['idle']:.1f} | {figures['peak']:.1f} |")
        return 0
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    sys.exit(main())
