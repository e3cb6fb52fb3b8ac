#!/usr/bin/env bash
# The API from end to end against `make dev` (run it in another terminal first):
#   docs/examples/api_walkthrough.sh
# It makes a key (flask create-api-key), registers a webhook endpoint for broadcast.completed on a
# local receiver that verifies signatures with the standardwebhooks library and fails the first
# delivery on purpose, upserts a member by phone, sends them a broadcast, and waits until the
# receiver has verified broadcast.completed on Koinonia's retry.
set -euo pipefail
cd "$(dirname "$0")/../.."

APP=${APP:-http://127.0.0.1:${PORT:-8000}}
BASE=$APP/api/v1
RECEIVER_PORT=${RECEIVER_PORT:-8099}
PHONE=${PHONE:-(312) 555-0199}
# json KEY...: the value at that path of the JSON on stdin
json() {
    .venv/bin/python -c 'import json, sys
d = json.load(sys.stdin)
for k in sys.argv[1:]:
    d = d[k]
print(d if isinstance(d, str | int) else json.dumps(d))' "$@"
}
uuid() { .venv/bin/python -c 'import uuid; print(uuid.uuid4())'; }

echo "1. A key for Grace Community Church's owner"
KEY=$(scripts/dev.sh run .venv/bin/flask --app wsgi create-api-key --email admin@example.org \
    --name "API walkthrough" --scopes read,members:write,messages:send,webhooks:manage 2>/dev/null | tail -1)
echo "   ${KEY:0:12}…"
auth=(-H "Authorization: Bearer $KEY" -H "Content-Type: application/json")

echo "2. A webhook endpoint for broadcast.completed"
endpoint=$(curl -sf -X POST "$BASE/webhook-endpoints" "${auth[@]}" -H "Idempotency-Key: $(uuid)" \
    -d "{\"url\": \"http://127.0.0.1:$RECEIVER_PORT/koinonia\", \"events\": [\"broadcast.completed\"]}")
SECRET=$(echo "$endpoint" | json data secret)
ENDPOINT_ID=$(echo "$endpoint" | json data id)
echo "   endpoint $ENDPOINT_ID, secret ${SECRET:0:10}…"

.venv/bin/python docs/examples/webhook_receiver.py --port "$RECEIVER_PORT" --secret "$SECRET" \
    --fail-first --until broadcast.completed --timeout 240 &
receiver=$!
trap 'kill $receiver 2>/dev/null || true; curl -s -o /dev/null -X DELETE "$BASE/webhook-endpoints/$ENDPOINT_ID" -H "Authorization: Bearer $KEY"' EXIT
sleep 1

echo "3. Upsert a member by phone, written as a person would: $PHONE"
member=$(curl -sf -X POST "$BASE/members/upsert" "${auth[@]}" -H "Idempotency-Key: $(uuid)" \
    -d "{\"first_name\": \"Walk\", \"last_name\": \"Through\", \"phone\": \"$PHONE\"}")
MEMBER_ID=$(echo "$member" | json data id)
echo "   member $MEMBER_ID, phone $(echo "$member" | json data phone)"

echo "4. A broadcast to that member"
broadcast=$(curl -sf -X POST "$BASE/broadcasts" "${auth[@]}" -H "Idempotency-Key: $(uuid)" \
    -d "{\"title\": \"API walkthrough\", \"body\": \"Grace Community: hello {first_name|friend}, from the API.\", \"audience\": {\"member_ids\": [$MEMBER_ID]}}")
BROADCAST_ID=$(echo "$broadcast" | json data id)
echo "   broadcast $BROADCAST_ID; warnings: $(echo "$broadcast" | json warnings)"

echo "5. Waiting for broadcast.completed (the first delivery fails on purpose; Koinonia retries within a minute)"
wait $receiver
echo "   counts: $(curl -sf "$BASE/broadcasts/$BROADCAST_ID" "${auth[@]}" | json data counts)"
echo "   deliveries of endpoint $ENDPOINT_ID:"
curl -sf "$BASE/webhook-endpoints/$ENDPOINT_ID/deliveries" "${auth[@]}" | .venv/bin/python -c '
import json, sys
for d in json.load(sys.stdin)["data"]:
    print("    ", {k: d.get(k) for k in ("type", "status", "attempts", "last_status", "webhook_id", "event_id") if k in d})'
echo "Done."
