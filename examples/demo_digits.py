"""skvae in one run: a 2-D VAE on scikit-learn's 8x8 digits, next to PCA.

Fits a VAE, prints how its 2-D codes, reconstructions and outlier scores
compare with PCA's, clusters the codes with DBSCAN, removes noise with a
DenoisingAE, and writes figures (latent space, manifold grid,
reconstructions, learning curve, score histogram) to the output folder.

    python examples/demo_digits.py [--out demo-output]
"""

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.cluster import DBSCAN  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.metrics import adjusted_rand_score, roc_auc_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402

from skvae import VAE, DenoisingAE  # noqa: E402
from skvae.plotting import (  # noqa: E402
    plot_latent_space,
    plot_learning_curve,
    plot_manifold,
    plot_reconstructions,
    plot_score_histogram,
)


def main(out):
    out.mkdir(parents=True, exist_ok=True)
    digits = load_digits()
    X, y = digits.data / 16.0, digits.target  # pixel intensities in [0, 1]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=0
    )

    start = time.perf_counter()
    vae = VAE(latent_dim=2, likelihood="bernoulli", epochs=100, random_state=0)
    vae.fit(X_train)
    seconds = time.perf_counter() - start
    pca = PCA(n_components=2).fit(X_train)
    print(
        f"VAE: {vae.n_iter_} epochs in {seconds:.1f} s on {vae.device_} "
        f"(early stopping on a 10% validation split)"
    )

    def knn(train_codes, test_codes):
        return (
            KNeighborsClassifier(5).fit(train_codes, y_train).score(test_codes, y_test)
        )

    def mse(model):
        return np.mean((model.inverse_transform(model.transform(X_test)) - X_test) ** 2)

    vae_knn = knn(vae.transform(X_train), vae.transform(X_test))
    pca_knn = knn(pca.transform(X_train), pca.transform(X_test))
    print("\n2-D codes of held-out digits        VAE     PCA")
    print(f"  digit identity kept (5-NN acc.)  {vae_knn:.3f}   {pca_knn:.3f}")
    print(f"  reconstruction error (MSE)       {mse(vae):.4f}  {mse(pca):.4f}")

    noise = report_outliers(vae, X_test)

    codes = vae.transform(X)
    clusters = DBSCAN(eps=0.15, min_samples=10).fit_predict(codes)
    n_clusters = len(set(clusters) - {-1})
    ari = adjusted_rand_score(y, clusters)
    print(
        f"\nDBSCAN on the 2-D codes: {n_clusters} clusters, "
        f"{np.mean(clusters == -1):.0%} noise points, "
        f"adjusted Rand index {ari:.2f} against the digit labels"
    )

    dae = DenoisingAE(noise_level=0.2, random_state=0).fit(X_train)
    noisy = np.clip(
        X_test + np.random.RandomState(1).normal(0, 0.2, X_test.shape), 0, 1
    )
    cleaned = dae.denoise(noisy)
    print(
        f"\nDenoisingAE: MSE to the clean digits {np.mean((noisy - X_test) ** 2):.4f} "
        f"noisy -> {np.mean((cleaned - X_test) ** 2):.4f} denoised"
    )

    write_figures(vae, dae, X, y, X_test, noisy, noise, out)


def report_outliers(vae, X_test):
    """Print how well the scores set uniform noise apart; return the noise."""
    noise = np.random.RandomState(0).rand(len(X_test), 64)
    digit_scores, noise_scores = vae.score_samples(X_test), vae.score_samples(noise)
    auc = roc_auc_score(
        np.r_[np.ones(len(X_test)), np.zeros(len(noise))],
        np.r_[digit_scores, noise_scores],
    )
    print(
        f"\nOutliers: mean log-likelihood {digit_scores.mean():.1f} nats for digits, "
        f"{noise_scores.mean():.1f} for uniform noise; ROC-AUC {auc:.3f}"
    )
    print(
        f"  predict() flags {np.mean(vae.predict(noise) == -1):.0%} of the noise "
        f"images "
        f"and {np.mean(vae.predict(X_test) == -1):.0%} of the digits "
        f"(contamination={vae.contamination})"
    )
    return noise


def write_figures(vae, dae, X, y, X_test, noisy, noise, out):
    """The README's figures: latent space, manifold, reconstructions, curves."""
    fig, ax = plt.subplots(figsize=(6, 5))
    plot_latent_space(vae, X, y, ax=ax)
    ax.set_title("VAE latent space of the digits")
    fig.savefig(out / "latent_space.png", dpi=100, bbox_inches="tight")

    fig, ax = plt.subplots(figsize=(6, 6))
    plot_manifold(vae, n=15, ax=ax)
    ax.set_title("Digits decoded from a grid over the latent space")
    fig.savefig(out / "manifold.png", dpi=100, bbox_inches="tight")

    fig = plt.figure(figsize=(8, 4.4))
    top, bottom = fig.subfigures(2, 1, height_ratios=[2, 3])
    plot_reconstructions(vae, X_test, n=12, fig=top)
    plot_reconstructions(dae, X_test, n=12, noisy=noisy, fig=bottom)
    fig.savefig(out / "reconstructions.png", dpi=100, bbox_inches="tight")

    fig, ax = plt.subplots(figsize=(6, 4))
    plot_learning_curve(vae, ax=ax)
    ax.set_title("Learning curve")
    fig.savefig(out / "learning_curve.png", dpi=100, bbox_inches="tight")

    fig, ax = plt.subplots(figsize=(6, 4))
    plot_score_histogram(
        vae, {"held-out digits": X_test, "uniform noise": noise}, ax=ax
    )
    ax.set_title("Outlier scores")
    fig.savefig(out / "scores.png", dpi=100, bbox_inches="tight")
    print(
        f"\nFigures written to {out}/: latent_space.png, manifold.png, "
        f"reconstructions.png, learning_curve.png, scores.png"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("demo-output"),
        help="folder for the figures (default: demo-output)",
    )
    main(parser.parse_args().out)
