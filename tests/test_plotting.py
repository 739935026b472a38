"""skvae.plotting draws what it says, with the Agg backend."""

import sys

import matplotlib
import numpy as np
import pytest
from scipy.stats import norm
from sklearn.cluster import DBSCAN
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skvae import VAE, DenoisingAE, plotting

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

KW = dict(hidden_layer_sizes=(32,), epochs=12, random_state=0)


@pytest.fixture(scope="module")
def vae(digits):
    return VAE(latent_dim=3, likelihood="bernoulli", **KW).fit(digits[0])


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def scatter_points(ax):
    return sum(len(c.get_offsets()) for c in ax.collections)


def test_latent_space_coloured_by_class(vae, digits):
    X, y = digits
    ax = plotting.plot_latent_space(vae, X, y, dims=(2, 0))
    assert scatter_points(ax) == len(X)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        str(d) for d in range(10)
    ]
    assert ax.get_xlabel() == "vae2" and ax.get_ylabel() == "vae0"
    # the points are the codes of the chosen dimensions
    codes = vae.transform(X)
    first = ax.collections[0].get_offsets()
    np.testing.assert_allclose(first, codes[y == 0][:, [2, 0]], rtol=1e-6)


def test_latent_space_of_a_pipeline_with_dbscan_clusters(digits):
    X = digits[0] * 16
    pipe = make_pipeline(StandardScaler(), VAE(**KW)).fit(X)
    clusters = DBSCAN(eps=0.3, min_samples=10).fit_predict(pipe.transform(X))
    assert (clusters == -1).any()
    ax = plotting.plot_latent_space(pipe, X, clusters)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "noise"
    noise = ax.collections[0]
    assert len(noise.get_offsets()) == np.sum(clusters == -1)


def test_latent_space_with_continuous_colours_has_a_colour_bar(vae, digits):
    X = digits[0]
    ax = plotting.plot_latent_space(vae, X, X.mean(1))
    assert len(ax.figure.axes) == 2  # the plot and its colour bar


def test_manifold_grid_decodes_the_prior_quantiles(vae):
    ax = plotting.plot_manifold(vae, n=5, dims=(0, 1))
    canvas = ax.images[0].get_array()
    assert canvas.shape == (5 * 9 - 1, 5 * 9 - 1)
    grid = np.linspace(0.05, 0.95, 5)
    # the top-left image is the code (low, high, 0)
    expected = vae.inverse_transform([[norm.ppf(grid[0]), norm.ppf(grid[-1]), 0]])
    np.testing.assert_allclose(canvas[:8, :8], expected.reshape(8, 8), rtol=1e-5)


def test_manifold_needs_two_latent_dimensions(digits):
    one = VAE(latent_dim=1, **KW).fit(digits[0][:200])
    with pytest.raises(ValueError, match="2 or more"):
        plotting.plot_manifold(one)
    with pytest.raises(ValueError, match="dims"):
        plotting.plot_manifold(VAE(**KW).fit(digits[0][:200]), dims=(0, 0))


def test_manifold_undoes_the_scaler_of_a_pipeline(digits):
    X = digits[0] * 16
    pipe = make_pipeline(StandardScaler(), VAE(**KW)).fit(X)
    canvas = plotting.plot_manifold(pipe, n=3).images[0].get_array()
    assert np.nanmax(canvas) > 2  # in the 0-16 pixel scale, not standardised


def test_reconstructions_and_denoising_rows(vae, digits):
    X = digits[0]
    fig = plotting.plot_reconstructions(vae, X, n=6)
    assert [ax.get_title(loc="left") for ax in fig.axes] == [
        "original",
        "reconstruction",
    ]
    assert fig.axes[0].images[0].get_array().shape == (8, 6 * 9 - 1)

    dae = DenoisingAE(**KW).fit(X)
    noisy = X + np.random.RandomState(0).normal(0, 0.2, X.shape)
    fig = plotting.plot_reconstructions(dae, X, n=4, noisy=noisy)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles == ["noisy", "denoised", "clean"]
    np.testing.assert_allclose(
        fig.axes[2].images[0].get_array()[:8, :8], X[0].reshape(8, 8)
    )


def test_learning_curve_shows_loss_validation_and_warmup(vae):
    ax = plotting.plot_learning_curve(vae)
    loss = ax.get_lines()[0]
    np.testing.assert_allclose(loss.get_ydata(), vae.loss_curve_)
    twin = [a for a in ax.figure.axes if a is not ax][0]
    np.testing.assert_allclose(twin.get_lines()[0].get_ydata(), vae.validation_scores_)
    span = ax.patches[0]  # the shaded KL warm-up span, in data coordinates
    corners = span.get_patch_transform().transform(span.get_path().vertices)
    assert corners[:, 0].max() == pytest.approx(vae.kl_warmup_epochs - 1 + 0.5)


def test_score_histogram_of_groups_with_threshold(vae, digits):
    X = digits[0]
    noise = np.random.RandomState(0).rand(300, 64)
    ax = plotting.plot_score_histogram(vae, {"digits": X, "noise": noise}, bins=20)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["digits", "noise"] and labels[2].startswith("offset_")
    assert ax.get_lines()[0].get_xdata()[0] == pytest.approx(vae.offset_)
    heights = [p.get_height() for p in ax.patches]
    assert sum(heights) == len(X) + len(noise)


def test_plots_refuse_unfitted_or_foreign_models(digits):
    with pytest.raises(NotFittedError):
        plotting.plot_learning_curve(VAE())
    with pytest.raises(TypeError, match="skvae estimator"):
        plotting.plot_latent_space(PCA(2).fit(digits[0]), digits[0])


def test_clear_error_without_matplotlib(vae, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install matplotlib.*\[plot\]"):
        plotting.plot_learning_curve(vae)


def test_images_tiled_in_rows(digits):
    X = digits[0][:12]
    canvas = plotting.plot_images(X, n_cols=5).images[0].get_array()
    assert canvas.shape == (3 * 9 - 1, 5 * 9 - 1)
    np.testing.assert_allclose(canvas[9:17, :8], X[5].reshape(8, 8))
    colour = np.random.RandomState(0).rand(4, 6, 5, 3)
    rgb = plotting.plot_images(colour).images[0].get_array()
    assert rgb.shape == (6, 4 * 6 - 1, 3)
    with pytest.raises(ValueError, match="image_shape"):
        plotting.plot_images(np.zeros((2, 10)))


def test_feature_scores_bars_name_the_lowest_column(digits):
    X = digits[0].copy()
    model = make_pipeline(StandardScaler(), VAE(latent_dim=3, **KW)).fit(X)
    rows = X[:2].copy()
    rows[0, 20] = 16.0  # far outside its column
    rows[1, 5] = np.nan
    names = [f"pixel {j}" for j in range(64)]
    ax = plotting.plot_feature_scores(model, rows, feature_names=names)
    assert len(ax.patches) == 2 * 64
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend[0] == "row 0: lowest pixel 20"
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == names[:2]
    with pytest.raises(ValueError, match="2 names for 64 columns"):
        plotting.plot_feature_scores(model, rows, feature_names=["a", "b"])
