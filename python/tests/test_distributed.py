"""The Dask recipe: a LocalCluster of 2 worker processes embeds a collection with one
corrupt video; results equal a local run, the failure is reported with its reason."""

import numpy as np
import pytest
from distributed import Client, LocalCluster

import xclip
from xclip.distributed import embed_collection
from conftest import model_dir


@pytest.fixture(scope="module")
def client():
    # Loopback only; processes (not threads) so that each worker loads its own model.
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


def test_embed_collection_on_two_workers(client, videos):
    paths = [videos["testsrc"], videos["mandelbrot"], videos["corrupt"], videos["life"], videos["testsrc"]]
    result = embed_collection(paths, model_dir("tiny"), client, batch_size=2, normalize=True)
    local = xclip.embed_videos(paths, model=model_dir("tiny"), normalize=True)
    assert result.paths == local.paths == [p for p in paths if p != videos["corrupt"]]
    assert list(result.errors) == [videos["corrupt"]] and result.errors[videos["corrupt"]]
    np.testing.assert_allclose(result.embeddings, local.embeddings, atol=1e-6)
    # Both workers took tasks, and each loaded the model once for all of its batches.
    loads = client.run(lambda: len(__import__("xclip.distributed").distributed._workers))
    assert sorted(loads.values()) == [1, 1]
