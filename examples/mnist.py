"""MNIST: a 2-D latent space, the decoded manifold, and 9s as anomalies.

1. A ConvVAE with a 2-D latent space on 20,000 training digits: the test
   digits' codes coloured by digit, and the 40x40 grid of images decoded
   from evenly spaced quantiles of the prior.
2. Anomaly detection: a ConvVAE trained on 20,000 images of the digits 0-8
   ranks the test set; the 9s, never seen in training, should score low.
   Score histograms of normal test digits, 9s and uniform random images.

About 11 minutes on 2 CPU cores (subsets of 20,000 training images, at
most 15 epochs).

    python examples/mnist.py [--out example-output/mnist]
"""

import matplotlib.pyplot as plt
import numpy as np
from _datasets import data_file, output_folder, save
from sklearn.metrics import roc_auc_score

from skvae import ConvVAE
from skvae.plotting import plot_latent_space, plot_manifold, plot_score_histogram

N_TRAIN = 20_000


def main():
    out = output_folder(__file__, __doc__.splitlines()[0])
    with np.load(data_file("mnist.npz")) as data:
        X_train, y_train = data["x_train"] / 255.0, data["y_train"]
        X_test, y_test = data["x_test"] / 255.0, data["y_test"]
    rng = np.random.RandomState(0)

    print("1. ConvVAE with a 2-D latent space")
    subset = rng.permutation(len(X_train))[:N_TRAIN]
    vae = ConvVAE(latent_dim=2, likelihood="bernoulli", epochs=15, random_state=0)
    vae.fit(X_train[subset])  # (n, 28, 28) arrays are images as they are
    print(f"  {vae.n_iter_} epochs, test ELBO {vae.score(X_test):.1f} nats")
    fig, ax = plt.subplots(figsize=(7, 6))
    plot_latent_space(vae, X_test, y_test, ax=ax, s=3)
    ax.set_title("ConvVAE latent space of the MNIST test digits")
    save(fig, out, "latent_space.png")
    fig, ax = plt.subplots(figsize=(10, 10))
    plot_manifold(vae, n=40, ax=ax)
    save(fig, out, "manifold.png")

    print("2. Anomaly detection: trained on 0-8, the 9s are the anomalies")
    normal = np.flatnonzero(y_train != 9)
    detector = ConvVAE(latent_dim=8, likelihood="bernoulli", epochs=15, random_state=0)
    detector.fit(X_train[rng.permutation(normal)[:N_TRAIN]])
    noise = rng.rand(1000, 28, 28)
    groups = {
        "test digits 0-8": X_test[y_test != 9],
        "test 9s": X_test[y_test == 9],
        "uniform noise": noise,
    }
    scores = detector.score_samples(X_test)
    auc = roc_auc_score(y_test != 9, scores)
    flagged = np.mean(detector.predict(X_test[y_test == 9]) == -1)
    print(
        f"  ROC-AUC of 9s against 0-8: {auc:.3f}; predict() flags {flagged:.0%} "
        f"of the 9s (contamination={detector.contamination})"
    )
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    digits_only = {k: v for k, v in groups.items() if k != "uniform noise"}
    plot_score_histogram(detector, digits_only, bins=60, ax=left)
    left.set_title(f"9s against 0-8: ROC-AUC {auc:.3f}")
    plot_score_histogram(detector, groups, bins=60, ax=right)
    right.set_title("and uniform random images")
    save(fig, out, "scores.png")


if __name__ == "__main__":
    main()
