"""A sharded index built on Dask: on a LocalCluster, and on a cluster started by hand with
Debian's `dask scheduler` / `dask worker` CLI on loopback, one worker SIGKILLed mid-build.
Either way the collection equals a single-process index of the same files, bit for bit in
the stored features, and searches like it."""

import glob
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from distributed import Client, LocalCluster

import xclip
from xclip.distributed import index_collection
from conftest import make_video, model_dir

SOURCES = ["testsrc2", "smptebars", "rgbtestsrc", "mandelbrot", "life", "testsrc"]


def make_clips(root, count, seconds):
    root.mkdir(exist_ok=True)
    return [make_video(root / f"clip{i}.mp4", f"{SOURCES[i % 6]}=size=96x64:rate=8",
                       f"-t {seconds} -vf hue=H={i}+t*0.7") for i in range(count)]


def stored(index_dir):
    """(path, start) -> raw bytes of every window's embedding, keys/values, thumbnail and frames."""
    out = {}
    for db in glob.glob(os.path.join(index_dir, "**", "index.sqlite"), recursive=True):
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
            for path, start, *blobs in con.execute(
                    "SELECT v.path, w.start_s, w.embedding, f.keys_values, f.thumbnail, w.frame_indices FROM windows w "
                    "JOIN videos v ON v.id = w.video_id JOIN window_features f ON f.window_id = w.id"):
                assert (path, start) not in out, f"{path} at {start} stored twice"
                out[(path, start)] = tuple(blobs)
    return out


def committed_windows(index_dir):
    total = 0
    for db in glob.glob(os.path.join(index_dir, "shard-*", "index.sqlite")):
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2) as con:
                total += con.execute("SELECT COUNT(*) FROM windows").fetchone()[0]
        except sqlite3.Error:
            pass  # being created
    return total


def single_index(tmp_path, clips, window):
    path = str(tmp_path / "single.xclip")
    index = xclip.VideoIndex(path, model=model_dir("tiny"), window_seconds=window, num_threads=1)
    index.update(clips)
    return path


def assert_searches_alike(one_dir, many_dir):
    one, many = xclip.VideoIndex(one_dir, create=False), xclip.VideoIndex(many_dir, create=False)
    for query in ["a test pattern", "colour bars"]:
        a, b = one.search(query, top=8), many.search(query, top=8)
        assert [(h.path, h.start, h.end) for h in a] == [(h.path, h.start, h.end) for h in b]
        assert max(abs(x.score - y.score) for x, y in zip(a, b)) <= 1e-6


def test_local_cluster_builds_the_same_index(tmp_path):
    clips = make_clips(tmp_path / "videos", 5, 4)
    corrupt = tmp_path / "videos" / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4096))
    reference = single_index(tmp_path, clips, 1.0)
    events = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        many = str(tmp_path / "many.xclip")
        report = index_collection([str(tmp_path / "videos")], many, model_dir("tiny"), client, shards=3,
                                  on_progress=events.append, window_seconds=1.0, num_threads=1)
        assert report["added"] == 5 and report["decoded"] == 6
        # Progress: every embedded file, and one event at the end of each shard's two tasks.
        deadline = time.monotonic() + 10
        while sum(bool(e.get("done")) for e in events) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        done = sorted((e["shard"], e["pass"]) for e in events if e.get("done"))
        assert done == [(s, p) for s in range(3) for p in ("embed", "remove")], events
        files = [e for e in events if not e.get("done")]
        assert len(files) == 6 and all(e["files_done"] <= e["files_total"] for e in files)
        assert [path for path, _ in report["failed"]] == [str(corrupt)] and report["failed"][0][1]
        assert stored(many) == stored(reference)
        assert_searches_alike(reference, many)
        # Each worker process opened the collection (and loaded the model) once.
        opened = client.run(lambda: len(__import__("xclip.distributed").distributed._indexes))
        assert sorted(opened.values()) == [1, 1]
        # A re-run decodes nothing; the unreadable file stays remembered, not retried.
        again = index_collection([str(tmp_path / "videos")], many, model_dir("tiny"), client, shards=3,
                                 window_seconds=1.0, num_threads=1)
        assert again["unchanged"] == 5 and again["decoded"] == 0 and len(again["failed"]) == 1
        # Moved to a path of another shard: that shard's task copies it from the old shard
        # (read while the old shard's own task runs), the second pass drops the old copy.
        renamed = next(str(tmp_path / "videos" / f"renamed{k}.mp4") for k in range(100)
                       if xclip.VideoIndex.shard_of(str(tmp_path / "videos" / f"renamed{k}.mp4"), 3)
                       != xclip.VideoIndex.shard_of(clips[0], 3))
        before = stored(many)
        os.rename(clips[0], renamed)
        moved = index_collection([str(tmp_path / "videos")], many, model_dir("tiny"), client, shards=3,
                                 window_seconds=1.0, num_threads=1)
        assert moved["moved"] == 1 and moved["decoded"] == 0 and moved["removed"] == 1
        assert stored(many) == {((renamed if path == clips[0] else path), start): v
                                for (path, start), v in before.items()}
        os.rename(renamed, clips[0])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_workers(client, n, timeout=60):
    deadline = time.monotonic() + timeout
    while len(client.scheduler_info()["workers"]) < n:
        assert time.monotonic() < deadline, "the dask workers did not join the scheduler"
        time.sleep(0.1)


