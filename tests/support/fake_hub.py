#!/usr/bin/env python3
"""A local stand-in for the Hugging Face hub, for download tests (127.0.0.1 only).

Serves ROOT/<org>/<name>/<file> at /<org>/<name>/resolve/<revision>/<file> with the hub's
headers: X-Repo-Commit on every answer; small files answered directly with an ETag; weight
files (*.safetensors, *.bin) answered like LFS files: a 302 to /cdn/... carrying
X-Linked-Etag and X-Linked-Size. Range requests are honoured (206).

  fake_hub.py ROOT PORT_FILE LOG_FILE [--token T] [--interrupt FILE]

--token T       repositories of the org "private" need "Authorization: Bearer T" (else 401)
--interrupt F   the first download of file F stops half way (the connection is closed)
Every request is appended to LOG_FILE as "METHOD PATH RANGE". Stops after 10 minutes.
"""
import hashlib
import http.server
import os
import sys
import threading

ROOT, PORT_FILE, LOG_FILE = sys.argv[1], sys.argv[2], sys.argv[3]
TOKEN = None
INTERRUPT = None
args = sys.argv[4:]
while args:
    if args[0] == "--token":
        TOKEN = args[1]
    elif args[0] == "--interrupt":
        INTERRUPT = args[1]
    args = args[2:]
interrupted = set()
lock = threading.Lock()


def commit_of(repo, revision):
    return hashlib.sha1((repo + "@" + revision).encode()).hexdigest()


def etag_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def log_request_line(self):
        with lock, open(LOG_FILE, "a") as log:
            log.write("%s %s %s\n" % (self.command, self.path, self.headers.get("Range", "-")))

    def fail(self, status):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def route(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        cdn = parts[0] == "cdn"
        if cdn:
            parts = parts[1:]
            if len(parts) < 4:
                return None
            org, name, revision, file = parts[0], parts[1], parts[2], "/".join(parts[3:])
        else:
            if len(parts) < 5 or parts[2] != "resolve":
                return None
            org, name, revision, file = parts[0], parts[1], parts[3], "/".join(parts[4:])
        return cdn, org, name, revision, file

    def handle_any(self, head):
        self.log_request_line()
        r = self.route()
        if r is None:
            return self.fail(404)
        cdn, org, name, revision, file = r
        if org == "private" and not cdn and self.headers.get("Authorization") != "Bearer %s" % TOKEN:
            return self.fail(401)
        path = os.path.join(ROOT, org, name, file)
        if not os.path.isfile(path) or ".." in file:
            return self.fail(404)
        repo = org + "/" + name
        size = os.path.getsize(path)
        etag = etag_of(path)
        lfs = file.endswith(".safetensors") or file.endswith(".bin")
        if lfs and not cdn:
            self.send_response(302)
            self.send_header("Location", "/cdn/%s/%s/%s/%s" % (org, name, revision, file))
            self.send_header("X-Repo-Commit", commit_of(repo, revision))
            self.send_header("X-Linked-Etag", '"%s"' % etag)
            self.send_header("X-Linked-Size", str(size))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
        self.send_response(206 if start else 200)
        self.send_header("X-Repo-Commit", commit_of(repo, revision))
        self.send_header("ETag", '"%s"' % etag)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(size - start))
        if start:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, size - 1, size))
        self.end_headers()
        if head:
            return
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read()
        with lock:
            cut = INTERRUPT == file and file not in interrupted and start == 0
            if cut:
                interrupted.add(file)
        if cut:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(data)

    def do_HEAD(self):
        self.handle_any(True)

    def do_GET(self):
        self.handle_any(False)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(PORT_FILE + ".tmp", PORT_FILE)
threading.Timer(600, server.shutdown).start()
server.serve_forever()
