"""Data handling: memory-mapped data is streamed, any numeric dtype is accepted."""

import tracemalloc

import numpy as np
import pytest

from skvae import VAE, ConvVAE

KW = dict(hidden_layer_sizes=(16,), epochs=1, random_state=0)


@pytest.fixture
def digits_memmap(digits, tmp_path):
    """200,000 digit images as a uint8 memmap (12.8 MB; 51.2 MB as float32)."""
    images = np.tile((digits[0] * 255).astype(np.uint8), (112, 1))[:200_000]
    X = np.memmap(tmp_path / "digits.u8", dtype=np.uint8, mode="w+", shape=images.shape)
    X[:] = images
    X.flush()
    return np.memmap(
        tmp_path / "digits.u8", dtype=np.uint8, mode="r", shape=images.shape
    )


def test_fit_streams_a_memmap_without_copying_it(digits_memmap):
    X = digits_memmap
    VAE(**KW).fit(X[:100])  # torch imports parts of itself on first use
    tracemalloc.start()
    vae = VAE(batch_size=1024, **KW).fit(X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # batches, index arrays and one inference chunk of 2**21 values (8 MB)
    # with its scoring noise: bounded, and far from a float32 copy of the
    # data (measured: 13.5 MB against 51.2 MB)
    assert peak < X.size * 4 / 3
    scores = vae.score_samples(X[:1000])
    assert scores.dtype == np.float64 and np.isfinite(scores).all()


def test_memmap_and_in_memory_training_learn_the_same_model(digits, tmp_path):
    X = digits[0].astype(np.float32)
    mapped = np.memmap(
        tmp_path / "digits.f32", dtype=np.float32, mode="w+", shape=X.shape
    )
    mapped[:] = X
    in_memory = VAE(epochs=3, random_state=0).fit(X)
    streamed = VAE(epochs=3, random_state=0).fit(mapped)
    # the same rows in the same order per batch; only float rounding differs
    np.testing.assert_allclose(streamed.transform(X), in_memory.transform(X), atol=1e-3)
    assert streamed.loss_curve_ == pytest.approx(in_memory.loss_curve_, rel=1e-4)


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.int64, np.float16, bool])
def test_numeric_dtypes_are_accepted(dtype, digits):
    X = (digits[0][:200] * 16).astype(dtype)
    vae = VAE(**KW).fit(X)
    assert vae.transform(X).dtype == np.float64
    np.testing.assert_allclose(
        vae.transform(X), vae.transform(X.astype(np.float64)), rtol=1e-5, atol=1e-6
    )


def test_uint8_images_for_conv_models(digits):
    images = (digits[0][:200] * 255).astype(np.uint8).reshape(-1, 8, 8)
    vae = ConvVAE(channels=(4,), **KW).fit(images)
    assert vae.image_shape_ == (8, 8, 1)
    assert np.isfinite(vae.score_samples(images)).all()
