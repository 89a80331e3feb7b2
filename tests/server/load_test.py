"""Load test of `xclip serve` on the tiny model, loopback only, bounded in time, stops by
itself. Prints its figures; fails on any error but the deliberate 429s.

  1. 32 clients for XCLIP_LOAD_SECONDS (default 60) mixing /embed/text, /search and
     /classify: every answer 200; p50/p99 per route; and nothing leaks. Leaks are judged
     between two idle moments (after a warm-up, after the run) on what can be counted
     exactly: malloc's bytes in use less the sessions' activation workspaces (those grow to
     the largest batch seen, which is bounded by --max-batch), open file descriptors and
     threads. The server runs without glibc's per-thread caches here, because malloc counts
     the chunks they hold as in use (15 MiB of them on this test, growing as more of the 64
     HTTP threads take requests). Resident memory is printed and only bounded loosely: it
     also holds the free pages malloc keeps in each thread's arena, and that moves by about
     10 % from run to run.
  2. The same clients against --max-queue 2: only 200 and 429, and some 429.
  3. /embed/text throughput with dynamic batching (--max-batch 32) against --max-batch 1,
     as a ratio measured in this run, on base-patch32: the tiny model's text tower costs
     less than the HTTP round trip, so batching it shows nothing.
"""

import json
import os
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from conftest import Server, make_video, metric_values  # noqa: E402

import subprocess  # noqa: E402
import tempfile  # noqa: E402

from conftest import MODEL, XCLIP  # noqa: E402

SECONDS = float(os.environ.get("XCLIP_LOAD_SECONDS", "60"))
CLIENTS = 32
WORDS = ["a dog", "a cat", "two people", "a red car", "the sea", "a bird", "a city", "a fractal", "colour bars",
         "children", "a mountain", "rain"]


# Bytes a request may leave behind on average before the leak check fails. Leak-free runs
# measure 0-1; a 96-byte block leaked by every /embed/text request measured 43 (the routes
# share the count), a 2 KiB text embedding would be hundreds.
LEAK_BYTES_PER_REQUEST = 8
# A bound on resident-memory growth that allocator retention stays inside (see above).
RESIDENT_GROWTH_LIMIT = 0.25


def footprint(server):
    """What the server holds while idle: {name: count}."""
    time.sleep(1.5)  # requests' sockets close; the server trims its heap after a second idle
    pid = server.proc.pid
    threads = next(int(line.split()[1]) for line in open(f"/proc/{pid}/status") if line.startswith("Threads:"))
    values = metric_values(server)
    return {"heap": values["xclip_heap_in_use_bytes"] - values["xclip_workspace_bytes"],
            "resident": values["process_resident_memory_bytes"],
            "fds": len(os.listdir(f"/proc/{pid}/fd")), "threads": threads}


