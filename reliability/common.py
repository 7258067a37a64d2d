"""What the reliability runs share beyond scripts/harness.py (Python 3.11 standard library only).

- `Stack`: DynamoDB Local (`harness.DynamoDBLocal`: the launcher `scripts/dynamodb-local`,
  data on disk in a fresh temp dir) and the prebuilt `local-gateway` in front of it, each on
  a port the kernel picked, with fresh secrets; mints tokens with the prebuilt `mint-token`;
  stops both and removes the temp dir on exit, also on Ctrl-C or SIGTERM (`harness.run`).
- `Http`: one keep-alive HTTP/1.1 connection to the gateway, per thread, timing each call.
- figures: latency summaries, machine description; the common arguments.

Nothing here builds anything: run `cargo build -p local-gateway --bins` first, or point
`--bin-dir` at a directory holding `local-gateway` and `mint-token`.
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from harness import (  # noqa: E402
    LOOPBACK,
    ROOT,
    DynamoDBLocal,
    SetupError,
    free_port,
    log,
    percentile,
    random_secret,
    sdk_environment,
    stop_process,
    wait_for_port,
)

JWT_ISSUER = "http://127.0.0.1/reliability"
JWT_AUDIENCE = "store-services"


def add_common_arguments(parser) -> None:
    parser.add_argument(
        "--bin-dir",
        default=str(ROOT / "target" / "debug"),
        help="directory holding the prebuilt local-gateway and mint-token (default: target/debug)",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    parser.add_argument(
        "--keep-logs",
        metavar="DIR",
        help="copy the gateway and DynamoDB Local logs to DIR at the end "
        "(they are copied to a fresh /tmp dir anyway when a check fails)",
    )
    parser.add_argument(
        "--log-level",
        default="warn",
        help="gateway log level (AWS_LAMBDA_LOG_LEVEL; default warn: errors and store warnings)",
    )


# --- the gateway and tokens ------------------------------------------------------------------


class Gateway:
    def __init__(self, bin_dir: Path, env: dict[str, str], port: int, log_path: Path):
        self.binary = bin_dir / "local-gateway"
        self.env = env
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> float:
        started = time.monotonic()
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                [str(self.binary)],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,  # the banner (it prints it once it listens)
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_port(self.process, self.port, "local-gateway", self.log_path, timeout)
        return time.monotonic() - started

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            # The gateway stops cleanly on SIGINT (its Ctrl-C handler).
            try:
                self.process.send_signal(signal.SIGINT)
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        stop_process(self.process)


class Stack:
    """DynamoDB Local + local-gateway on fresh ports, a fresh temp dir and fresh secrets.

    Use as a context manager: everything it started is stopped, and the temp dir removed, on
    exit (normal, exception, Ctrl-C, or SIGTERM under `harness.run`).
    """

    def __init__(self, bin_dir: str, log_level: str = "warn", name: str = "reliability", witness: bool = False):
        self.bin_dir = Path(bin_dir).resolve()
        for binary in ("local-gateway", "mint-token"):
            if not os.access(self.bin_dir / binary, os.X_OK):
                raise SetupError(
                    f"{self.bin_dir / binary} not found: run `cargo build -p local-gateway --bins` "
                    "first, or pass --bin-dir"
                )
        self.log_level = log_level
        self.name = name
        self.tmp: Path | None = None
        self.dynamodb: DynamoDBLocal | None = None
        self.gateway: Gateway | None = None
        self.use_witness = witness
        self.witness = None  # witness.WitnessProxy between the gateway and DynamoDB Local
        self.env: dict[str, str] = {}

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.gateway.port}"

    def __enter__(self) -> "Stack":
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{self.name}-"))
        self.dynamodb = DynamoDBLocal(self.tmp / "dynamodb-local.log", db_path=self.tmp / "dynamodb")
        ddb_port = self.dynamodb.port
        seconds = self.dynamodb.start()
        log(f"DynamoDB Local up on port {ddb_port} in {seconds:.1f} s (pid {self.dynamodb.pid}, dbPath {self.dynamodb.db_path})")

        store_port = ddb_port
        if self.use_witness:
            from witness import WitnessProxy

            self.witness = WitnessProxy(free_port(), ddb_port)
            self.witness.start()
            store_port = self.witness.listen_port
            log(f"witness relay on port {store_port} -> DynamoDB Local {ddb_port}")

        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("AWS_") and not key.startswith("JWT_")
        }
        env.update(sdk_environment(f"http://{LOOPBACK}:{store_port}"))
        env.update(
            {
                "REQUESTS_TABLE": "supervisor-requests",
                "ITEMS_TABLE": "preferred-items",
                "CURSOR_SECRET": random_secret(),
                "JWT_HS256_SECRET": random_secret(),
                "JWT_ISSUER": JWT_ISSUER,
                "JWT_AUDIENCE": JWT_AUDIENCE,
                "AWS_LAMBDA_LOG_LEVEL": self.log_level,
            }
        )
        env.pop("JWT_JWKS", None)
        port = free_port()
        env["PORT"] = str(port)
        self.env = env
        self.gateway = Gateway(self.bin_dir, env, port, self.tmp / "gateway.log")
        seconds = self.gateway.start()
        log(f"local-gateway up on port {port} in {seconds:.1f} s (pid {self.gateway.process.pid})")

    def token(self, role: str, stores: list[str], sub: str, ttl: int = 3600) -> str:
        result = subprocess.run(
            [
                str(self.bin_dir / "mint-token"),
                "--role", role,
                "--stores", ",".join(stores),
                "--sub", sub,
                "--ttl", str(ttl),
                "--hs256",  # the stack's gateway is configured with JWT_HS256_SECRET
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if result.returncode != 0:
            raise SetupError(f"mint-token failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def save_logs(self, directory: str | Path) -> Path | None:
        if self.tmp is None:
            return None
        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        for name in ("gateway.log", "dynamodb-local.log"):
            source = self.tmp / name
            if source.exists():
                shutil.copy2(source, target / name)
        return target

    def close(self) -> None:
        try:
            if self.gateway:
                self.gateway.stop()
        finally:
            try:
                if self.witness:
                    self.witness.close()
                if self.dynamodb:
                    self.dynamodb.stop()
            finally:
                if self.tmp:
                    shutil.rmtree(self.tmp, ignore_errors=True)
                    self.tmp = None

    def __exit__(self, *exc) -> None:
        self.close()


# --- HTTP ------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int | None  # None: transport error (no HTTP answer)
    headers: dict[str, str]
    body: bytes
    seconds: float
    error: str | None = None

    def json(self):
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None


class Http:
    """One keep-alive connection to the gateway (use one per thread)."""

    def __init__(self, port: int, token: str | None = None, timeout: float = 15.0):
        self.port = port
        self.token = token
        self.timeout = timeout
        self.connection: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        body=None,
        headers: dict[str, str] | None = None,
        token: str | None = None,
    ) -> Reply:
        all_headers = {"Accept": "application/json"}
        bearer = token or self.token
        if bearer:
            all_headers["Authorization"] = f"Bearer {bearer}"
        payload = None
        if body is not None:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        if headers:
            all_headers.update(headers)
        started = time.monotonic()
        try:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=self.timeout)
            self.connection.request(method, path, body=payload, headers=all_headers)
            response = self.connection.getresponse()
            data = response.read()
            reply_headers = {k.lower(): v for k, v in response.getheaders()}
            if response.will_close:
                self.close()
            return Reply(response.status, reply_headers, data, time.monotonic() - started)
        except (OSError, http.client.HTTPException) as error:
            self.close()
            return Reply(None, {}, b"", time.monotonic() - started, f"{type(error).__name__}: {error}")

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except OSError:
                pass
            self.connection = None


# --- figures ---------------------------------------------------------------------------------


def latency_summary(seconds: list[float]) -> dict:
    """Count, nearest-rank p50/p95/p99 and max, in ms."""
    ms = lambda v: None if v is None else round(v * 1000, 1)  # noqa: E731
    return {
        "count": len(seconds),
        **{f"p{p}_ms": ms(percentile(seconds, p, nearest_rank=True)) for p in (50, 95, 99)},
        "max_ms": ms(max(seconds, default=None)),
    }


def machine() -> dict:
    memory_kib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "nproc": os.cpu_count(),
        "ram_gib": round(memory_kib / 1024 / 1024, 1) if memory_kib else None,
        "loadavg_at_start": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def save_logs_on_failure(stack: Stack, keep_logs: str | None, failed: bool) -> None:
    target = keep_logs
    if failed and not target:
        target = tempfile.mkdtemp(prefix=f"{stack.name}-logs-")
    if target:
        saved = stack.save_logs(target)
        if saved:
            log(f"gateway and DynamoDB Local logs copied to {saved}")