@pytest.fixture
def cli_cluster(tmp_path):
    """`dask scheduler` and two `dask worker` processes (no nanny: SIGKILL kills the worker
    itself) on loopback; stopped at the end whatever happened."""
    port = free_port()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    logs = open(tmp_path / "dask.log", "w")
    dask = ["/usr/bin/dask"] if os.path.exists("/usr/bin/dask") else [sys.executable, "-m", "dask"]
    processes = [subprocess.Popen(dask + ["scheduler", "--host", "127.0.0.1", "--port", str(port),
                                          "--dashboard-address", ":0", "--no-show"],
                                  env=env, stdout=logs, stderr=logs)]
    address = f"tcp://127.0.0.1:{port}"
    try:
        for _ in range(2):
            processes.append(subprocess.Popen(dask + ["worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                                                      "--no-nanny", "--no-dashboard", "--death-timeout", "60"],
                                              env=env, stdout=logs, stderr=logs))
        with Client(address, timeout=60) as client:
            wait_for_workers(client, 2)
            yield client
    finally:
        for p in reversed(processes):
            if p.poll() is None:
                p.terminate()
        for p in processes:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        logs.close()


def test_cli_cluster_survives_a_killed_worker(tmp_path, cli_cluster):
    client = cli_cluster
    clips = make_clips(tmp_path / "videos", 6, 60)
    reference = single_index(tmp_path, clips, 1.0)
    many = str(tmp_path / "many.xclip")
    total = len(stored(reference))
    pids = client.run(os.getpid)
    outcome = {}

    def build():
        try:
            outcome["report"] = index_collection([str(tmp_path / "videos")], many, model_dir("tiny"), client,
                                                 shards=3, window_seconds=1.0, num_threads=1)
        except Exception as e:  # a KilledWorker, if Dask gives up on the task
            outcome["error"] = e

    builder = threading.Thread(target=build)
    builder.start()
    deadline = time.monotonic() + 120
    while committed_windows(many) < 10 and time.monotonic() < deadline:
        time.sleep(0.005)
    busy = [address for address, tasks in client.processing().items() if tasks]
    assert busy and committed_windows(many) < total, "the build finished before a worker could be killed"
    committed_at_kill = committed_windows(many)
    os.kill(pids[busy[0]], signal.SIGKILL)
    builder.join(timeout=300)
    assert not builder.is_alive()
    print(f"killed {busy[0]} at {committed_at_kill} of {total} windows; first call: {outcome}")
    # Whether Dask re-ran the lost task on the other worker or gave up, the same call again
    # completes the collection.
    report = index_collection([str(tmp_path / "videos")], many, model_dir("tiny"), client, shards=3,
                              window_seconds=1.0, num_threads=1)
    assert not report["failed"], report["failed"]
    assert stored(many) == stored(reference)
    assert_searches_alike(reference, many)
