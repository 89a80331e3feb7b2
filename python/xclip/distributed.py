"""Embedding a large collection on a Dask distributed cluster.

    from distributed import Client
    from xclip.distributed import embed_collection
    client = Client("tcp://scheduler:8786")          # or a LocalCluster
    result = embed_collection(paths, "/models/xclip-base-patch32", client, batch_size=32)
    result.embeddings, result.paths, result.errors

Tasks are batches of paths. Each worker process loads the model once (a per-process cache
keyed by the model and the options) and keeps it for every later batch. A video that cannot
be read comes back in `errors` with its reason; nothing is dropped silently. Workers need
xclip importable and the model folder (or the hub cache) and the videos at the same paths.
"""

import threading

import numpy as np

from .workflow import Embeddings, Workflow

_workers = {}
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
