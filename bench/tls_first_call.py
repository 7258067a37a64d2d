#!/usr/bin/env python3
"""What TLS adds to a function's first DynamoDB call: the price of the handshake.

DynamoDB Local speaks plain HTTP, DynamoDB speaks HTTPS. This puts a TLS relay in front of
DynamoDB Local, with a certificate chain shaped like an AWS endpoint's (RSA 2048 leaf,
intermediate, root), and runs `first-call` (bench/src/bin/first-call.rs: the functions' own
SDK configuration and HTTPS client, rustls on aws-lc) as fresh processes, alternately over
the relay without TLS and with it. Each process times its first call (connection, handshake,
the SDK's first-call work) and its second (all reused), in wall time and in its own CPU
time. The handshake's price is the difference between the two relays' first calls; its CPU
part is what a throttled Lambda (128 MB is about a fourteenth of a vCPU) stretches.

    python3 bench/tls_first_call.py [--runs 30] [--bin target/release/first-call]

Needs `cargo build --release -p benchmarks --bin first-call`, openssl and Java 17 (DynamoDB
Local, by scripts/dynamodb-local). Only the Python standard library and scripts/harness.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import harness  # noqa: E402
from harness import ROOT  # noqa: E402


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A root, an intermediate and a `localhost` leaf, RSA 2048: (root, chain, leaf key)."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    def extensions(name: str, lines: list[str]) -> str:
        (directory / name).write_text("\n".join(lines) + "\n")
        return name

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "root.key", "-out", "root.pem",
            "-days", "2", "-subj", "/CN=bench root",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for name, issuer, subject, ext in (
        ("int", "root", "/CN=bench intermediate",
         ["basicConstraints=critical,CA:TRUE,pathlen:0", "keyUsage=critical,keyCertSign,cRLSign"]),
        ("leaf", "int", "/CN=localhost",
         ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment",
          "extendedKeyUsage=serverAuth", "subjectAltName=DNS:localhost,IP:127.0.0.1"]),
    ):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", subject)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{issuer}.pem", "-CAkey", f"{issuer}.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "2",
                "-extfile", extensions(f"{name}.ext", ext))
    chain = directory / "chain.pem"
    chain.write_text((directory / "leaf.pem").read_text() + (directory / "int.pem").read_text())
    return directory / "root.pem", chain, directory / "leaf.key"


async def start_relay(upstream: str, context: ssl.SSLContext | None) -> int:
    """A relay from a loopback port (TLS when `context` is given) to `upstream`; its port."""
    host, _, port = upstream.removeprefix("http://").partition(":")

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    return server.sockets[0].getsockname()[1]


async def probe(binary: Path, endpoint: str, root: Path) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        # Both modes load the same trust store at init; only the first call differs.
        "SSL_CERT_FILE": str(root),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    proc = await asyncio.create_subprocess_exec(
        str(binary), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"first-call over {endpoint} failed:\n{err.decode(errors='replace')}")
    return json.loads(out)


async def measure(args: argparse.Namespace, database: str, workdir: Path) -> list[str]:
    root, chain, key = make_certificates(workdir)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain, key)
    plain = f"http://localhost:{await start_relay(database, None)}"
    tls = f"https://localhost:{await start_relay(database, context)}"
    samples: dict[str, list[dict]] = {"plain HTTP": [], "TLS": []}
    for run in range(args.warmup + args.runs):
        for mode, endpoint in (("plain HTTP", plain), ("TLS", tls)):  # interleaved
            sample = await probe(args.bin, endpoint, root)
            if run >= args.warmup:
                samples[mode].append(sample)

    def median(mode: str, field: str) -> float:
        return statistics.median(s[field] for s in samples[mode])

    lines = [
        "| connection | first call wall ms | first call CPU ms | second call wall ms | second call CPU ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for mode in samples:
        lines.append(
            f"| {mode} | {median(mode, 'first_wall_ms'):.2f} | {median(mode, 'first_cpu_ms'):.2f} "
            f"| {median(mode, 'second_wall_ms'):.2f} | {median(mode, 'second_cpu_ms'):.2f} |")
    lines.append(
        f"| TLS handshake (difference of the first calls) "
        f"| {median('TLS', 'first_wall_ms') - median('plain HTTP', 'first_wall_ms'):.2f} "
        f"| {median('TLS', 'first_cpu_ms') - median('plain HTTP', 'first_cpu_ms'):.2f} | | |")
    lines.append("")
    lines.append(f"Medians of {args.runs} processes per mode (after {args.warmup} discarded), interleaved; "
                 "CPU is the probe process's own (user + system), the relay's and DynamoDB Local's excluded.")
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="processes per mode (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="discarded processes per mode first (default 3)")
    parser.add_argument("--bin", type=Path, default=ROOT / "target" / "release" / "first-call")
    args = parser.parse_args(argv)
    if not args.bin.is_file():
        raise harness.SetupError(f"{args.bin} not found: cargo build --release -p benchmarks --bin first-call")
    with tempfile.TemporaryDirectory(prefix="tls-first-call-") as workdir:
        database = harness.DynamoDBLocal(Path(workdir) / "dynamodb-local.log")
        try:
            database.start()
            print("\n".join(asyncio.run(measure(args, database.endpoint, Path(workdir)))))
        finally:
            database.stop()
    return 0


if __name__ == "__main__":
    sys.exit(harness.run(lambda: main(sys.argv[1:])))
