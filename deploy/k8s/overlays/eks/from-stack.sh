#!/usr/bin/env bash
# Writes tables.env and the cursor key's line of server.env from the SAM stack's outputs,
# so the pods use the tables and the key the functions use (one set of data).
#   deploy/k8s/overlays/eks/from-stack.sh STACK_NAME [REGION]
set -euo pipefail
stack=${1:?usage: from-stack.sh SAM_STACK_NAME [REGION]}
region=${2:-${AWS_REGION:-$(aws configure get region)}}
dir=$(cd "$(dirname "$0")" && pwd)
output() {
  aws cloudformation describe-stacks --region "$region" --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
cat >"$dir/tables.env" <<ENV
REQUESTS_TABLE=$(output SupervisorRequestsTableName)
ITEMS_TABLE=$(output PreferredItemsTableName)
EVENTS_TABLE=$(output SupervisorRequestEventsTableName)
CONNECTIONS_TABLE=$(output WebSocketConnectionsTableName)
REQUEST_TIMEOUT_SECONDS=$(output RequestTimeoutSeconds)
HISTORY_RETENTION_DAYS=$(output HistoryRetentionDays)
AWS_REGION=$region
RUST_LOG=info
AWS_LAMBDA_LOG_FORMAT=JSON
ENV
secret=$(output CursorSecretArn)
sed -i "s|^CURSOR_SECRET_ARN=.*|CURSOR_SECRET_ARN=$secret|" "$dir/server.env"
echo "wrote $dir/tables.env and CURSOR_SECRET_ARN in $dir/server.env from stack $stack ($region);"
echo "set the JWT_* lines of server.env to the SAM stack's Jwt* parameters."
