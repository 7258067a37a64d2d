#!/usr/bin/env python3
"""Does DynamoDB Local keep a write it has acknowledged when it is killed right after?

No gateway, no service code: this talks to DynamoDB Local directly (its JSON protocol over
HTTP; DynamoDB Local does not check signatures). Each round writes one item — a
`TransactWriteItems` of two puts (`--op transact`, what the service's creates use) or one
`PutItem` (`--op put`) — waits for the 200, waits `--delay-ms`, sends SIGKILL to the java
process, restarts it on the same `-dbPath`, and reads the items back with consistent reads.

Prints how many acknowledged writes were lost. Exit status 1 if any was, 2 if the probe could
not run, 130 when interrupted. Bounded: `--rounds` rounds (default 20), each a few seconds (one
JVM start). Its own temp dir, removed at the end.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import harness  # noqa: E402
from harness import dynamodb, log  # noqa: E402

TABLE = "probe-items"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--op", choices=["transact", "put"], default="transact")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--delay-ms", type=float, default=0.0, help="wait this long after the 200 before SIGKILL")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ddb-ack-probe-"))
    ddb = harness.DynamoDBLocal(tmp / "dynamodb-local.log", db_path=tmp / "db")
    lost = []
    try:
        ddb.start()
        dynamodb(ddb.endpoint, "CreateTable", {
            "TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        })
        for n in range(args.rounds):
            keys = [f"item-{n}-a", f"item-{n}-b"] if args.op == "transact" else [f"item-{n}"]
            if args.op == "transact":
                dynamodb(ddb.endpoint, "TransactWriteItems", {"TransactItems": [
                    {"Put": {"TableName": TABLE, "Item": {"pk": {"S": k}}, "ConditionExpression": "attribute_not_exists(pk)"}}
                    for k in keys
                ]}, timeout=15)
            else:
                dynamodb(ddb.endpoint, "PutItem", {"TableName": TABLE, "Item": {"pk": {"S": keys[0]}}}, timeout=15)
            time.sleep(args.delay_ms / 1000)
            ddb.kill()
            ddb.start()
            missing = [
                k for k in keys
                if "Item" not in dynamodb(ddb.endpoint, "GetItem", {
                    "TableName": TABLE, "Key": {"pk": {"S": k}}, "ConsistentRead": True,
                }, timeout=15)
            ]
            if missing:
                lost.append(n)
            log(f"round {n + 1}/{args.rounds}: {'LOST ' + ', '.join(missing) if missing else 'kept'}")
    except harness.DynamoDbError as error:  # DynamoDB Local refused a call: the probe could not run
        raise harness.SetupError(str(error)) from None
    finally:
        ddb.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{args.op}, SIGKILL {args.delay_ms:g} ms after the 200: {len(lost)} of {args.rounds} acknowledged writes lost"
          + (f" (rounds {', '.join(str(n + 1) for n in lost)})" if lost else ""))
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(harness.run(main))
