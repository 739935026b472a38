"""Hyperparameter search with GridSearchCV, and MinMaxScaler -> VAE -> DBSCAN.

1. ``GridSearchCV`` over ``latent_dim``, ``beta`` and ``hidden_layer_sizes``
   of a VAE on scikit-learn's digits, with no ``scoring`` argument: it
   uses ``VAE.score``, the mean log-likelihood bound of held-out samples.
2. A ``Pipeline`` of ``MinMaxScaler``, a 2-D ``VAE`` and ``DBSCAN``,
   fitted in one call; its clusters against the digit labels.

About 1.5 minutes on 2 CPU cores; needs no data files.

    python examples/grid_search.py [--out example-output/grid_search]
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from _datasets import output_folder, save
from sklearn.cluster import DBSCAN
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skvae import VAE
from skvae.plotting import plot_latent_space


def main():
    out = output_folder(__file__, __doc__.splitlines()[0])
    X, y = load_digits(return_X_y=True)

    print("1. GridSearchCV over a VAE's parameters (scored by VAE.score)")
    grid = {
        "latent_dim": [2, 8],
        "beta": [0.5, 1.0],
        "hidden_layer_sizes": [(64,), (256,)],
    }
    search = GridSearchCV(
        VAE(likelihood="bernoulli", epochs=60, random_state=0), grid, cv=3
    ).fit(X / 16)
    table = pd.DataFrame(search.cv_results_)
    columns = ["param_" + k for k in grid] + ["mean_test_score", "rank_test_score"]
    print(table[columns].sort_values("rank_test_score").to_string(index=False))
    print(f"  best: {search.best_params_}")

    print("2. MinMaxScaler -> VAE -> DBSCAN")
    pipe = make_pipeline(
        MinMaxScaler(),
        VAE(latent_dim=2, likelihood="bernoulli", epochs=100, random_state=0),
        DBSCAN(eps=0.15, min_samples=10),
    )
    clusters = pipe.fit_predict(X)
    print(
        f"  {len(set(clusters) - {-1})} clusters, {np.mean(clusters == -1):.0%} "
        f"noise, adjusted Rand index {adjusted_rand_score(y, clusters):.2f}"
    )
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    encoder = pipe[:-1]  # scaler and VAE: the codes DBSCAN clustered
    plot_latent_space(encoder, X, y, ax=axes[0])
    axes[0].set_title("codes coloured by digit")
    plot_latent_space(encoder, X, clusters, ax=axes[1])
    axes[1].set_title("codes coloured by DBSCAN cluster")
    save(fig, out, "pipeline.png")


if __name__ == "__main__":
    main()
