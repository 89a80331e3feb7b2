"""Embedding and indexing a large collection on a Dask distributed cluster.

    from distributed import Client
    from xclip.distributed import embed_collection, index_collection
    client = Client("tcp://scheduler:8786")          # or a LocalCluster
    result = embed_collection(paths, "/models/xclip-base-patch32", client, batch_size=32)
    result.embeddings, result.paths, result.errors

    report = index_collection(["/videos"], "/data/videos.xclip", "/models/xclip-base-patch32",
                              client, shards=8, window_seconds=10)
    report["added"], report["failed"]          # then xclip.VideoIndex("/data/videos.xclip").search(...)

Each worker process loads the model once (a per-process cache keyed by the model and the
options) and keeps it for every later task. A video that cannot be read comes back with its
reason; nothing is dropped silently. Workers need xclip importable and the model folder (or
the hub cache), the videos and (for an index) the collection folder at the same paths.
"""

import os
import threading
import time
import uuid

import numpy as np

from ._xclip import VideoIndex
from .dtypes import weight_type
from .workflow import Embeddings, Workflow

_workers = {}
_indexes = {}
_lock = threading.Lock()


def _worker_workflow(model, options):
    key = (model, tuple(sorted(options.items())))
    with _lock:
        if key not in _workers:
            _workers[key] = Workflow(model, **options)
        return _workers[key]


def embed_batch(paths, model, options):
    """One task: (embeddings [n, D], paths, {path: error}) for a batch of paths."""
    result = _worker_workflow(model, options).embed_videos(paths)
    return result.embeddings, result.paths, result.errors


def embed_collection(paths, model, client, batch_size=16, **options):
    """Embeds `paths` on the cluster behind `client` (a distributed.Client); returns
    Embeddings(embeddings, paths, errors) with the readable videos in input order."""
    paths = [str(p) for p in paths]
    batches = [paths[i:i + batch_size] for i in range(0, len(paths), batch_size)]
    futures = client.map(embed_batch, batches, model=str(model), options=options, pure=False)
    embeddings, good, errors = [], [], {}
    for batch_embeddings, batch_paths, batch_errors in client.gather(futures):
        if len(batch_paths):
            embeddings.append(batch_embeddings)
        good.extend(batch_paths)
        errors.update(batch_errors)
    stacked = np.concatenate(embeddings) if embeddings else np.zeros((0, 0), np.float32)
    return Embeddings(stacked, good, errors)


# ---- a sharded index ----

_REPORT_COUNTS = ("added", "updated", "moved", "removed", "unchanged", "windows_added", "decoded")


def _index_options(options):
    options = dict(options)
    if "dtype" in options:
        options["dtype"] = weight_type(options["dtype"])
    return options


def _open_collection(index_dir, model, shards, options):
    return VideoIndex(index_dir, model=model, shards=shards, **_index_options(options))


def create_collection(index_dir, model, shards, options):
    """One task: creates the collection (or opens it and checks it agrees); its info."""
    return _open_collection(index_dir, model, shards, options).info()


def _worker_index(index_dir, model, shards, options):
    # One open collection (and so one model) per worker process, for all of its tasks.
    key = (index_dir, model, shards, tuple(sorted(options.items())))
    with _lock:
        if key not in _indexes:
            _indexes[key] = (_open_collection(index_dir, model, shards, options), threading.Lock())
        return _indexes[key]


def update_shard(shard, index_dir, paths, model, shards, options, remove_vanished, topic=None):
    """One task: brings shard `shard` in line with `paths` (the only writer of that shard);
    its report, with "shard" added. Progress goes to the caller as events on `topic`."""
    index, busy = _worker_index(index_dir, model, shards, options)
    worker = None
    if topic is not None:
        from distributed import get_worker
        worker = get_worker()

    def progress(files_done, files_total, windows_done, seconds):
        worker.log_event(topic, {"shard": shard, "files_done": files_done, "files_total": files_total,
                                 "windows_done": windows_done, "seconds": seconds})

    # The open collection is not shared between threads: a worker with several threads runs
    # its shard tasks one at a time (the model uses the cores through its own threads).
    with busy:
        report = index.update(paths, on_progress=progress if worker is not None else None, shard=shard,
                              remove_vanished=remove_vanished)
    report["shard"] = shard
    if worker is not None:  # every task ends with one event, also a shard with nothing to embed
        worker.log_event(topic, {"shard": shard, "done": True, "pass": "remove" if remove_vanished else "embed",
                                 "added": report["added"], "failed": len(report["failed"]),
                                 "seconds": report["seconds"]})
    return report


def _merged(embedding, removal, seconds):
    # The second pass sees the first pass's files again as unchanged: counted once.
    reports = embedding + removal
    total = {key: sum(r[key] for r in (embedding if key == "unchanged" else reports)) for key in _REPORT_COUNTS}
    total["failed"] = sorted({tuple(item) for r in reports for item in r["failed"]})
    total["seconds"] = seconds
    total["shards"] = reports
    return total


def index_collection(paths, index_dir, model, client, shards=2, on_progress=None, **options):
    """Builds or updates the collection `index_dir` of `shards` shards on the cluster behind
    `client`: one task per shard (one writer per shard at any time), each worker process
    loading the model once. First every shard embeds its new files (a file moved from another
    shard is copied from there, not decoded), then every shard drops the files gone from disk.

    options: VideoIndex's (window_seconds, stride_seconds, num_frames, dtype, seek, num_threads,
    approximate_from; the settings only when creating). on_progress(event) receives dicts with
    shard, files_done, files_total, windows_done and seconds as files finish, and one with
    shard, done=True, pass ("embed" or "remove"), added, failed and seconds as each task ends. Returns the summed
    report (added, updated, moved, removed, unchanged, windows_added, decoded, failed: sorted
    (path, reason) pairs, seconds) with each shard task's report under "shards". A file moved to
    a path of another shard counts as moved, and its old copy, dropped by the second pass, as
    removed.

    A worker killed mid-build loses only the file it was embedding: Dask runs the shard's task
    again elsewhere, or the same call again completes the collection, equal to an
    uninterrupted build. Search it as one index: xclip.VideoIndex(index_dir).search(text)."""
    started = time.monotonic()
    paths = [os.path.abspath(str(p)) for p in paths]
    index_dir, model = os.path.abspath(str(index_dir)), str(model)
    client.submit(create_collection, index_dir, model, shards, options, pure=False).result()
    topic = None
    if on_progress is not None:
        topic = "xclip-index-" + uuid.uuid4().hex
        client.subscribe_topic(topic, lambda event: on_progress(event[1]))
    passes = []
    try:
        for remove_vanished in (False, True):
            futures = client.map(update_shard, range(shards), index_dir=index_dir, paths=paths, model=model,
                                 shards=shards, options=options, remove_vanished=remove_vanished, topic=topic,
                                 pure=False)
            passes.append(client.gather(futures))
    finally:
        if topic is not None:
            client.unsubscribe_topic(topic)
    return _merged(passes[0], passes[1], time.monotonic() - started)
