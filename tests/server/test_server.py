"""Every route of the real `xclip serve` on a loopback port, every error code, path
traversal, oversized uploads, keys, malformed JSON, and SIGTERM with a request in flight."""

import json
import os
import signal
import subprocess
import threading
import time
import uuid

import numpy as np
import pytest

from conftest import MODEL, XCLIP, Server, metric_values, raw_exchange, request


@pytest.fixture(scope="module")
def server(media):
    s = Server(["--index", str(media["index"]), "--allow-dir", str(media["allowed"]), "--max-upload-mb", "1"])
    yield s
    assert s.stop() == 0


def body(response):
    return json.loads(response[2])


def multipart(fields, files):
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f'Content-Type: video/mp4\r\n\r\n'.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def test_health_info_metrics(server):
    assert server("GET", "/health")[0] == 200
    info = body(server("GET", "/info"))
    assert info["num_frames"] == 4 and info["dtype"] == "float32" and info["index"]["windows"] == 9
    assert info["version"]
    status, headers, text = server("GET", "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert b'xclip_requests_total{route="/info",code="200"}' in text
    for name in [b"xclip_request_duration_seconds_bucket", b"xclip_queue_depth", b"xclip_index_windows 9",
                 b"xclip_videos_decoded_total"]:
        assert name in text


def test_memory_metrics(server):
    """The figures the load test judges leaks by: resident size, malloc's bytes in use, and the
    sessions' activation workspaces, which a forward pass grows."""
    assert server("POST", "/embed/text", {"inputs": ["a dog"]})[0] == 200
    values = metric_values(server)
    resident, heap = values["process_resident_memory_bytes"], values["xclip_heap_in_use_bytes"]
    assert 0 < heap < resident, (heap, resident)  # the mapped weights and code are resident, not malloc'd
    assert 0 < values["xclip_workspace_bytes"] < heap


def test_embed_text_matches_the_library(server):
    import xclip

    expected = xclip.embed_texts(["a dog", "a cat"], model=str(MODEL), normalize=True)
    status, _, raw = server("POST", "/embed/text", {"inputs": ["a dog", "a cat"]})
    assert status == 200
    np.testing.assert_allclose(np.array(json.loads(raw)), expected, atol=1e-5)
    one = body(server("POST", "/embed/text", {"inputs": "a dog", "normalize": False}))
    assert len(one) == 1 and abs(np.linalg.norm(one[0]) - 1) > 1e-3  # raw get_text_features


def test_openai_embeddings(server):
    out = body(server("POST", "/v1/embeddings", {"input": ["a dog", "a cat"], "model": "tiny"}))
    assert out["object"] == "list" and out["model"] == "tiny"
    assert [d["index"] for d in out["data"]] == [0, 1] and out["data"][0]["object"] == "embedding"
    assert out["usage"]["prompt_tokens"] > 0
    assert abs(np.linalg.norm(out["data"][0]["embedding"]) - 1) < 1e-5


def test_classify_by_path_upload_and_raw_body(server, media):
    clip = media["allowed"] / "clip1.mp4"
    by_path = body(server("POST", "/classify", {"path": str(clip), "labels": ["a fractal", "a dog", "cars"],
                                                "top": 2}))
    assert len(by_path["labels"]) == 2
    assert by_path["labels"][0]["probability"] >= by_path["labels"][1]["probability"]
    data, headers = multipart({"labels": "a fractal, a dog, cars"}, {"video": ("clip.mp4", clip.read_bytes())})
    uploaded = body(server("POST", "/classify", raw=data, headers=headers))
    full = sorted(uploaded["labels"], key=lambda e: -e["probability"])
    assert [e["label"] for e in full[:2]] == [e["label"] for e in by_path["labels"]]
    assert abs(sum(e["probability"] for e in uploaded["labels"]) - 1) < 1e-6
    # The library's classification of the same video agrees.
    import xclip

    lib = xclip.classify([str(clip)], ["a fractal", "a dog", "cars"], model=str(MODEL))[0]
    assert abs(max(lib.probabilities) - by_path["labels"][0]["probability"]) < 1e-5
    raw = body(server("POST", "/embed/video", raw=clip.read_bytes(), headers={"Content-Type": "video/mp4"}))
    assert len(raw["embedding"]) == 32 and len(raw["frame_indices"]) == 4


def test_classify_and_embed_honour_the_sampling_options(server, media):
    """/classify and /embed/video take the CLI's and Python's sampling options (views, times,
    seek) and give the library's numbers for them."""
    clip = media["allowed"] / "clip1.mp4"
    labels = ["a fractal", "a dog", "cars"]
    options = {"clips": 2, "start": 1.0, "end": 5.0, "seek": "keyframe"}
    answer = body(server("POST", "/classify", {"path": str(clip), "labels": labels, **options}))
    assert len(answer["views"]) == 2 and answer["frame_indices"] == answer["views"][0]
    cli = json.loads(subprocess.run(
        [str(XCLIP), "classify", str(clip), "--labels", ",".join(labels), "--model", str(MODEL), "--clips", "2",
         "--start", "1", "--end", "5", "--seek", "keyframe", "--format", "json", "--quiet"],
        check=True, capture_output=True, text=True).stdout)[0]["labels"]
    assert [e["label"] for e in answer["labels"]] == [e["label"] for e in cli]
    for ours, theirs in zip(answer["labels"], cli):
        assert abs(ours["probability"] - theirs["probability"]) < 1e-5, (answer, cli)
        assert abs(ours["logit"] - theirs["logit"]) < 1e-4, (answer, cli)
    # The same options as form fields (strings) of an upload.
    data, headers = multipart({"labels": ",".join(labels), "clips": "2", "start": "1", "end": "5", "seek": "keyframe"},
                              {"video": ("clip.mp4", clip.read_bytes())})
    uploaded = body(server("POST", "/classify", raw=data, headers=headers))
    assert uploaded["views"] == answer["views"] and uploaded["labels"] == answer["labels"]
    # /embed/video averages the views as Python's embed_videos does.
    import xclip

    embedded = body(server("POST", "/embed/video", {"path": str(clip), "clips": 2, "normalize": False}))
    lib = xclip.Workflow(str(MODEL), clips=2)._workflow.embed_videos([str(clip)], None, None)[0]
    assert embedded["views"] == [list(v) for v in lib.frame_indices]
    assert np.abs(np.array(embedded["embedding"]) - np.array(lib.embedding)).max() < 1e-5


def test_sampling_options_the_library_refuses_are_422(server, media):
    clip = str(media["allowed"] / "clip1.mp4")
    for options, words in [({"frames": 3}, "takes 4 frames"), ({"clips": 0}, "clips must be positive"),
                           ({"seek": "fast"}, "seek must be exact or keyframe"), ({"sampling": "every"}, "sampling must"),
                           ({"start": 4, "end": 2}, "before the start"), ({"start": -1}, "\"start\""),
                           ({"clips": 1000}, "allows 1024 per video"), ({"indices": [0, "x"]}, "integers")]:
        status, _, raw = server("POST", "/classify", {"path": clip, "labels": ["a"], **options})
        assert status == 422 and words in json.loads(raw)["error"], (options, raw)
    data, headers = multipart({"labels": "a", "clips": "two"}, {"video": ("clip.mp4", b"x" * 10)})
    status, _, raw = server("POST", "/classify", raw=data, headers=headers)
    assert status == 422 and '"clips" must be an integer' in json.loads(raw)["error"]


def test_search_and_media(server):
    hits = body(server("POST", "/search", {"query": "a spinning fractal", "top": 3}))["hits"]
    assert len(hits) == 3 and all(h["reranked"] for h in hits)
    status, headers, jpeg = server("GET", hits[0]["thumbnail"])
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and jpeg[:2] == b"\xff\xd8"
    size = os.path.getsize(hits[0]["path"])
    status, headers, part = server("GET", hits[0]["video"], headers={"Range": "bytes=100-199"})
    assert status == 206 and len(part) == 100
    assert headers["Content-Range"] == f"bytes 100-199/{size}"
    assert part == open(hits[0]["path"], "rb").read()[100:200]
    like = body(server("POST", "/search", {"like_path": hits[0]["path"], "top": 2}))["hits"]
    assert like[0]["path"] == hits[0]["path"]


@pytest.mark.parametrize("path_of", [
    lambda m: str(m["allowed"] / ".." / "outside" / "secret.mp4"),   # ../
    lambda m: str(m["outside"] / "secret.mp4"),                       # absolute, elsewhere
    lambda m: str(m["allowed"] / "escape.mp4"),                       # a symlink leading out
])
def test_paths_outside_the_roots_are_refused(server, media, path_of):
    status, _, raw = server("POST", "/classify", {"path": path_of(media), "labels": ["a"]})
    assert status == 403 and json.loads(raw)["type"] == "forbidden"
    status, _, _ = server("POST", "/search", {"like_path": path_of(media)})
    assert status == 403


def test_encoded_traversal_in_urls(server):
    for path in ["/media/thumbnails/%2e%2e/%2e%2e/etc/passwd", "/media/videos/../../etc/passwd",
                 "/media/thumbnails/..%2f..%2fetc%2fpasswd"]:
        status, _, raw = server("GET", path)
        assert status == 404 and json.loads(raw)["type"] == "not_found", path
    # A path outside the roots is refused whether or not it exists (403 never tells which).
    status, _, raw = server("POST", "/classify", {"path": "%2e%2e/%2e%2e/etc/passwd", "labels": ["a"]})
    assert status == 403


def test_error_codes(server, media):
    # 400: malformed JSON, invalid UTF-8, too deep
    assert server("POST", "/embed/text", raw=b'{"inputs": [', headers={"Content-Type": "application/json"})[0] == 400
    status, _, raw = server("POST", "/embed/text", raw=b'{"inputs": "\xff\xfe"}',
                            headers={"Content-Type": "application/json"})
    assert status == 400 and json.loads(raw)["type"] == "invalid_json"
    deep = b'{"inputs": ' + b"[" * 100 + b"]" * 100 + b"}"
    assert server("POST", "/embed/text", raw=deep, headers={"Content-Type": "application/json"})[0] == 400
    # 422: well-formed but invalid
    for bad in [{}, {"inputs": []}, {"inputs": 3}, {"inputs": [""]}, {"inputs": ["a", 1]}]:
        status, _, raw = server("POST", "/embed/text", bad)
        assert status == 422 and json.loads(raw)["type"] == "validation", bad
    assert server("POST", "/classify", {"path": str(media["allowed"] / "clip0.mp4")})[0] == 422
    assert server("POST", "/search", {"top": 3})[0] == 422
    corrupt = server("POST", "/embed/video", raw=b"not a video" * 100, headers={"Content-Type": "video/mp4"})
    assert corrupt[0] == 422 and "video" in json.loads(corrupt[2])["error"]
    # 404
    status, _, raw = server("GET", "/no/such/route")
    assert status == 404 and json.loads(raw)["type"] == "not_found"
    assert server("GET", "/media/thumbnails/999999.jpg")[0] == 404
    # 413: an upload over --max-upload-mb 1 (raw and multipart), a JSON body over 1 MB
    big = os.urandom(2 << 20)
    head = (f"POST /embed/video HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: video/mp4\r\n"
            f"Content-Length: {len(big)}\r\n\r\n").encode()
    status, raw = raw_exchange(server.port, head, big)
    assert status == 413 and json.loads(raw)["type"] == "payload_too_large"
    data, headers = multipart({"labels": "a"}, {"video": ("big.mp4", big)})
    head = (f"POST /classify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {headers['Content-Type']}\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode()
    assert raw_exchange(server.port, head, data)[0] == 413
    # Chunked (no length announced): the limit stops the stream.
    chunked = b"".join(b"%x\r\n" % len(big[i:i + 65536]) + big[i:i + 65536] + b"\r\n"
                       for i in range(0, len(big), 65536)) + b"0\r\n\r\n"
    head = b"POST /embed/video HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: video/mp4\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert raw_exchange(server.port, head, chunked)[0] == 413
    # Refused from its announced size, before it is read: the answer may come while it is sent.
    body = json.dumps({"inputs": ["x" * (1 << 20)]}).encode()
    head = (f"POST /embed/text HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    assert raw_exchange(server.port, head, body)[0] == 413
    # The uploads left nothing behind in the private folder.
    leftovers = [p for p in os.listdir("/tmp") if p.startswith("xclip-serve-")
                 for f in os.listdir(os.path.join("/tmp", p)) if f.startswith("upload-")]
    assert leftovers == []


def test_api_key(media):
    s = Server([], env={"XCLIP_API_KEY": "s3cret"})
    try:
        assert s("GET", "/health")[0] == 200  # the health check and the page need no key
        assert s("GET", "/")[0] == 200
        status, _, raw = s("POST", "/embed/text", {"inputs": ["a"]})
        assert status == 401 and json.loads(raw)["type"] == "unauthorized"
        assert s("POST", "/embed/text", {"inputs": ["a"]}, headers={"Authorization": "Bearer wrong"})[0] == 401
        assert s("POST", "/embed/text", {"inputs": ["a"]}, headers={"Authorization": "s3cret"})[0] == 401
        assert s("GET", "/metrics")[0] == 401
        assert s("POST", "/embed/text", {"inputs": ["a"]}, headers={"Authorization": "Bearer s3cret"})[0] == 200
        assert s("POST", "/search", {"query": "a"}, headers={"Authorization": "Bearer s3cret"})[0] == 404  # no index
    finally:
        assert s.stop() == 0


def test_queue_full_gives_429(media):
    s = Server(["--max-queue", "1", "--max-batch", "1", "--max-wait-ms", "50", "--allow-dir", str(media["allowed"])])
    try:
        codes = []
        lock = threading.Lock()

        def hit():
            r = s("POST", "/embed/text", {"inputs": ["a dog running on the beach"]})
            with lock:
                codes.append(r[0])
            if r[0] == 429:
                assert json.loads(r[2])["type"] == "overloaded"

        threads = [threading.Thread(target=hit) for _ in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert set(codes) <= {200, 429} and 429 in codes and 200 in codes, codes
    finally:
        assert s.stop() == 0


def test_not_ready_gives_503(tmp_path):
    # A model folder that takes a while: the server answers 503 until it is loaded (here it
    # never loads: the weights are missing), never a crash.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((MODEL / "config.json").read_text())
    port = __import__("conftest").free_port()
    proc = subprocess.Popen([str(XCLIP), "serve", "--model", str(broken), "--port", str(port), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                status, _, raw = request(base, "GET", "/health", timeout=2)
                break
            except OSError:
                time.sleep(0.05)
        assert status == 503 and json.loads(raw)["type"] == "unavailable"
        assert request(base, "POST", "/embed/text", {"inputs": ["a"]})[0] == 503
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def test_sigterm_finishes_the_request_in_flight(media):
    s = Server(["--allow-dir", str(media["allowed"]), "--max-wait-ms", "1500"])
    result = {}

    def slow():  # waits 1.5 s in the batcher before its forward
        result["r"] = s("POST", "/embed/text", {"inputs": ["a request in flight"]})

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.5)
    s.proc.send_signal(signal.SIGTERM)
    t.join(timeout=30)
    assert s.proc.wait(timeout=30) == 0
    assert result["r"][0] == 200 and len(json.loads(result["r"][2])) == 1


def test_binds_loopback_by_default():
    out = subprocess.run([str(XCLIP), "serve", "--help"], capture_output=True, text=True, check=True).stdout
    assert "default 127.0.0.1" in out
