#!/usr/bin/env python3
"""A threaded origin for the benchmark's full runs (stdlib only).

    python3 bench/origin.py --listen 127.0.0.1:PORT --secret whsec_...

Does what `edgehook origin` does, checked the same way: verifies each request's Standard
Webhooks signature (`webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{ts}.{body}")>`,
timestamp within 300 s; 401 otherwise), dedups on `webhook-id`, and prints one JSON line per
accepted envelope on stdout ({"id", "type", "bytes"}: the id is what the exactly-once check
counts); duplicates and refusals go to stderr. One thread per connection, TCP_NODELAY.

Why not `edgehook origin` (tiny_http 0.12) by default: under the queue consumer's concurrent
keep-alive connections it leaves accepted connections unread for 10-20 s at a time (`ss`
shows the request sitting in the origin's Recv-Q), and Miniflare's queue dispatches one batch
at a time, so the queue drains at a few events per second. `ORIGIN=edgehook bench/run.sh`
uses it anyway.
"""

import argparse
import base64
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_S = 300


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", default="127.0.0.1:9000")
    ap.add_argument("--secret", required=True)
    a = ap.parse_args()
    secret = a.secret.strip()
    key = base64.b64decode(secret[6:] if secret.startswith("whsec_") else secret)
    seen = set()
    lock = threading.Lock()
    out = sys.stdout

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def answer(self, status, text):
            data = text.encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            n = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(n)
            wid = self.headers.get("webhook-id") or ""
            ts = self.headers.get("webhook-timestamp") or ""
            sigs = (self.headers.get("webhook-signature") or "").split()
            why = None
            try:
                if abs(time.time() - int(ts)) > TOLERANCE_S:
                    why = "timestamp out of tolerance"
            except ValueError:
                why = "bad webhook-timestamp"
            if why is None:
                mac = hmac.new(key, f"{wid}.{ts}.".encode() + body, hashlib.sha256).digest()
                expected = base64.b64encode(mac).decode()
                if not any(s.startswith("v1,") and hmac.compare_digest(s[3:], expected)
                           for s in sigs):
                    why = "no v1 signature matches"
            envelope = None
            if why is None:
                try:
                    envelope = json.loads(body)
                    if envelope.get("id") != wid:
                        why = "envelope id differs from webhook-id"
                except ValueError as e:
                    why = f"not a JSON envelope: {e}"
            if why is not None:
                print(f"refused: {why}", file=sys.stderr, flush=True)
                return self.answer(401, json.dumps({"error": why}))
            with lock:
                new = wid not in seen
                seen.add(wid)
                if new:
                    out.write(json.dumps({"id": wid, "type": envelope.get("type"),
                                          "bytes": len(body)}) + "\n")
                    out.flush()
            if not new:
                print(f"duplicate {wid}: already received, answered 200", file=sys.stderr,
                      flush=True)
                return self.answer(200, '{"ok":true,"duplicate":true}')
            return self.answer(200, '{"ok":true}')

        def log_message(self, *args):
            pass

    host, port = a.listen.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), Handler)
    server.daemon_threads = True
    print(f"bench origin listening on http://{host}:{server.server_address[1]}/events",
          file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
