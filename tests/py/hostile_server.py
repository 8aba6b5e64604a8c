"""A misbehaving S3 endpoint for tests/hostile_server.rs and tests/interrupt.rs.

Usage: hostile_server.py ROOT MODE TARGET

Serves path-style requests (/BUCKET/KEY) from the files under ROOT, like a read-only S3 bucket,
except that requests whose key matches TARGET (a substring; "*" matches every request, "list"
matches listings) get the misbehaviour MODE:

  endless      200 with a huge Content-Length and a body that never ends
  wrong-length 200 announcing 1000 bytes more than the data, sending half of it, then closing
  stall        200, half the body, then silence with the connection held open
  silent       accepts the request and never answers
  garbage      200 with a body that is not S3 XML
  storm        500 InternalError, every time
  redirect     307 to the same URL, every time
  slowdown     503 SlowDown with Retry-After: 1, every time
  ok           no misbehaviour

Prints the port it listens on (127.0.0.1, chosen by the OS) as its first line of output.
"""

import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs, unquote

ROOT, MODE, TARGET = sys.argv[1], sys.argv[2], sys.argv[3]
CHUNK = b"\0" * 65536


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def split(self):
        url = urlsplit(self.path)
        parts = url.path.lstrip("/").split("/", 1)
        key = unquote(parts[1]) if len(parts) > 1 else ""
        return key, parse_qs(url.query, keep_blank_values=True)

    def targeted(self, key, query):
        if TARGET == "*":
            return True
        if TARGET == "list":
            return "list-type" in query
        return TARGET in key and "list-type" not in query

    def send(self, status, body, headers=()):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code):
        body = f"<Error><Code>{code}</Code><Message>{code}</Message></Error>".encode()
        self.send(status, body, [("Content-Type", "application/xml")])

    def misbehave(self, data):
        if MODE == "endless":
            self.send_response(200)
            self.send_header("Content-Length", str(1 << 40))
            self.end_headers()
            while True:
                self.wfile.write(CHUNK)
        elif MODE == "wrong-length":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data) + 1000))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif MODE == "stall":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            time.sleep(3600)
        elif MODE == "silent":
            time.sleep(3600)
        elif MODE == "garbage":
            self.send(200, b"<ListBucketResult><Contents><Key>a</Key><Size>-1</Size><<<")
        elif MODE == "storm":
            self.error(500, "InternalError")
        elif MODE == "redirect":
            self.send(307, b"", [("Location", f"http://{self.headers['Host']}{self.path}")])
        elif MODE == "slowdown":
            body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
            self.send(503, body, [("Retry-After", "1")])
        else:
            return False
        return True

    def listing(self, key_prefix):
        names = []
        for dirpath, _, files in os.walk(ROOT):
            for f in files:
                rel = os.path.relpath(os.path.join(dirpath, f), ROOT)
                if rel.startswith(key_prefix):
                    names.append((rel, os.path.getsize(os.path.join(ROOT, rel))))
        names.sort()
        items = "".join(f"<Contents><Key>{k}</Key><Size>{s}</Size></Contents>" for k, s in names)
        return (
            "<ListBucketResult><IsTruncated>false</IsTruncated>" + items + "</ListBucketResult>"
        ).encode()

    def do_GET(self):
        key, query = self.split()
        if "list-type" in query:
            data = self.listing(query.get("prefix", [""])[0])
        else:
            path = os.path.join(ROOT, key)
            data = open(path, "rb").read() if key and os.path.isfile(path) else None
        status, extra = 200, [("ETag", '"e"')]
        rng = self.headers.get("Range", "")
        if data is not None and rng.startswith("bytes="):
            first, _, last = rng[len("bytes="):].partition("-")
            first, last = int(first), min(int(last or len(data) - 1), len(data) - 1)
            extra.append(("Content-Range", f"bytes {first}-{last}/{len(data)}"))
            data, status = data[first : last + 1], 206
        if self.targeted(key, query) and self.misbehave(data or b"x" * 1000):
            return
        if data is None:
            return self.error(404, "NoSuchKey")
        self.send(status, data, extra)

    def do_HEAD(self):
        # HEAD tells the truth in every mode but the blanket ones, so resumed downloads meet
        # the misbehaviour again on their ranged GETs.
        if TARGET == "*":
            return self.do_GET()
        key, _ = self.split()
        path = os.path.join(ROOT, key)
        if not (key and os.path.isfile(path)):
            return self.error(404, "NoSuchKey")
        self.send_response(200)
        self.send_header("Content-Length", str(os.path.getsize(path)))
        self.send_header("ETag", '"e"')
        self.end_headers()

    def do_PUT(self):
        key, query = self.split()
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        if self.targeted(key, query) and self.misbehave(b"x" * 1000):
            return
        self.error(403, "AccessDenied")

    do_POST = do_PUT
    do_DELETE = do_PUT


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hangs up mid-body is the expected end of most modes


server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
