"""Live watches through `xclip serve` on loopback: POST /watch (sources only under an
--allow-source prefix), the records as Server-Sent Events on /events, GET and DELETE /watch,
event thumbnails under /media, keys as elsewhere."""

import http.client
import json
import threading
import time

import pytest

from conftest import Server, make_video

KEY = "watch-secret"


@pytest.fixture(scope="module")
def streams(tmp_path_factory):
    root = tmp_path_factory.mktemp("streams")
    make_video(root / "cam.mp4", "testsrc2", 4)
    return root


@pytest.fixture(scope="module")
def server(streams):
    s = Server(["--allow-source", str(streams) + "/", "--api-key", KEY])
    yield s
    assert s.stop() == 0


def auth():
    return {"Authorization": f"Bearer {KEY}"}


def read_events(port, until, timeout=60, key=KEY):
    """SSE messages from /events (as (event, data) pairs) until `until(messages)` holds."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    connection.request("GET", f"/events?key={key}")
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("Content-Type").startswith("text/event-stream")
    messages, event, deadline = [], None, time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = response.fp.readline().decode()
        if line.startswith("event: "):
            event = line[7:].strip()
        elif line.startswith("data: "):
            messages.append((event, json.loads(line[6:])))
            if until(messages):
                break
    connection.close()
    return messages


def test_watch_streams_events_over_sse(server, streams):
    collected = {}

    def listen():
        collected["messages"] = read_events(
            server.port, lambda m: any(e == "event" and d.get("state") == "end" for e, d in m))

    listener = threading.Thread(target=listen)
    listener.start()
    time.sleep(0.5)  # subscribed before the watch starts
    status, _, raw = server("POST", "/watch", {"source": str(streams / "cam.mp4"), "labels": ["a", "b"], "on": 0,
                                               "off": 0, "hold": 1, "window": 2, "stride": 1}, headers=auth())
    assert status == 201, raw
    watch_id = json.loads(raw)["id"]
    listener.join(timeout=90)
    events = [d for e, d in collected["messages"] if e == "event" and d["watch"] == watch_id]
    assert [e["state"] for e in events][:1] == ["start"] and events[-1]["state"] == "end", collected
    thumbnail = events[-1]["thumbnail"]
    assert thumbnail.startswith(f"/media/watch/{watch_id}/event-")
    status, headers, jpeg = server("GET", thumbnail + f"?key={KEY}")
    assert status == 200 and jpeg[:2] == b"\xff\xd8"
    deadline = time.monotonic() + 30
    while True:
        listed = json.loads(server("GET", "/watch", headers=auth())[2])["watches"]
        mine = next(w for w in listed if w["id"] == watch_id)
        if not mine["running"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not mine["running"] and mine["windows"] >= 3 and mine["events"] == 2 and not mine["error"], mine
    assert server("DELETE", f"/watch/{watch_id}", headers=auth())[0] == 200
    assert server("DELETE", f"/watch/{watch_id}", headers=auth())[0] == 404


def test_sources_outside_the_allowed_prefixes_are_refused(server, streams, tmp_path):
    for source in ["/etc/passwd", "udp://127.0.0.1:9", f"{streams}/../outside.mp4", f"http://evil.example/{streams}"]:
        status, _, raw = server("POST", "/watch", {"source": source, "labels": ["a"]}, headers=auth())
        assert status == 403, (source, raw)
    status, _, raw = server("POST", "/watch", {"source": str(streams / "cam.mp4")}, headers=auth())
    assert status == 422 and b"nothing to watch for" in raw
    status, _, raw = server("POST", "/watch", {"source": str(streams / "cam.mp4"), "labels": ["a"], "on": 0.2,
                                               "off": 0.9}, headers=auth())
    assert status == 422
    assert server("POST", "/watch", {"source": str(streams / "cam.mp4"), "labels": ["a"]})[0] == 401
    assert server("GET", "/events")[0] == 401


def test_a_server_without_allowed_sources_watches_nothing(streams):
    s = Server([])
    try:
        status, _, raw = s("POST", "/watch", {"source": str(streams / "cam.mp4"), "labels": ["a"]})
        assert status == 403 and b"--allow-source" in raw
    finally:
        assert s.stop() == 0


def test_sigterm_ends_open_event_streams(streams):
    s = Server(["--allow-source", str(streams) + "/"])
    connection = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
    connection.request("GET", "/events")
    response = connection.getresponse()
    assert response.status == 200
    started = time.monotonic()
    assert s.stop() == 0  # the stream does not hold the server open
    assert time.monotonic() - started < 10
    connection.close()
