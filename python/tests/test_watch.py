"""xclip watch end to end on loopback: an MPEG-TS stream pushed by ffmpeg to udp://127.0.0.1
switches content at a known time and gives one event near the switch; a webhook that fails
first, then accepts; --exec; a stream that drops and comes back; a corrupt stream on standard
input; a source that never answers; and Python's xclip.watch against the CLI."""

import http.server
import json
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

import xclip
from conftest import BUILD, model_dir

XCLIP = BUILD / "xclip"
SWITCH = 6.0  # seconds of the first pattern before the second
WINDOW, STRIDE = 2.0, 0.5
LABELS = "a test pattern,colour bars"


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def switching(tmp_path_factory):
    """12 s of MPEG-TS, 10 fps: still colour bars for 6 s, then a moving test pattern
    (keyframes every 0.5 s)."""
    path = tmp_path_factory.mktemp("watch") / "switch.ts"
    ffmpeg("-f", "lavfi", "-i", "smptebars=size=160x120:rate=10:duration=6", "-f", "lavfi", "-i",
           "testsrc2=size=160x120:rate=10:duration=6", "-filter_complex", "[0:v][1:v]concat=n=2:v=1",
           "-c:v", "libx264", "-g", "5", "-bf", "0", "-pix_fmt", "yuv420p", "-f", "mpegts", str(path))
    return path


def watch_cli(source, *extra, timeout=120):
    run = subprocess.run([str(XCLIP), "watch", str(source), "--model", str(model_dir("tiny")), "--labels", LABELS,
                          "--window", str(WINDOW), "--stride", str(STRIDE), "--format", "jsonl", *extra],
                         capture_output=True, timeout=timeout)
    assert run.returncode == 0, run.stderr.decode()
    return [json.loads(line) for line in run.stdout.decode().splitlines()], run.stderr.decode()


QUERIES = ["a test pattern", "colour bars", "something moving"]


def query_score(record, query):
    return next(s["score"] for s in record["queries"] if s["query"] == query)


def query_args():
    return [a for q in QUERIES for a in ("--query", q)]


@pytest.fixture(scope="module")
def thresholds(switching):
    """The standing query whose offline score (X-CLIP's logit) separates the two contents, and
    on/off between them (random weights separate little; real ones much more)."""
    records, _ = watch_cli(switching, *query_args())
    windows = [r for r in records if r["type"] == "window"]
    before = [w for w in windows if w["end"] <= SWITCH]
    after = [w for w in windows if w["start"] >= SWITCH]
    for query in QUERIES:
        low = max(query_score(w, query) for w in before)
        high = min(query_score(w, query) for w in after)
        if high > low + 0.05:
            return {"query": query, "on": low + (high - low) * 0.6, "off": low + (high - low) * 0.4}
    pytest.fail(f"no query separates the two contents offline: {windows}")


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def push(path, port):
    """ffmpeg sending `path` in real time to udp://127.0.0.1:port."""
    return subprocess.Popen(["ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-i", str(path), "-c", "copy",
                             "-f", "mpegts", f"udp://127.0.0.1:{port}?pkt_size=1316"])


