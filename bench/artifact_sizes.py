#!/usr/bin/env python3
"""Deployment artifact sizes of the Lambda binaries, against a budget of 4 MB zipped (issue #23:
Lambda's code download is not where 3 vs 4 MB shows; cold start is).

Reads `<lambda-dir>/<function>/bootstrap` and `<lambda-dir>/<function>/bootstrap.zip` as
`scripts/build-lambdas` leaves them (cargo lambda build, binary then zip). A function with
a bootstrap but no zip is zipped here, the way cargo lambda does it (one `bootstrap` entry,
mode 0755, deflate level 9), into a temporary file that is measured and removed.

Usage (from the repository root):

    python3 bench/artifact_sizes.py                                   # target/lambda-arm64
    python3 bench/artifact_sizes.py --lambda-dir target/lambda-x86_64 --json bench/sizes.json
    python3 bench/artifact_sizes.py get-request authorizer            # only these

MB = 2^20 bytes. Exit status: 0 once the table is printed (so that a `set -e` pipeline
such as scripts/bench goes on); with `--check`, 1 when a function fails or has neither file;
2 when nothing was found.

Only the Python 3.11 standard library.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ZIP_BUDGET_MB = 4.0
MB = 1 << 20


def zip_bootstrap(bootstrap: Path) -> int:
    """Size of a zip holding `bootstrap` alone (deflate level 9), built in a temp file."""
    fd, name = tempfile.mkstemp(prefix="bootstrap-", suffix=".zip")
    os.close(fd)
    try:
        with zipfile.ZipFile(name, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            info = zipfile.ZipInfo("bootstrap", date_time=time.localtime(bootstrap.stat().st_mtime)[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100755 << 16)  # regular file, rwxr-xr-x: Lambda execs it
            info.create_system = 3  # Unix, so the mode above is honoured
            info.file_size = bootstrap.stat().st_size  # lets zipfile choose zip64 only if needed
            with open(bootstrap, "rb") as source, archive.open(info, "w") as target:
                while chunk := source.read(1 << 20):
                    target.write(chunk)
        return os.path.getsize(name)
    finally:
        os.unlink(name)


def zip_problems(zip_path: Path, bootstrap: Path | None) -> list[str]:
    """Does the zip look deployable, and does it hold the bootstrap next to it?"""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            entries = {info.filename: info for info in archive.infolist()}
    except (zipfile.BadZipFile, OSError) as error:
        return [f"unreadable zip: {error}"]
    entry = entries.get("bootstrap")
    if entry is None:
        return [f"no `bootstrap` entry in the zip (has: {', '.join(sorted(entries)) or 'nothing'})"]
    problems = []
    mode = entry.external_attr >> 16
    if mode and not mode & 0o111:
        problems.append("bootstrap in the zip is not executable")
    if bootstrap is not None and bootstrap.is_file() and entry.file_size != bootstrap.stat().st_size:
        problems.append(
            f"stale zip? its bootstrap is {entry.file_size:,} bytes, the bootstrap beside it {bootstrap.stat().st_size:,}"
        )
    return problems


def measure(lambda_dir: Path, function: str) -> dict:
    directory = lambda_dir / function
    bootstrap = directory / "bootstrap"
    zip_path = directory / "bootstrap.zip"
    row: dict = {"function": function, "bootstrap_bytes": None, "zip_bytes": None, "zip_source": None, "notes": []}
    if bootstrap.is_file():
        row["bootstrap_bytes"] = bootstrap.stat().st_size
    if zip_path.is_file():
        row["zip_bytes"] = zip_path.stat().st_size
        row["zip_source"] = str(zip_path)
        row["notes"] += zip_problems(zip_path, bootstrap if bootstrap.is_file() else None)
    elif bootstrap.is_file():
        row["zip_bytes"] = zip_bootstrap(bootstrap)
        row["zip_source"] = "zipped here (deflate 9)"
    else:
        row["notes"].append(f"neither {bootstrap} nor {zip_path}")
    row["pass"] = row["zip_bytes"] is not None and row["zip_bytes"] <= ZIP_BUDGET_MB * MB
    return row


def size(value: int | None) -> str:
    return "—" if value is None else f"{value:,} ({value / MB:.2f})"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=f"Lambda artifact sizes against ≤ {ZIP_BUDGET_MB:g} MB zipped.")
    parser.add_argument("functions", nargs="*", help="binaries to measure (default: every <lambda-dir>/<binary>/)")
    parser.add_argument("--lambda-dir", type=Path, default=ROOT / "target" / "lambda-arm64",
                        help="cargo lambda's output: <function>/bootstrap[.zip] (default: target/lambda-arm64)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the measurements here")
    parser.add_argument("--check", action="store_true", help="exit 1 when a function fails the budget")
    args = parser.parse_args(argv)

    lambda_dir = args.lambda_dir.resolve()
    if args.functions:
        functions = list(dict.fromkeys(args.functions))
    elif lambda_dir.is_dir():
        functions = sorted(
            p.name for p in lambda_dir.iterdir()
            if p.is_dir() and ((p / "bootstrap").is_file() or (p / "bootstrap.zip").is_file())
        )
    else:
        functions = []
    if not functions:
        print(f"no <function>/bootstrap or <function>/bootstrap.zip under {lambda_dir}; "
              "build with scripts/build-lambdas", file=sys.stderr)
        return 2

    rows = [measure(lambda_dir, f) for f in functions]
    zipped_here = any(r["zip_source"] == "zipped here (deflate 9)" for r in rows)
    print(f"| function | bootstrap bytes (MB) | zip bytes (MB) | ≤ {ZIP_BUDGET_MB:g} MB zipped |")
    print("| --- | ---: | ---: | --- |")
    for r in rows:
        mark = "*" if r["zip_source"] == "zipped here (deflate 9)" else ""
        print(f"| {r['function']} | {size(r['bootstrap_bytes'])} | {size(r['zip_bytes'])}{mark} | {'PASS' if r['pass'] else 'FAIL'} |")
    print()
    print(f"{lambda_dir}; MB = 2^20 bytes; budget: bootstrap.zip ≤ {ZIP_BUDGET_MB:g} MB.")
    if zipped_here:
        print("\\* no bootstrap.zip: the bootstrap was zipped here (one entry, deflate level 9) and that zip measured.")
    notes = [(r["function"], n) for r in rows for n in r["notes"]]
    if notes:
        print()
        for function, note in notes:
            print(f"- {function}: {note}")
    # The binaries the template deploys (each function's own).
    sys.path.insert(0, str(ROOT / "scripts"))
    import harness

    known = set(harness.deployed_binaries().values())
    absent = sorted(known - set(functions)) if not args.functions else []
    if absent and lambda_dir.is_dir():
        print(f"\nnot in {lambda_dir.name}: {', '.join(absent)}", file=sys.stderr)

    all_pass = all(r["pass"] for r in rows)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "lambda_dir": str(lambda_dir),
            "budget_zip_mb": ZIP_BUDGET_MB,
            "mb": MB,
            "functions": rows,
            "all_pass": all_pass,
        }, indent=2) + "\n")
        print(f"json: {args.json}", file=sys.stderr)
    return 1 if args.check and not all_pass else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
