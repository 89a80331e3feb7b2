"""xclip serve against hostile clients and files, on loopback, each loop bounded in count and
time: a decode bomb, header floods, slowloris, DNS rebinding and cross-site requests,
ambiguous framing, oversized JSON, unread bodies after 401, pipelining, keep-alive latency.
Each case failed on the server before these defences (see issue 26's probe table)."""

import http.client
import json
import os
import socket
import subprocess
import threading
import time

import pytest

from conftest import Server, raw_exchange, read_answer


def peak_rss_mb(server):
    with open(f"/proc/{server.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


def open_connection(port):
    return socket.create_connection(("127.0.0.1", port), timeout=10)


@pytest.fixture(scope="module")
def server():
    s = Server(["--request-timeout", "3"])
    yield s
    assert s.stop() == 0


def test_decode_bomb_is_refused_before_decoding(tmp_path):
    bomb = tmp_path / "bomb.mp4"  # ~200 KB: two 8192x8192 frames (67 Mpixels each)
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "color=c=gray:size=8192x8192:rate=1", "-frames:v", "2", "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(bomb)], check=True)
    s = Server([])
    try:
        before = peak_rss_mb(s)
        status, _, body = s("POST", "/embed/video", raw=bomb.read_bytes(), headers={"Content-Type": "video/mp4"})
        assert status == 422, body
        message = json.loads(body)["error"]
        assert "decode limit" in message and "--max-pixels" in message and "8192x8192" in message
        assert str(tmp_path) not in message and "upload-" not in message  # no server-side path
        # Decoding it would hold gigabytes; refusing it costs next to nothing.
        assert peak_rss_mb(s) - before < 150, (before, peak_rss_mb(s))
    finally:
        assert s.stop() == 0
    raised = Server(["--max-pixels", str(8192 * 8192)])
    try:
        status, _, body = raised("POST", "/embed/video", raw=bomb.read_bytes(), headers={"Content-Type": "video/mp4"})
        assert status == 200, body
    finally:
        assert raised.stop() == 0


def test_cli_names_the_limit(tmp_path):
    from conftest import XCLIP, make_video

    clip = make_video(tmp_path / "small.mp4", "testsrc2", 1)  # 96x64
    done = subprocess.run([str(XCLIP), "probe", str(clip), "--max-pixels", "1000"], capture_output=True, text=True)
    assert done.returncode == 1 and "decode limit" in done.stderr and "--max-pixels" in done.stderr


def test_header_flood_before_authentication_is_cut_short():
    s = Server([], env={"XCLIP_API_KEY": "s3cret"})
    try:
        before = peak_rss_mb(s)

        def flood():
            with open_connection(s.port) as sock:
                sock.sendall(b"GET /info HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                try:
                    for _ in range(2000):  # bounded: at most 2000 x 4 KB
                        sock.sendall(b"X-Flood: " + b"a" * 4000 + b"\r\n")
                except OSError:
                    pass  # answered and closed
                return read_answer(sock)[0]

        statuses = []
        threads = [threading.Thread(target=lambda: statuses.append(flood())) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert statuses == [431] * 4
        assert peak_rss_mb(s) - before < 50
    finally:
        assert s.stop() == 0


def test_slowloris_neither_blocks_others_nor_delays_shutdown():
    s = Server(["--http-threads", "4", "--request-timeout", "30"])
    drippers = []
    try:
        for _ in range(70):  # more connections than --http-threads
            sock = open_connection(s.port)
            sock.sendall(b"POST /embed/text HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            drippers.append(sock)
        stop = threading.Event()

        def drip():
            while not stop.is_set():
                for sock in drippers:
                    try:
                        sock.send(b"X")
                    except OSError:
                        pass
                stop.wait(0.5)

        dripper = threading.Thread(target=drip)
        dripper.start()
        try:
            for _ in range(5):  # a fresh client is answered at once, each time
                t0 = time.monotonic()
                assert s("GET", "/health", timeout=5)[0] == 200
                assert time.monotonic() - t0 < 1.0
                status, _, _ = s("POST", "/embed/text", {"inputs": ["a dog"]}, timeout=5)
                assert status == 200
            t0 = time.monotonic()
            assert s.stop() == 0  # SIGTERM with 70 dripping clients connected
            assert time.monotonic() - t0 < 5
        finally:
            stop.set()
            dripper.join()
    finally:
        for sock in drippers:
            sock.close()
        s.stop()


def test_a_dripping_head_is_closed_at_its_deadline(server):
    with open_connection(server.port) as sock:
        t0 = time.monotonic()
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        status, _ = read_answer(sock, timeout=15)
        assert status == 408 and time.monotonic() - t0 < 8  # --request-timeout 3 bounds the head


def test_connection_limits_refuse_quickly():
    s = Server(["--max-connections-per-client", "5"])
    held = []
    try:
        for _ in range(5):
            held.append(open_connection(s.port))
        time.sleep(0.2)
        with open_connection(s.port) as extra:
            extra.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            t0 = time.monotonic()
            status, data = read_answer(extra)
            assert status == 503 and b"Retry-After" in data and time.monotonic() - t0 < 2
    finally:
        for sock in held:
            sock.close()
        assert s.stop() == 0


def test_dns_rebinding_and_cross_site_requests(server):
    # A page of rebind.attacker.example resolved to 127.0.0.1: its requests carry that Host.
    status, _, body = server("GET", "/info", headers={"Host": f"rebind.attacker.example:{server.port}"})
    assert status == 403 and json.loads(body)["type"] == "forbidden_host"
    assert server("POST", "/embed/text", {"inputs": ["a"]}, headers={"Host": "rebind.attacker.example"})[0] == 403
    # A cross-site page: simple requests (text/plain, forms) need no preflight.
    evil = {"Origin": "https://evil.example"}
    assert server("POST", "/embed/text", {"inputs": ["a"]}, headers=evil)[0] == 403
    for path in ("/search", "/embed/text", "/embed/video"):
        status, _, _ = server("POST", path, raw=b'{"inputs": ["a"]}', headers={"Content-Type": "text/plain"})
        assert status == 415, path
    assert server("POST", "/embed/text", raw=b"inputs=a",
                  headers={"Content-Type": "application/x-www-form-urlencoded"})[0] == 415
    # This server's own page is allowed, and so are clients that send no Origin.
    own = {"Origin": server.base}
    assert server("POST", "/embed/text", {"inputs": ["a"]}, headers=own)[0] == 200
    assert server("POST", "/embed/text", {"inputs": ["a"]})[0] == 200
    status, headers, _ = server("GET", "/")
    assert status == 200 and "script-src 'self'" in headers["Content-Security-Policy"]


def test_allow_host_and_allow_origin():
    s = Server(["--allow-host", "videos.example", "--allow-origin", "https://app.example"])
    try:
        assert s("GET", "/info", headers={"Host": f"videos.example:{s.port}"})[0] == 200
        assert s("POST", "/embed/text", {"inputs": ["a"]}, headers={"Origin": "https://app.example"})[0] == 200
        assert s("POST", "/embed/text", {"inputs": ["a"]}, headers={"Origin": "https://other.example"})[0] == 403
    finally:
        assert s.stop() == 0


def test_ambiguous_framing_is_refused(server):
    for fields, expected in ((b"Content-Length: 2\r\nContent-Length: 2\r\n", 400),
                             (b"Content-Length: 2\r\nContent-Length: 30\r\n", 400),
                             (b"Transfer-Encoding: gzip\r\n", 501),
                             (b"Transfer-Encoding: chunked\r\nContent-Length: 2\r\n", 400)):
        head = b"POST /embed/text HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + fields + b"\r\n"
        assert raw_exchange(server.port, head, b"{}")[0] == expected, fields


def test_oversized_json_is_refused_from_its_announced_size(server):
    head = (b"POST /embed/text HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 209715200\r\n\r\n")
    with open_connection(server.port) as sock:
        sock.sendall(head + b"{" * 1024)  # the 200 MB never come: the answer must not wait for them
        status, data = read_answer(sock, timeout=5)
        assert status == 413 and b"payload_too_large" in data


def test_unread_body_after_401_is_not_a_request():
    s = Server([], env={"XCLIP_API_KEY": "s3cret"})
    try:
        smuggled = b"GET /info HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer s3cret\r\n\r\n"
        head = (b"POST /embed/text HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % len(smuggled))
        with open_connection(s.port) as sock:
            sock.sendall(head)
            time.sleep(0.3)  # the body in a segment of its own (cpp-httplib alone read it as a request)
            sock.sendall(smuggled)
            status, data = read_answer(sock)
            assert status == 401
            _, rest = read_answer(sock, 3, until=lambda d: False)  # whatever else comes, for 3 s
            assert b"HTTP/1.1 200" not in data + rest  # the body was never answered as a request
    finally:
        assert s.stop() == 0


def test_pipelined_requests_are_all_answered(server):
    two = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with open_connection(server.port) as sock:
        sock.sendall(two)
        _, data = read_answer(sock, 5, until=lambda d: d.count(b"HTTP/1.1 200") >= 2)
        assert data.count(b"HTTP/1.1 200") == 2


def test_keep_alive_answers_without_nagle_delay(server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        times = []
        for _ in range(21):
            t0 = time.perf_counter()
            connection.request("POST", "/embed/text", body=b'{"inputs": ["a"]}',
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            times.append(time.perf_counter() - t0)
        # With Nagle and delayed ACKs each answer on a kept-alive connection waited ~40 ms.
        assert sorted(times[1:])[10] < 0.030, times
    finally:
        connection.close()


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """A server over an index of one video of its own (the test swaps the file)."""
    from conftest import MODEL, XCLIP, make_video

    root = tmp_path_factory.mktemp("hostile_media")
    videos = root / "videos"
    videos.mkdir()
    clip = make_video(videos / "clip.mp4", "testsrc2", 4)
    index = root / "index.xclip"
    subprocess.run([str(XCLIP), "index", str(videos), "--index", str(index), "--model", str(MODEL), "--window", "2",
                    "--quiet"], check=True, capture_output=True)
    s = Server(["--index", str(index), "--allow-dir", str(videos)])
    hits = json.loads(s("POST", "/search", {"query": "a pattern", "top": 1})[2])["hits"]
    yield {"server": s, "clip": clip, "size": clip.stat().st_size, "video": hits[0]["video"], "root": root}
    assert s.stop() == 0


def test_range_requests_follow_rfc_9110(indexed):
    s, size, url = indexed["server"], indexed["size"], indexed["video"]
    status, headers, body = s("GET", url, headers={"Range": "bytes=0-99999999"})
    assert status == 206 and headers["Content-Range"] == f"bytes 0-{size - 1}/{size}" and len(body) == size
    status, headers, body = s("GET", url, headers={"Range": "bytes=10-19"})
    assert status == 206 and headers["Content-Range"] == f"bytes 10-19/{size}" and len(body) == 10
    status, headers, _ = s("GET", url, headers={"Range": f"bytes={size}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{size}"
    status, _, body = s("GET", url, headers={"Range": "bytes=-5"})
    assert status == 206 and body == indexed["clip"].read_bytes()[-5:]
    status, headers, body = s("GET", url, headers={"Range": "bytes=0-1,5-6"})  # several: the whole file
    assert status == 200 and len(body) == size
    assert s("GET", url)[0] == 200


def test_media_ids_and_numbers_out_of_range(indexed):
    s = indexed["server"]
    assert s("GET", "/media/videos/99999999999999999999")[0] == 404
    assert s("GET", "/media/thumbnails/99999999999999999999.jpg")[0] == 404
    for top in (4294967297, 1e30, -1, "3"):
        assert s("POST", "/search", {"query": "a", "top": top})[0] == 422, top


def test_outside_paths_do_not_reveal_existence(indexed):
    s = indexed["server"]
    outside_existing = s("POST", "/search", {"like_path": "/etc/hostname"})
    outside_missing = s("POST", "/search", {"like_path": "/etc/no-such-file-here"})
    assert outside_existing[0] == outside_missing[0] == 403


def test_classify_with_query_parameters_and_bad_forms(indexed):
    s, clip = indexed["server"], indexed["clip"].read_bytes()
    status, _, body = s("POST", "/classify?labels=a%20dog,a%20cat&top=1", raw=clip, headers={"Content-Type": "video/mp4"})
    assert status == 200 and len(json.loads(body)["labels"]) == 1
    boundary = "xclipboundary"
    part = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"video\"; filename=\"a.mp4\"\r\n"
            f"Content-Type: video/mp4\r\n\r\n").encode() + clip + b"\r\n"
    labels = f"--{boundary}\r\nContent-Disposition: form-data; name=\"labels\"\r\n\r\na,b\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    assert s("POST", "/classify", raw=labels + part + part + f"--{boundary}--\r\n".encode(), headers=headers)[0] == 422
    assert s("POST", "/classify", raw=labels + part, headers=headers)[0] == 400  # no closing boundary


def test_a_file_swapped_for_a_symlink_is_not_served(indexed):
    s, clip = indexed["server"], indexed["clip"]
    backup = clip.with_suffix(".bak")
    os.rename(clip, backup)
    try:
        os.symlink("/etc/passwd", clip)
        status, _, body = s("GET", indexed["video"])
        assert status == 404 and b"root:" not in body
    finally:
        os.unlink(clip)
        os.rename(backup, clip)
    assert s("GET", indexed["video"])[0] == 200


def test_large_requests_are_split_and_queued_not_refused():
    s = Server(["--max-batch", "4", "--max-queue", "8"])
    try:
        texts = [f"text number {i}" for i in range(300)]  # more than the queue, within the 1024 limit
        status, headers, body = s("POST", "/embed/text", {"inputs": texts}, timeout=120)
        assert status == 200 and len(json.loads(body)) == 300
        sizes = {line.split("le=")[1].split('"')[1]: float(line.rsplit(" ", 1)[1])
                 for line in s("GET", "/metrics")[2].decode().splitlines()
                 if line.startswith("xclip_batch_size_bucket") and 'kind="text"' in line}
        assert sizes and sizes.get("4") == sizes.get("+Inf"), sizes  # no forward above --max-batch
    finally:
        assert s.stop() == 0
