"""What the benchmark (bench/) and reliability (reliability/) scripts share. Python 3.11
standard library only; Linux.

- `DynamoDBLocal`: AWS's DynamoDB Local, started by `scripts/dynamodb-local` (the one launcher,
  also behind `scripts/dynamodb-local.sh`), in memory or on disk, optionally pinned to CPUs;
- `dynamodb()`: one call of DynamoDB's JSON protocol; `create_tables()`: both tables, made by
  the `create-tables` binary from `shared::schema` (the one definition of the tables);
- processes and ports: `free_port`, `port_open`, `wait_for_port`, `stop_process`;
- `log`, `tail`, `percentile`, `random_secret`, `write_json`;
- `run()`: a script's main with the common exit statuses (2: it could not start; 130:
  interrupted, after everything it started was stopped).

Import it from bench/ or reliability/ with
`sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))`.
"""

from __future__ import annotations

import base64
import http.client
import json
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
REGION = "us-east-1"
LAUNCHER = ROOT / "scripts" / "dynamodb-local"


class SetupError(RuntimeError):
    """The run could not start (a missing binary; DynamoDB Local or the gateway did not come up)."""


def deployed_binaries() -> dict[str, str]:
    """Each function of template.yaml and the binary it runs (`BuildProperties.Binary`).

    The function is the resource's name in kebab case without `Function`
    (`CreateRequestFunction`: `create-request`), as tests/tests/api/consistency.rs holds it.
    Each function deploys its own crate's binary, named after it.
    """
    import re

    functions: dict[str, str] = {}
    resource = None
    for line in (ROOT / "template.yaml").read_text().splitlines():
        if re.fullmatch(r"  [A-Za-z0-9]+:", line):
            resource = line.strip().rstrip(":")
        elif resource and resource.endswith("Function") and line.strip().startswith("Binary:"):
            name = re.sub(r"(?<!^)([A-Z])", r"-\1", resource[: -len("Function")]).lower()
            functions[name] = line.split(":", 1)[1].strip()
    return functions


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(main: Callable[[], int]) -> int:
    """Runs a script's `main` and returns the exit status: main's own; 2 when it could not
    start (`SetupError`); 130 when interrupted. SIGTERM, like Ctrl-C, raises
    KeyboardInterrupt, so the `finally` and `with` blocks that stop what the script started
    run first (SIGINT too: a background job of a non-interactive shell starts with it ignored)."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return main()
    except SetupError as error:
        log(f"could not start: {error}")
        return 2
    except KeyboardInterrupt:
        log("interrupted; everything started was stopped")
        return 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# --- ports and processes ---------------------------------------------------------------------


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


def wait_for_port(process: subprocess.Popen, port: int, name: str, log_path: Path, timeout: float) -> None:
    """Until `process` listens on `port`; SetupError (with its log's tail) if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SetupError(f"{name} exited during start-up (code {process.returncode}):\n{tail(log_path)}")
        if port_open(port):
            return
        time.sleep(0.1)
    raise SetupError(f"{name} did not listen on port {port} within {timeout:.0f} s")


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


def tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of a log ("" when unreadable)."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:]).strip()


# --- DynamoDB Local --------------------------------------------------------------------------


class DynamoDBLocal:
    """AWS's DynamoDB Local on `port` (default: a free one), run by `scripts/dynamodb-local`.

    In memory when `db_path` is None, with `-sharedDb`: one database whatever the
    credentials and region, so that the tables one client creates are the ones every other
    client sees. On disk in `db_path` otherwise (`-dbPath … -sharedDb`), so that a restart
    finds the data again. Its output is appended to `log_path`. With `cpus` (a taskset CPU
    list such as "0") the JVM and every thread it starts run on those CPUs only.
    """

    def __init__(self, log_path: Path, port: int | None = None, db_path: Path | None = None, cpus: str | None = None):
        self.log_path = log_path
        self.port = port or free_port()
        self.db_path = db_path
        self.cpus = cpus
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def command(self) -> list[str]:
        # taskset execs the launcher, which execs java: one pid, and every JVM thread inherits the CPUs.
        pin = ["taskset", "-c", self.cpus] if self.cpus else []
        storage = [str(self.db_path)] if self.db_path else ["in-memory", "-sharedDb"]
        return [*pin, str(LAUNCHER), str(self.port), *storage]

    def start(self, timeout: float = 90.0) -> float:
        """Starts it and waits until the port accepts connections; returns the seconds taken."""
        if self.starts == 0:
            # npm install (shown) and the Java check, before the clock and the log start.
            if subprocess.run([str(LAUNCHER), "--prepare"], stdin=subprocess.DEVNULL, timeout=900).returncode != 0:
                raise SetupError("scripts/dynamodb-local --prepare failed (see above)")
        if self.db_path:
            self.db_path.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with open(self.log_path, "ab") as log_file:
            log_file.write(f"\n--- start {self.starts + 1} at {time.ctime()} ---\n".encode())
            log_file.flush()
            # Own session: Ctrl-C reaches the script only, which then stops it itself.
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.db_path or self.log_path.parent,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        wait_for_port(self.process, self.port, "DynamoDB Local", self.log_path, timeout)
        return time.monotonic() - started

    def log_tail(self, lines: int = 20) -> str:
        return tail(self.log_path, lines)

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown hook runs."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        stop_process(self.process, grace=10.0)


class DynamoDbError(RuntimeError):
    """DynamoDB answered an error: `kind` is its type (e.g. ResourceInUseException)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


def dynamodb(endpoint: str, operation: str, payload: dict, timeout: float = 10.0) -> dict:
    """One call of DynamoDB's JSON protocol, on a new connection (no proxy): the answer, or
    DynamoDbError. DynamoDB Local does not verify signatures."""
    host, _, port = endpoint.removeprefix("http://").rstrip("/").partition(":")
    now = time.gmtime()
    connection = http.client.HTTPConnection(host, int(port or 80), timeout=timeout)
    try:
        connection.request("POST", "/", json.dumps(payload).encode(), {
            "X-Amz-Target": f"DynamoDB_20120810.{operation}",
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", now),
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential=local/{time.strftime('%Y%m%d', now)}/{REGION}/dynamodb/aws4_request, "
                "SignedHeaders=host;x-amz-date;x-amz-target, Signature=0"
            ),
        })
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    if response.status == 200:
        return json.loads(raw or b"{}")
    try:
        detail = json.loads(raw)
    except ValueError:
        raise DynamoDbError(f"HTTP {response.status}", raw.decode(errors="replace")) from None
    kind = str(detail.get("__type", f"HTTP {response.status}")).rsplit("#", 1)[-1]
    raise DynamoDbError(kind, str(detail.get("message") or detail.get("Message") or detail))


def sdk_environment(endpoint: str) -> dict[str, str]:
    """The AWS SDK's environment for a local DynamoDB: its endpoint, a region, placeholder
    credentials, and nothing read from this machine's AWS configuration."""
    return {
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def built_binary(name: str, build: str) -> Path:
    """The newest build of a workspace binary in target/{bench-tools,release,debug}/."""
    built = [p for p in (ROOT / "target" / d / name for d in ("bench-tools", "release", "debug")) if os.access(p, os.X_OK)]
    if not built:
        raise SetupError(f"{name} is not built: run `{build}` first")
    return max(built, key=lambda p: p.stat().st_mtime)


def create_tables(endpoint: str, requests_table: str, items_table: str, binary: Path | None = None) -> None:
    """Both tables (keys, indexes, TTL) as `shared::schema` defines them, by the create-tables
    binary (local/src/bin/create-tables.rs); existing tables are left as they are."""
    binary = binary or built_binary("create-tables", "cargo build -p local-gateway --bin create-tables")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **sdk_environment(endpoint),
        "REQUESTS_TABLE": requests_table,
        "ITEMS_TABLE": items_table,
    }
    done = subprocess.run([str(binary)], env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    if done.returncode != 0:
        raise SetupError(f"{binary} failed (exit {done.returncode}): {done.stderr.decode(errors='replace')[-800:]}")


# --- figures ---------------------------------------------------------------------------------


def percentile(values: list[float], p: float, nearest_rank: bool = False) -> float | None:
    """The `p`th percentile (0-100) of `values`, in any order; None when there are none.

    By default interpolated linearly between the closest ranks (numpy's default: the
    benchmarks' figures). With `nearest_rank`, the smallest value with at least p % of the
    values at or below it (the reliability runs' latency figures)."""
    if not values:
        return None
    ordered = sorted(values)
    if nearest_rank:
        rank = max(1, math.ceil(p * len(ordered) / 100))
        return ordered[min(rank, len(ordered)) - 1]
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def random_secret() -> str:
    """Base64 of 32 random bytes (a CURSOR_SECRET or an HS256 key)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def write_json(path: str | Path | None, document: dict) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(document, indent=2) + "\n")
        log(f"figures written to {path}")
