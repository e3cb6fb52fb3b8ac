"""A webhook receiver for trying Koinonia's outbound webhooks on a laptop.

    .venv/bin/python docs/examples/webhook_receiver.py --port 8099 --secret whsec_... \
        [--fail-first] [--until broadcast.completed]

It listens on 127.0.0.1, verifies every request with the `standardwebhooks` library (the raw
body and the webhook-id / webhook-timestamp / webhook-signature headers), and prints one line
per request. With --fail-first the first delivery of each webhook-id is answered 500, so you can
watch Koinonia retry it with the same id. With --until it exits 0 once an event of that type has
been verified (and 1 if none came within --timeout seconds).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

MAX_BODY = 1024 * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--secret", required=True, help="the whsec_… secret shown when the endpoint was made")
    parser.add_argument("--fail-first", action="store_true", help="answer 500 to the first try of each event")
    parser.add_argument("--until", help="exit once an event of this type is verified")
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args()
    hook = Webhook(args.secret)
    seen: dict[str, int] = {}
    done = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server spelling
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.send_response(413)
                self.end_headers()
                return
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                event = hook.verify(body, headers)
            except WebhookVerificationError as exc:
                print(f"REFUSED  {headers.get('webhook-id')}: {exc}", flush=True)
                self.send_response(400)
                self.end_headers()
                return
            webhook_id = headers["webhook-id"]
            seen[webhook_id] = seen.get(webhook_id, 0) + 1
            attempt = seen[webhook_id]
            if args.fail_first and attempt == 1:
                print(f"FAILED   {webhook_id} {event['type']} (attempt 1, answered 500 on purpose)", flush=True)
                self.send_response(500)
                self.end_headers()
                return
            print(f"VERIFIED {webhook_id} {event['type']} (attempt {attempt}): {json.dumps(event['data'])}", flush=True)
            self.send_response(204)
            self.end_headers()
            if args.until and event["type"] == args.until:
                done.set()

        def log_message(self, *_: object) -> None:  # one line per request is printed above
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"listening on http://127.0.0.1:{args.port}/", flush=True)
    if not args.until:
        threading.Event().wait()
    ok = done.wait(args.timeout)
    server.shutdown()
    if not ok:
        print(f"no verified {args.until} within {args.timeout:.0f} s", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
