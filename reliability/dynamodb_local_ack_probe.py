#!/usr/bin/env python3
"""Does DynamoDB Local keep a write it has acknowledged when it is killed right after?

No gateway, no service code: this talks to DynamoDB Local directly (its JSON protocol over
HTTP; DynamoDB Local does not check signatures). Each round writes one item — a
`TransactWriteItems` of two puts (`--op transact`, what the service's creates use) or one
`PutItem` (`--op put`) — waits for the 200, waits `--delay-ms`, sends SIGKILL to the java
process, restarts it on the same `-dbPath`, and reads the items back with consistent reads.

Prints how many acknowledged writes were lost. Exit status 1 if any was. Bounded: `--rounds`
rounds (default 20), each a few seconds (one JVM start). Its own temp dir, removed at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from common import log  # noqa: E402

TABLE = "probe-items"


def call(port: int, target: str, body: dict):
    connection = http.client.HTTPConnection(common.LOOPBACK, port, timeout=15)
    try:
        connection.request(
            "POST", "/", json.dumps(body),
            {
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": f"DynamoDB_20120810.{target}",
                "X-Amz-Date": "20260101T000000Z",
                "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
                                 "SignedHeaders=host;x-amz-date, Signature=00",
            },
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--op", choices=["transact", "put"], default="transact")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--delay-ms", type=float, default=0.0, help="wait this long after the 200 before SIGKILL")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ddb-ack-probe-"))
    ddb = common.DynamoDBLocal(common.free_port(), tmp / "db", tmp / "dynamodb-local.log")
    lost = []
    try:
        ddb.start()
        status, body = call(ddb.port, "CreateTable", {
            "TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        })
        if status != 200:
            raise common.SetupError(f"CreateTable: {status} {body}")
        for n in range(args.rounds):
            keys = [f"item-{n}-a", f"item-{n}-b"] if args.op == "transact" else [f"item-{n}"]
            if args.op == "transact":
                status, body = call(ddb.port, "TransactWriteItems", {"TransactItems": [
                    {"Put": {"TableName": TABLE, "Item": {"pk": {"S": k}}, "ConditionExpression": "attribute_not_exists(pk)"}}
                    for k in keys
                ]})
            else:
                status, body = call(ddb.port, "PutItem", {"TableName": TABLE, "Item": {"pk": {"S": keys[0]}}})
            if status != 200:
                raise common.SetupError(f"write: {status} {body}")
            time.sleep(args.delay_ms / 1000)
            ddb.kill()
            ddb.start()
            missing = [
                k for k in keys
                if "Item" not in call(ddb.port, "GetItem", {"TableName": TABLE, "Key": {"pk": {"S": k}}, "ConsistentRead": True})[1]
            ]
            if missing:
                lost.append(n)
            log(f"round {n + 1}/{args.rounds}: {'LOST ' + ', '.join(missing) if missing else 'kept'}")
    except common.SetupError as error:
        log(f"could not run: {error}")
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        ddb.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{args.op}, SIGKILL {args.delay_ms:g} ms after the 200: {len(lost)} of {args.rounds} acknowledged writes lost"
          + (f" (rounds {', '.join(str(n + 1) for n in lost)})" if lost else ""))
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