def start_watch(port, *extra):
    return subprocess.Popen([str(XCLIP), "watch", f"udp://127.0.0.1:{port}", "--model", str(model_dir("tiny")),
                             "--labels", LABELS, "--window", str(WINDOW), "--stride", str(STRIDE), "--format",
                             "jsonl", "--open-timeout", "20", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def stop(process):
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    return process.returncode, [json.loads(line) for line in out.decode().splitlines()], err.decode()


def test_udp_stream_gives_one_event_at_the_switch(switching, thresholds):
    port = free_udp_port()
    watcher = start_watch(port, *query_args(), "--on", str(thresholds["on"]), "--off", str(thresholds["off"]),
                          "--hold", "1")
    time.sleep(2)  # the model loads and the port is bound before the first packet
    sender = push(switching, port)
    assert sender.wait(timeout=60) == 0
    time.sleep(2)
    code, records, err = stop(watcher)
    assert code == 0, err  # SIGTERM: open events closed, exit 0
    starts = [r for r in records if r["type"] == "event" and r["state"] == "start"]
    ends = [r for r in records if r["type"] == "event" and r["state"] == "end"]
    ours = [r for r in starts if r.get("query") == thresholds["query"]]
    assert len(ours) == 1, (thresholds, records)
    # It starts with the first window at the threshold: one that holds frames of the second
    # pattern, at most one stride after the first window wholly in it.
    assert SWITCH - WINDOW < ours[0]["start"] <= SWITCH + STRIDE, ours
    assert len([r for r in ends if r.get("query") == thresholds["query"]]) == 1  # closed at SIGTERM
    windows = [r for r in records if r["type"] == "window"]
    assert len(windows) >= 18 and all(w["latency_ms"] >= 0 for w in windows)


class Receiver(http.server.BaseHTTPRequestHandler):
    """Fails the first POST with 500, accepts the rest."""
    bodies, calls = [], [0]

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.calls[0] += 1
        self.send_response(500 if Receiver.calls[0] == 1 else 200)
        self.end_headers()
        if Receiver.calls[0] > 1:
            Receiver.bodies.append(json.loads(body))

    def log_message(self, *args):
        pass


def test_webhook_retries_and_exec_gets_each_event(switching, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log = tmp_path / "events.jsonl"
    try:
        # Thresholds every window meets: one event from the first window to the end.
        records, err = watch_cli(switching, "--on", "0", "--off", "0", "--hold", "1", "--thumbnails",
                                 str(tmp_path / "thumbs"), "--webhook",
                                 f"http://127.0.0.1:{server.server_address[1]}/hook", "--exec", f"cat >> {log}")
    finally:
        server.shutdown()
    # Both labels: an event each, started at the first window, closed at the end of the file.
    events = [r for r in records if r["type"] == "event"]
    assert [(e["state"], e["label"]) for e in events] == [("start", "a test pattern"), ("start", "colour bars"),
                                                          ("end", "a test pattern"), ("end", "colour bars")]
    assert all(e["start"] == 0.0 for e in events)
    # The webhook's first answer was 500: that event was sent again, none was lost.
    assert Receiver.calls[0] == 5
    assert [(b["state"], b["label"]) for b in Receiver.bodies] == [(e["state"], e["label"]) for e in events]
    assert "0 deliveries failed, 0 dropped" in err
    assert [json.loads(line) for line in log.read_text().splitlines()] == events
    thumbnail = events[-1]["thumbnail"]
    assert open(thumbnail, "rb").read(2) == b"\xff\xd8"


def test_dropped_stream_is_reopened_and_the_gap_reported(switching, tmp_path):
    first, second = tmp_path / "first.ts", tmp_path / "second.ts"
    ffmpeg("-i", str(switching), "-t", "3", "-c", "copy", str(first))
    ffmpeg("-ss", "6", "-i", str(switching), "-t", "3", "-c", "copy", str(second))
    port = free_udp_port()
    watcher = subprocess.Popen([str(XCLIP), "watch", f"udp://127.0.0.1:{port}", "--model", str(model_dir("tiny")),
                                "--labels", LABELS, "--format", "jsonl", "--open-timeout", "20", "--timeout", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.5)
    assert push(first, port).wait(timeout=30) == 0
    time.sleep(3)  # silence: the read times out, the source is reopened
    assert push(second, port).wait(timeout=30) == 0
    time.sleep(1.5)
    code, records, err = stop(watcher)
    assert code == 0, err
    kinds = [r["type"] for r in records]
    assert "status" in kinds and "gap" in kinds, records
    gap = next(r for r in records if r["type"] == "gap")
    assert gap["end"] - gap["start"] >= 2.0, gap  # the silence shows in stream time
    after = [r for r in records if r["type"] == "window" and r["start"] >= gap["end"]]
    assert after, records


def test_corrupt_stream_on_stdin_is_read_past(switching, tmp_path):
    data = bytearray(switching.read_bytes())
    for offset in range(len(data) // 3, len(data) // 3 + 20000, 997):
        data[offset:offset + 40] = os.urandom(40)
    run = subprocess.run([str(XCLIP), "watch", "-", "--model", str(model_dir("tiny")), "--labels", LABELS,
                          "--format", "jsonl"], input=bytes(data), capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr.decode()
    windows = [json.loads(line) for line in run.stdout.decode().splitlines() if '"window"' in line]
    assert len(windows) >= 8
    assert "corrupt packets" in run.stderr.decode()


def test_source_that_never_answers_times_out():
    started = time.monotonic()
    run = subprocess.run([str(XCLIP), "watch", f"udp://127.0.0.1:{free_udp_port()}", "--model",
                          str(model_dir("tiny")), "--labels", LABELS, "--open-timeout", "1"], capture_output=True,
                         timeout=60)
    assert run.returncode == 1
    assert b"no answer" in run.stderr and b"timed out" in run.stderr, run.stderr
    assert time.monotonic() - started < 20


def test_python_watch_yields_what_the_cli_prints(switching):
    cli, _ = watch_cli(switching)
    python = list(xclip.watch(str(switching), labels=LABELS.split(","), model=model_dir("tiny"), window=WINDOW,
                              stride=STRIDE))
    strip = lambda records: [{k: v for k, v in r.items() if k not in ("wall_time", "latency_ms")} for r in records]
    assert strip(python) == strip(cli)
    # Leaving the loop early stops the watch.
    for n, record in enumerate(xclip.watch(str(switching), labels=["a"], model=model_dir("tiny"))):
        if n == 2:
            break
    with pytest.raises(xclip.IoError, match="no-such.ts"):
        list(xclip.watch("/nonexistent/no-such.ts", labels=["a"], model=model_dir("tiny")))


def test_follow_reads_a_growing_file_until_sigterm(switching, tmp_path):
    growing = tmp_path / "growing.ts"
    data = switching.read_bytes()
    half = len(data) // 2 // 188 * 188  # whole MPEG-TS packets
    growing.write_bytes(data[:half])
    watcher = subprocess.Popen([str(XCLIP), "watch", str(growing), "--follow", "--model", str(model_dir("tiny")),
                                "--labels", LABELS, "--format", "jsonl", "--timeout", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(3)  # more than --timeout: a followed file may pause
    with open(growing, "ab") as f:
        f.write(data[half:])
    time.sleep(3)
    code, records, err = stop(watcher)
    assert code == 0, err
    windows = [r for r in records if r["type"] == "window"]
    assert windows and max(w["end"] for w in windows) >= 10, windows  # content appended later was read


def test_hls_over_http_on_loopback(switching, tmp_path):
    """An HLS playlist served over HTTP (http://127.0.0.1): the same windows as the file."""
    import functools

    hls = tmp_path / "hls"
    hls.mkdir()
    ffmpeg("-i", str(switching), "-c", "copy", "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
           str(hls / "index.m3u8"))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(hls))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        watcher = subprocess.Popen([str(XCLIP), "watch", f"http://127.0.0.1:{server.server_address[1]}/index.m3u8",
                                    "--model", str(model_dir("tiny")), "--labels", LABELS, "--window", str(WINDOW),
                                    "--stride", str(STRIDE), "--format", "jsonl", "--timeout", "2",
                                    "--skip-when-behind", "no"],  # served faster than real time
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(6)  # the playlist is read to its end (then the source counts as dropped, and is retried)
        code, records, err = stop(watcher)
    finally:
        server.shutdown()
    assert code == 0, err
    offline, _ = watch_cli(switching)
    windows = [r for r in records if r["type"] == "window"]
    expected = [r for r in offline if r["type"] == "window"]
    # Every window the file has, with its frames; the last may close later (the drop) or differ.
    assert len(windows) >= len(expected) - 1, (len(windows), len(expected))
    assert [w["frame_indices"] for w in windows[:len(expected) - 1]] == \
        [w["frame_indices"] for w in expected[:len(expected) - 1]]
