"""Quick, Draw! sheep: latent space, DBSCAN clusters, and non-sheep as anomalies.

1. A ConvVAE with dropout, batch normalisation and KL warm-up on 800 of
   the 1,000 sheep doodles; their 2-D latent space.
2. DBSCAN in the latent space, with a small random search over ``eps`` and
   ``min_samples`` (scored by the silhouette of the clustered points, with
   at most a quarter of the points left as noise); drawings from the two
   largest clusters.
3. Anomaly detection: the 200 held-out sheep against 200 drawings of each
   other class in ``quickdraw_outliers.npz``; ROC-AUC per class.

About a minute on 2 CPU cores.

    python examples/quickdraw_sheep.py [--out example-output/quickdraw_sheep]
"""

import matplotlib.pyplot as plt
import numpy as np
from _datasets import data_file, output_folder, save
from scipy.stats import loguniform, randint
from sklearn.cluster import DBSCAN
from sklearn.metrics import roc_auc_score, silhouette_score
from sklearn.model_selection import ParameterSampler

from skvae import ConvVAE
from skvae.plotting import (
    plot_images,
    plot_latent_space,
    plot_learning_curve,
    plot_score_histogram,
)


def search_dbscan(codes, n_iter=40):
    """The DBSCAN settings whose clusters have the best silhouette."""
    space = {"eps": loguniform(0.02, 1.0), "min_samples": randint(3, 30)}
    best, best_score = None, -1.0
    for params in ParameterSampler(space, n_iter, random_state=0):
        labels = DBSCAN(**params).fit_predict(codes)
        clustered = labels != -1
        n_clusters = len(set(labels[clustered]))
        if n_clusters < 2 or clustered.mean() < 0.75:
            continue
        score = silhouette_score(codes[clustered], labels[clustered])
        if score > best_score:
            best, best_score = params, score
    return best, best_score


def main():
    out = output_folder(__file__, __doc__.splitlines()[0])
    sheep = np.load(data_file("quickdraw_sheep.npy")) / 255.0
    rng = np.random.RandomState(0)
    order = rng.permutation(len(sheep))
    train, held_out = sheep[order[:800]], sheep[order[800:]]

    print("1. ConvVAE on the sheep")
    vae = ConvVAE(
        latent_dim=2,
        likelihood="bernoulli",
        dropout=0.1,
        batch_norm=True,
        kl_warmup_epochs=20,
        epochs=150,
        random_state=0,
    ).fit(train)
    print(f"  {vae.n_iter_} epochs, held-out ELBO {vae.score(held_out):.1f} nats")
    fig, ax = plt.subplots(figsize=(6, 4))
    plot_learning_curve(vae, ax=ax)
    save(fig, out, "learning_curve.png")

    print("2. DBSCAN in the latent space")
    codes = vae.transform(train)
    params, silhouette = search_dbscan(codes)
    if params is None:
        print("  no DBSCAN setting found two clusters; skipping the cluster plots")
    else:
        labels = DBSCAN(**params).fit_predict(codes)
        sizes = np.bincount(labels[labels >= 0])
        print(
            f"  eps={params['eps']:.3f}, min_samples={params['min_samples']}: "
            f"{len(sizes)} clusters, {np.mean(labels == -1):.0%} noise, "
            f"silhouette {silhouette:.2f}"
        )
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
        plot_latent_space(vae, train, labels, ax=axes[0], s=8)
        axes[0].set_title("DBSCAN clusters of the sheep codes")
        for ax, cluster in zip(axes[1:], np.argsort(sizes)[::-1][:2]):
            members = train[labels == cluster]
            plot_images(members[rng.permutation(len(members))[:20]], n_cols=5, ax=ax)
            ax.set_title(f"cluster {cluster} ({sizes[cluster]} drawings)")
        save(fig, out, "clusters.png")

    print("3. Non-sheep drawings as anomalies")
    with np.load(data_file("quickdraw_outliers.npz")) as others:
        classes = {name: others[name][:200] / 255.0 for name in others.files}
    normal_scores = vae.score_samples(held_out)
    for name, drawings in classes.items():
        scores = vae.score_samples(drawings)
        auc = roc_auc_score(
            np.r_[np.ones(len(normal_scores)), np.zeros(len(scores))],
            np.r_[normal_scores, scores],
        )
        print(f"  sheep vs {name:8s} ROC-AUC {auc:.3f}")
    everything = np.concatenate(list(classes.values()))
    auc = roc_auc_score(
        np.r_[np.ones(len(held_out)), np.zeros(len(everything))],
        np.r_[normal_scores, vae.score_samples(everything)],
    )
    print(f"  sheep vs all others ROC-AUC {auc:.3f}")
    fig, ax = plt.subplots(figsize=(8, 4))
    plot_score_histogram(
        vae, {"held-out sheep": held_out, "other classes": everything}, ax=ax
    )
    save(fig, out, "scores.png")


if __name__ == "__main__":
    main()
