"""Scaling out: searches on Dask and Ray clusters, out-of-core training,
data-parallel training under torchrun.

The recipes of docs/scaling.md, run on this machine. The tests skip where
dask, distributed, dask-ml or ray are not installed.
"""

import pathlib
import subprocess
import sys

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from test_docs import ROOT, fenced_blocks

import skvae
from skvae import VAE

KW = dict(hidden_layer_sizes=(16,), epochs=2, batch_size=64, random_state=0)
GRID = {"latent_dim": [2, 4], "learning_rate": [1e-3, 1e-2]}


def search():
    return GridSearchCV(VAE(**KW), GRID, cv=2)


def assert_same_search(found, expected):
    assert found.best_params_ == expected.best_params_
    # equal up to float rounding: workers may run torch on fewer threads
    np.testing.assert_allclose(
        found.cv_results_["mean_test_score"],
        expected.cv_results_["mean_test_score"],
        rtol=1e-5,
    )


@pytest.fixture(scope="module")
def sequential_search(digits):
    return search().fit(digits[0][:300])


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_import_and_construction_start_no_threads_and_no_cuda():
    # a clean interpreter: what this one has imported or started does not count
    code = """
import threading
before = threading.active_count()
import pickle
import torch
import skvae
from sklearn.base import clone
models = [skvae.VAE(), skvae.ConvVAE(), skvae.DenoisingAE(architecture="conv")]
models = [pickle.loads(pickle.dumps(clone(model))) for model in models]
assert not torch.cuda.is_initialized(), "CUDA was initialised"
assert threading.active_count() == before, threading.enumerate()
"""
    root = pathlib.Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_grid_search_on_a_dask_cluster(digits, client, sequential_search):
    with joblib.parallel_backend("dask"):
        found = search().fit(digits[0][:300])
    assert_same_search(found, sequential_search)


def test_fitted_models_travel_between_processes(digits, client):
    X = digits[0][:200]
    local = VAE(**KW).fit(X)
    remote = client.submit(VAE.fit, VAE(**KW), X).result()  # fitted in a worker
    assert remote.loss_curve_ == pytest.approx(local.loss_curve_, rel=1e-5)
    np.testing.assert_allclose(
        remote.score_samples(X), local.score_samples(X), rtol=1e-5
    )
    # and a model fitted here predicts there as here
    np.testing.assert_array_equal(
        client.submit(VAE.transform, local, X).result(), local.transform(X)
    )


def test_grid_search_with_the_ray_joblib_backend(digits, sequential_search):
    ray = pytest.importorskip("ray")
    from ray.util.joblib import register_ray

    register_ray()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        with joblib.parallel_backend("ray"):
            found = search().fit(digits[0][:300])
    finally:
        ray.shutdown()
    assert_same_search(found, sequential_search)


def test_incremental_trains_on_a_memory_mapped_dask_array(digits_split, tmp_path):
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X_train, X_test = digits_split[0], digits_split[1]
    path = tmp_path / "digits.f32"
    mapped = np.memmap(path, dtype=np.float32, mode="w+", shape=X_train.shape)
    mapped[:] = X_train
    mapped.flush()
    on_disk = np.memmap(path, dtype=np.float32, mode="r", shape=X_train.shape)
    X = da.from_array(on_disk, chunks=(200, -1))
    vae = VAE(hidden_layer_sizes=(32,), batch_size=32, random_state=0)
    # what the first block teaches: Incremental starts with it unless shuffling
    first_block = clone(vae).partial_fit(X_train[:200])
    # blocks are read one at a time, here; the model passes from one to the next
    with dask.config.set(scheduler="synchronous"):
        model = wrappers.Incremental(vae, shuffle_blocks=False).fit(X)
        for _ in range(2):
            model.partial_fit(X)
        held_out = model.score(da.from_array(X_test, chunks=(100, -1)), None)
    assert model.estimator_.n_iter_ == 3 * X.numblocks[0]
    assert held_out > first_block.score(X_test) + 5  # nats per sample


def test_the_data_parallel_recipe_trains_a_model_under_torchrun(digits, tmp_path):
    # the page's script as written, on two CPU processes (gloo)
    page = ROOT / "docs" / "scaling.md"
    (script,) = [c for _, _, c in fenced_blocks(page) if "train_ddp.py" in c]
    (tmp_path / "train_ddp.py").write_text(script)
    X = digits[0].astype(np.float32)
    np.save(tmp_path / "train.npy", X)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    done = subprocess.run(
        [*torchrun, "--nproc_per_node=2", "train_ddp.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    trained = skvae.load(tmp_path / "vae.skvae")
    # where the recipe starts: its short first fit
    start = VAE(latent_dim=16, epochs=1, random_state=0).fit(X)
    assert trained.score(X) > start.score(X) + 10  # nats per sample
    assert np.mean(trained.predict(X) == -1) == pytest.approx(0.1, abs=0.01)
