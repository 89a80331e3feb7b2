"""Starts the real `xclip serve` on a free loopback port for the server tests; videos and
the index are made at test time (ffmpeg CLI, `xclip index`). A missing binary, model or tool
is a failure, never a skip."""

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

BUILD = Path(os.environ["XCLIP_BUILD_DIR"])
XCLIP = BUILD / "xclip"
MODEL = BUILD / "models" / "tiny"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(base, method, path, body=None, headers=None, raw=None, timeout=60):
    """(status, headers, body bytes) of one HTTP request; errors are answers too."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    h = {"Content-Type": "application/json"} if body is not None else {}
    h.update(headers or {})
    req = urllib.request.Request(base + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def whole_answer(data):
    """Whether `data` holds one whole answer: its head and the body its Content-Length says."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return False
    lengths = [int(line.split(b":")[1]) for line in data[:end].split(b"\r\n")
               if line.lower().startswith(b"content-length:")]
    return bool(lengths) and len(data) >= end + 4 + lengths[0]


def read_answer(sock, timeout=10, until=whole_answer):
    """(status, bytes) read from `sock` until `until(bytes)`, the peer closes, or `timeout`."""
    sock.settimeout(timeout)
    data = b""
    try:
        while not until(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass  # a timeout, or the server reset a connection it had answered
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data


def raw_exchange(port, head, payload=b"", timeout=30):
    """Sends `head` and `payload` on a socket while reading the answer: a server may answer
    (413) and close before an oversized body is sent, as servers do. -> (status, body)."""
    import threading

    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        def send():
            try:
                sock.sendall(head + payload)
            except OSError:
                pass  # the server has answered and closed: expected for oversized bodies

        sender = threading.Thread(target=send)
        sender.start()
        status, data = read_answer(sock, timeout)
        sender.join()
    head_end = data.find(b"\r\n\r\n")
    length = [int(line.split(b":")[1]) for line in data[:head_end].split(b"\r\n")
              if line.lower().startswith(b"content-length:")]
    return status, data[head_end + 4:head_end + 4 + (length[0] if length else len(data))]


def metric_values(server):
    """/metrics as {sample name with labels: value}; fails unless it answers 200."""
    status, _, text = server("GET", "/metrics")
    if status != 200:
        pytest.fail(f"/metrics answered {status}")
    values = {}
    for line in text.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def make_video(path, source, seconds):
    if shutil.which("ffmpeg") is None:
        pytest.fail("the ffmpeg CLI is needed to make test videos")
    if not path.exists():
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        f"{source}=size=96x64:rate=8", "-t", str(seconds), "-vf", "hue=H=t*0.5",
                        "-c:v", "libx264", "-g", "16", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


class Server:
    def __init__(self, args, env=None, model=MODEL):
        if not XCLIP.is_file():
            pytest.fail(f"{XCLIP} is missing: build the xclip target first")
        if not (model / "config.json").is_file():
            pytest.fail(f"{model} is missing: run its synth CTest setup first")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([str(XCLIP), "serve", "--model", str(model), "--port", str(self.port),
                                      "--quiet", *args], env={**os.environ, **(env or {})},
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                status, _, _ = request(self.base, "GET", "/health", timeout=2)
                if status == 200:
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if self.proc.poll() is not None:
                pytest.fail("xclip serve exited: " + self.proc.stdout.read().decode(errors="replace"))
            time.sleep(0.05)
        self.stop()
        pytest.fail("xclip serve did not become ready in 60 s")

    def __call__(self, method, path, body=None, headers=None, raw=None, timeout=60):
        return request(self.base, method, path, body, headers, raw, timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture(scope="session")
def media(tmp_path_factory):
    """allowed/ (3 videos, and a symlink leading out), outside/ (a video not allowed), and an
    index of allowed/ built with the tiny model."""
    root = tmp_path_factory.mktemp("server")
    allowed, outside = root / "allowed", root / "outside"
    allowed.mkdir()
    outside.mkdir()
    for i, source in enumerate(["testsrc2", "mandelbrot", "life"]):
        make_video(allowed / f"clip{i}.mp4", source, 6)
    make_video(outside / "secret.mp4", "testsrc", 2)
    (allowed / "escape.mp4").symlink_to(outside / "secret.mp4")
    index = root / "index.xclip"
    subprocess.run([str(XCLIP), "index", str(allowed / "clip0.mp4"), str(allowed / "clip1.mp4"),
                    str(allowed / "clip2.mp4"), "--index", str(index), "--model", str(MODEL), "--window", "2",
                    "--quiet"], check=True, capture_output=True)
    return {"root": root, "allowed": allowed, "outside": outside, "index": index}
