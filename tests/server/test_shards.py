"""A collection served three ways on loopback: opened locally by `xclip serve --index` (a
collection opens as an index), and split over two shard servers behind a front server
(`xclip serve --shard URL --shard URL`). The front answers what the local collection
answers; a shard that is down or too slow is reported, never waited for."""

import http.server
import json
import socket
import subprocess
import threading
import time

import pytest

from conftest import MODEL, XCLIP, Server, free_port, make_video

KEY = "shard-secret"


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    videos = root / "videos"
    videos.mkdir()
    for i, source in enumerate(["testsrc2", "mandelbrot", "life", "smptebars", "rgbtestsrc"]):
        make_video(videos / f"clip{i}.mp4", source, 6)
    index = root / "collection.xclip"
    subprocess.run([str(XCLIP), "index", str(videos), "--index", str(index), "--model", str(MODEL), "--window", "2",
                    "--shards", "2", "--quiet"], check=True, capture_output=True)
    info = json.loads(subprocess.run([str(XCLIP), "index", "--index", str(index), "--info"], check=True,
                                     capture_output=True).stdout)
    assert info["shards"] == 2 and info["windows"] == 15
    return {"index": index, "videos": videos, "shard_dirs": info["shard_dirs"]}


@pytest.fixture(scope="module")
def servers(collection):
    started = []
    try:
        local = Server(["--index", str(collection["index"]), "--allow-dir", str(collection["videos"])])
        started.append(local)
        shards = [Server(["--index", d, "--api-key", KEY, "--allow-dir", str(collection["videos"])])
                  for d in collection["shard_dirs"]]
        started += shards
        front = Server([a for s in shards for a in ("--shard", s.base)] +
                       ["--shard-key", KEY, "--allow-dir", str(collection["videos"])])
        started.append(front)
        yield {"local": local, "shards": shards, "front": front}
    finally:
        for s in started:
            s.stop()


def search(server, query, **options):
    status, _, raw = server("POST", "/search", {**({"query": query} if query else {}), **options})
    assert status == 200, raw
    return json.loads(raw)


def same_hits(a, b):
    assert [(h["path"], h["start"], h["end"]) for h in a] == [(h["path"], h["start"], h["end"]) for h in b]
    assert all(abs(x["score"] - y["score"]) <= 1e-6 for x, y in zip(a, b))


def test_front_answers_like_the_local_collection(servers):
    for query in ["a test pattern", "colour bars", "a fractal"]:
        local = search(servers["local"], query, top=6)
        front = search(servers["front"], query, top=6)
        assert front["partial"] is False and local["partial"] is False
        assert [s["ok"] for s in front["shards"]] == [True, True]
        same_hits(local["hits"], front["hits"])
    info = json.loads(servers["front"]("GET", "/info")[2])
    assert info["index"]["shards"] == 2


def test_cli_searches_the_collection_as_the_servers_do(servers, collection):
    cli = json.loads(subprocess.run([str(XCLIP), "search", "a test pattern", "--index", str(collection["index"]),
                                     "--top", "6", "--format", "json"], check=True, capture_output=True).stdout)
    same_hits(search(servers["front"], "a test pattern", top=6)["hits"], cli)
    like = json.loads(subprocess.run([str(XCLIP), "search", "--like", str(collection["videos"] / "clip1.mp4"),
                                      "--index", str(collection["index"]), "--top", "4", "--format", "json"],
                                     check=True, capture_output=True).stdout)
    assert like[0]["path"].endswith("clip1.mp4")
    front = search(servers["front"], "", top=4, like_path=str(collection["videos"] / "clip1.mp4"))
    assert not front["partial"]
    same_hits(like, front["hits"])


def test_front_media_reach_the_shards(servers):
    hit = search(servers["front"], "a test pattern", top=1)["hits"][0]
    status, headers, jpeg = servers["front"]("GET", hit["thumbnail"])
    assert status == 200 and jpeg[:2] == b"\xff\xd8" and headers["Content-Type"] == "image/jpeg"
    status, headers, part = servers["front"]("GET", hit["video"], headers={"Range": "bytes=0-99"})
    assert status == 206 and len(part) == 100 and headers["Content-Range"].startswith("bytes 0-99/")
    whole = open(hit["path"], "rb").read()
    assert part == whole[:100]
    status, _, everything = servers["front"]("GET", hit["video"])
    assert status == 200 and everything == whole


def test_search_by_embedding_on_a_shard(servers):
    shard = servers["shards"][0]
    auth = {"Authorization": f"Bearer {KEY}"}
    status, _, raw = shard("POST", "/search", {"text_embeds": [0.1] * 3}, headers=auth)
    assert status == 422 and b"expected F32 [1," in raw
    status, _, raw = shard("POST", "/search", {"text_embeds": ["x"]}, headers=auth)
    assert status == 422
    assert shard("POST", "/search", {"query": "a dog"})[0] == 401  # the shard's key applies


class Silent(http.server.BaseHTTPRequestHandler):
    """A 'shard' that accepts the request and never answers in time."""

    def do_POST(self):
        time.sleep(6)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_down_and_slow_shards_are_reported_not_waited_for(servers):
    # Files go to shards by a hash of their path, and the paths live in a random temporary folder:
    # either shard may hold all five videos, so the answering shard is the one with windows.
    auth = {"Authorization": f"Bearer {KEY}"}
    answering = max(servers["shards"],
                    key=lambda s: json.loads(s("GET", "/info", headers=auth)[2])["index"]["windows"])
    slow = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Silent)
    threading.Thread(target=slow.serve_forever, daemon=True).start()
    down_port = free_port()  # nothing listens there
    front = Server(["--shard", answering.base, "--shard", f"http://127.0.0.1:{down_port}",
                    "--shard", f"http://127.0.0.1:{slow.server_address[1]}", "--shard-key", KEY,
                    "--shard-timeout-ms", "1500"])
    try:
        started = time.monotonic()
        answer = search(front, "a test pattern", top=5)
        elapsed = time.monotonic() - started
        assert elapsed < 4, (elapsed, answer)  # the timeout, the grace and the embedding; not the 6 s
        assert answer["partial"] is True, answer
        ok, down, late = answer["shards"]
        assert ok["ok"] and ok["hits"] > 0, answer
        assert not down["ok"] and down["error"], answer
        assert not late["ok"] and ("timed out" in late["error"] or "no answer" in late["error"]), answer
        assert answer["hits"] and all(h["shard"] == answering.base for h in answer["hits"])
    finally:
        front.stop()
        slow.shutdown()


def test_bad_shard_urls_are_refused():
    for url in ["ftp://127.0.0.1:1", "127.0.0.1:80", "http://127.0.0.1:1?x=1"]:
        run = subprocess.run([str(XCLIP), "serve", "--model", str(MODEL), "--shard", url, "--port",
                              str(free_port()), "--quiet"], capture_output=True, timeout=30)
        assert run.returncode != 0 and b"shard URL" in run.stderr, run.stderr