def leak_failures(before, after, requests):
    """Prints the footprint's change over the run; -> what counts as a leak."""
    mib = 1024 * 1024
    heap_growth = after["heap"] - before["heap"]
    resident_growth = (after["resident"] - before["resident"]) / before["resident"]
    print(f"  heap in use (less workspaces): {before['heap'] / mib:.2f} -> {after['heap'] / mib:.2f} MiB "
          f"({heap_growth / requests:+.1f} bytes per request)")
    print(f"  open files {before['fds']} -> {after['fds']}, threads {before['threads']} -> {after['threads']}")
    print(f"  resident memory: {before['resident'] / mib:.1f} -> {after['resident'] / mib:.1f} MiB "
          f"({100 * resident_growth:+.1f} %)")
    failures = []
    if heap_growth > LEAK_BYTES_PER_REQUEST * requests:
        failures.append(f"heap grew by {heap_growth / requests:.0f} bytes per request "
                        f"(limit {LEAK_BYTES_PER_REQUEST})")
    for what in ["fds", "threads"]:
        if after[what] > before[what]:
            failures.append(f"{what}: {before[what]} after warm-up, {after[what]} after the run")
    if resident_growth > RESIDENT_GROWTH_LIMIT:
        failures.append(f"resident memory grew by {100 * resident_growth:.1f} % "
                        f"(limit {100 * RESIDENT_GROWTH_LIMIT:.0f} %)")
    return failures


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def run_clients(server, seconds, routes, clip):
    """CLIENTS threads calling random routes until `seconds` pass. -> {route: [(code, s)]}"""
    results = {r: [] for r in routes}
    lock = threading.Lock()
    stop_at = time.time() + seconds

    def client(seed):
        rng = random.Random(seed)
        while time.time() < stop_at:
            route = rng.choice(routes)
            text = " ".join(rng.sample(WORDS, 2))
            if route == "/embed/text":
                body = {"inputs": [text]}
            elif route == "/search":
                body = {"query": text, "top": 10, "rerank": 50}
            else:
                body = {"path": clip, "labels": rng.sample(WORDS, 5)}
            t0 = time.perf_counter()
            status = server("POST", route, body, timeout=120)[0]
            with lock:
                results[route].append((status, time.perf_counter() - t0))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def main():
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "videos").mkdir()
        clips = [str(make_video(tmp / "videos" / f"clip{i}.mp4", s, 8)) for i, s in
                 enumerate(["testsrc2", "mandelbrot", "life", "smptebars"])]
        subprocess.run([str(XCLIP), "index", str(tmp / "videos"), "--index", str(tmp / "index"), "--model",
                        str(MODEL), "--window", "1", "--quiet"], check=True, capture_output=True)
        routes = ["/embed/text", "/search", "/classify"]

        # 1. Mixed load.
        server = Server(["--index", str(tmp / "index"), "--allow-dir", str(tmp / "videos")],
                        env={"GLIBC_TUNABLES": "glibc.malloc.tcache_count=0"})
        try:
            run_clients(server, 10, routes, clips[0])  # warm-up: sessions, caches, label cache
            before = footprint(server)
            results = run_clients(server, SECONDS, routes, clips[0])
            after = footprint(server)
            for _ in range(5):  # a connection may still be closing: a leaked one never does
                if after["fds"] <= before["fds"] and after["threads"] <= before["threads"]:
                    break
                after = footprint(server)
            print(f"mixed load: {CLIENTS} clients, {SECONDS:.0f} s")
            for route, rs in results.items():
                codes = sorted({c for c, _ in rs})
                lat = [s * 1000 for c, s in rs if c == 200]
                print(f"  {route:12s} {len(rs):6d} requests  {len(rs) / SECONDS:7.1f}/s  codes {codes}  "
                      f"p50 {percentile(lat, 0.5):7.1f} ms  p99 {percentile(lat, 0.99):7.1f} ms")
                if codes != [200]:
                    failures.append(f"{route}: codes {codes} (all must be 200)")
            failures += leak_failures(before, after, sum(len(rs) for rs in results.values()))
        finally:
            if server.stop() != 0:
                failures.append("the server did not exit 0 on SIGTERM")

        # 2. A deliberately small queue.
        server = Server(["--index", str(tmp / "index"), "--allow-dir", str(tmp / "videos"), "--max-queue", "2"])
        try:
            results = run_clients(server, min(10.0, SECONDS), routes, clips[1])
            codes = sorted({c for rs in results.values() for c, _ in rs})
            n429 = sum(c == 429 for rs in results.values() for c, _ in rs)
            total = sum(len(rs) for rs in results.values())
            print(f"--max-queue 2: {total} requests, codes {codes}, {n429} answered 429")
            if not set(codes) <= {200, 429} or 429 not in codes:
                failures.append(f"small queue: codes {codes} (expected 200 and some 429)")
        finally:
            server.stop()

        # 3. Dynamic batching against none, /embed/text only, same clients and time.
        rates = {}
        for max_batch in ["32", "1"]:
            server = Server(["--max-batch", max_batch, "--max-wait-ms", "5"], model=MODEL.parent / "base-patch32")
            try:
                run_clients(server, 2, ["/embed/text"], clips[0])
                rs = run_clients(server, min(15.0, SECONDS), ["/embed/text"], clips[0])["/embed/text"]
                ok = sum(c == 200 for c, _ in rs)
                rates[max_batch] = ok / min(15.0, SECONDS)
                lat = [s * 1000 for c, s in rs if c == 200]
                print(f"/embed/text --max-batch {max_batch:>2}: {rates[max_batch]:7.1f} requests/s  "
                      f"p50 {percentile(lat, 0.5):6.1f} ms  p99 {percentile(lat, 0.99):6.1f} ms")
                if ok != len(rs):
                    failures.append(f"--max-batch {max_batch}: {len(rs) - ok} errors")
            finally:
                server.stop()
        ratio = rates["32"] / rates["1"]
        print(f"dynamic batching: {ratio:.2f}x the throughput of --max-batch 1")
        if ratio <= 1.0:
            failures.append(f"dynamic batching is not faster ({ratio:.2f}x)")

    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("load test passed")
    return 0


if __name__ == "__main__":
    import pytest  # conftest's helpers report failures through pytest.fail

    try:
        sys.exit(main())
    except pytest.fail.Exception as e:
        print(f"FAILED: {e}")
        sys.exit(1)
