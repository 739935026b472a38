"""Outlier detection: skvae against PyOD and scikit-learn, on ODDS and MNIST.

Two protocols, every detector in the same run and on the same splits:

- ODDS (the 17 data sets of PyOD's benchmark): a 60/40 stratified split per
  seed, each detector fit on the unlabeled training part, ROC-AUC and
  precision@n (n = number of outliers) on the test part, mean over seeds.
- MNIST one-class: for each digit, fit on training images of that digit,
  score the whole test set, ROC-AUC with the other nine digits as outliers.

Detectors, each at its defaults (skvae and PCA behind a ``StandardScaler``
on tabular data; images go in as pixel intensities in [0, 1]):

- skvae ``VAE`` with its defaults (scored by the ELBO), and on ODDS also
  with the settings the user guide recommends for unlabeled data that may
  hold outliers (``OUTLIER_SETTINGS``: 8 latent dimensions, the worst 20%
  of each batch left out of training, scores from 16 importance samples);
- skvae ``DenoisingAE``; on MNIST also ``ConvVAE``;
- PyOD ``VAE`` and ``AutoEncoder`` (both z-score their inputs themselves);
- scikit-learn ``IsolationForest``, and ``PCA(n_components=0.95)``
  (``score_samples`` is its Gaussian log-likelihood; keeping every
  component fails on data sets with constant features).

To finish in about half an hour on 2 CPU cores, training parts are capped
(``--max-train``, default 5,000 rows: only shuttle is larger; on MNIST
``--digit-train``, default 2,000 images of the digit) and the MNIST models
train for at most ``--image-epochs`` (default 20) epochs. Jobs run in
parallel processes with one torch thread each.

    pip install -e ".[benchmarks,plot]"
    python benchmarks/outliers.py               # both protocols
    python benchmarks/outliers.py --protocol odds --seeds 10

Data: ``$SKVAE_DATA/odds/*.npz`` and ``$SKVAE_DATA/mnist.npz`` (default
``../shared/datasets`` beside the repository). Writes
``benchmarks/results/outliers-odds.md``, ``outliers-mnist.md`` and
``outliers-scores.png``.
"""

import argparse
import time
import warnings
from collections import defaultdict

import numpy as np
import torch
from _common import DATA, ROOT, load_mnist, machine
from joblib import Parallel, delayed
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skvae import VAE, ConvVAE, DenoisingAE

OURS = (
    "skvae VAE",
    "skvae VAE, outlier settings",
    "skvae ConvVAE",
    "skvae DenoisingAE",
)
PEERS = ("PyOD VAE", "PyOD AutoEncoder", "IsolationForest", "PCA")
# the settings the user guide recommends for unlabeled tabular data that may
# hold outliers: the same for every data set
OUTLIER_SETTINGS = dict(latent_dim=8, trim_fraction=0.2, n_importance_samples=16)


def sklearn_style(name, model):
    """A detector whose ``score_samples`` is higher for normal samples."""

    def score(X_train, X_test):
        return {name: model.fit(X_train).score_samples(X_test)}

    return score


def pyod(name, seed):
    """PyOD at its defaults; its scores are higher for outliers."""
    from pyod.models.auto_encoder import AutoEncoder
    from pyod.models.vae import VAE as PyodVAE

    cls = PyodVAE if name == "PyOD VAE" else AutoEncoder

    def score(X_train, X_test):
        model = cls(random_state=seed, verbose=0).fit(X_train)
        return {name: -model.decision_function(X_test)}

    return score


def detectors(seed, images, epochs):
    """Every detector of one run; ``images`` selects the MNIST settings."""
    scaled = (lambda m: m) if images else (lambda m: make_pipeline(StandardScaler(), m))
    trained = {"epochs": epochs} if images else {}
    found = {
        "skvae VAE": sklearn_style(
            "skvae VAE", scaled(VAE(random_state=seed, **trained))
        ),
        "skvae DenoisingAE": sklearn_style(
            "skvae DenoisingAE", scaled(DenoisingAE(random_state=seed, **trained))
        ),
        "PyOD VAE": pyod("PyOD VAE", seed),
        "PyOD AutoEncoder": pyod("PyOD AutoEncoder", seed),
        "IsolationForest": sklearn_style(
            "IsolationForest", IsolationForest(random_state=seed)
        ),
        "PCA": sklearn_style("PCA", scaled(PCA(n_components=0.95))),
    }
    if images:
        found["skvae ConvVAE"] = sklearn_style(
            "skvae ConvVAE", ConvVAE(random_state=seed, **trained)
        )
    else:
        found["skvae VAE, outlier settings"] = sklearn_style(
            "skvae VAE, outlier settings",
            scaled(VAE(random_state=seed, **OUTLIER_SETTINGS)),
        )
    return found


def run_one(detector, X_train, X_test, y_test):
    """Fit, score, and measure one detector: {name: (auc, precision@n, s)}."""
    torch.set_num_threads(1)  # one process per core
    warnings.filterwarnings("ignore")  # convergence chatter of the peers
    start = time.perf_counter()
    scores = detector(X_train, X_test)
    seconds = time.perf_counter() - start
    return {
        name: (*ranking_quality(y_test, s), seconds / len(scores))
        for name, s in scores.items()
    }


def ranking_quality(y_test, scores):
    """ROC-AUC and precision@n of scores in which lower means more abnormal."""
    # a NaN score ranks as most abnormal; infinite ones stay comparable
    abnormality = np.nan_to_num(
        -np.asarray(scores, float), nan=1e300, posinf=1e300, neginf=-1e300
    )
    n = int(y_test.sum())
    top = np.argsort(-abnormality, kind="stable")[:n]
    return roc_auc_score(y_test, abnormality), y_test[top].mean()


def odds_jobs(args):
    for path in sorted((DATA / "odds").glob("*.npz")):
        with np.load(path) as data:
            X, y = data["X"].astype(np.float32), data["y"]
        for seed in range(args.seeds):
            X_train, X_test, _, y_test = train_test_split(
                X, y, test_size=0.4, stratify=y, random_state=seed
            )
            rows = np.random.RandomState(seed).permutation(len(X_train))
            X_train = X_train[rows[: args.max_train]]
            for name, detector in detectors(seed, False, None).items():
                yield (path.stem, seed, name), (detector, X_train, X_test, y_test)


def mnist_jobs(args, mnist):
    X_train, X_test, y_train, y_test = mnist
    for digit in args.digits:
        normal = X_train[y_train == digit][: args.digit_train]
        is_outlier = (y_test != digit).astype(int)
        for name, detector in detectors(0, True, args.image_epochs).items():
            yield (str(digit), 0, name), (detector, normal, X_test, is_outlier)


def run(jobs, n_jobs):
    """Run every job; results[data set][detector] = list of (auc, p@n, s)."""
    keys, tasks = zip(*jobs)
    outputs = Parallel(n_jobs=n_jobs)(delayed(run_one)(*task) for task in tasks)
    results = defaultdict(lambda: defaultdict(list))
    for (data_set, _, _), output in zip(keys, outputs):
        for name, values in output.items():
            results[data_set][name].append(values)
    return results


def table(results, title, with_precision):
    """Markdown: per data set, mean, wins of each skvae detector, time."""
    data_sets = list(results)
    names = [n for n in OURS + PEERS if n in results[data_sets[0]]]
    mean = {(d, n): np.mean(results[d][n], axis=0) for d in data_sets for n in names}
    lines = [f"### {title}", "", "| data set | " + " | ".join(names) + " |"]
    lines.append("|---" * (len(names) + 1) + "|")
    for d in data_sets:
        best = max(mean[d, n][0] for n in names)
        cells = [
            f"**{mean[d, n][0]:.3f}**"
            if mean[d, n][0] == best
            else f"{mean[d, n][0]:.3f}"
            for n in names
        ]
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    overall = {n: np.mean([mean[d, n] for d in data_sets], axis=0) for n in names}
    lines.append(
        "| **mean ROC-AUC** | "
        + " | ".join(f"**{overall[n][0]:.3f}**" for n in names)
        + " |"
    )
    if with_precision:
        lines.append(
            "| mean precision@n | "
            + " | ".join(f"{overall[n][1]:.3f}" for n in names)
            + " |"
        )
    total = {n: sum(np.sum(results[d][n], axis=0)[2] for d in data_sets) for n in names}
    lines.append(
        "| fit + score time (s, all runs) | "
        + " | ".join(f"{total[n]:.0f}" for n in names)
        + " |"
    )
    if "skvae VAE, outlier settings" in names:
        lines += [
            "",
            "skvae VAE: the defaults. Outlier settings: `VAE(latent_dim=8, "
            "trim_fraction=0.2, n_importance_samples=16)`, the same for every "
            "data set.",
        ]
    peers = [n for n in PEERS if n in names]
    lines += [
        "",
        f"Wins in ROC-AUC (data sets where skvae is higher, of {len(data_sets)}):",
        "",
        "| | " + " | ".join(peers) + " |",
    ]
    lines.append("|---" * (len(peers) + 1) + "|")
    for ours in (n for n in OURS if n in names):
        wins = [sum(mean[d, ours][0] > mean[d, p][0] for d in data_sets) for p in peers]
        lines.append(f"| {ours} | " + " | ".join(map(str, wins)) + " |")
    return "\n".join(lines) + "\n"


def score_figure(args, mnist, path):
    """Score histograms of a ConvVAE for one digit: normal, other digits, noise."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skvae.plotting import plot_score_histogram

    torch.set_num_threads(2)
    X_train, X_test, y_train, y_test = mnist
    digit = args.digits[0]
    model = ConvVAE(random_state=0, epochs=args.image_epochs)
    model.fit(X_train[y_train == digit][: args.digit_train])
    noise = np.random.RandomState(0).rand(1000, 784).astype(np.float32)
    fig, ax = plt.subplots(figsize=(7, 4))
    plot_score_histogram(
        model,
        {
            f"test {digit}s": X_test[y_test == digit],
            "other test digits": X_test[y_test != digit],
            "uniform noise": noise,
        },
        bins=120,
        ax=ax,
    )
    ax.set_title(f"ConvVAE trained on {digit}s: score_samples (log-likelihood, nats)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--protocol", choices=["odds", "mnist", "both"], default="both")
    parser.add_argument("--seeds", type=int, default=5, help="ODDS splits")
    parser.add_argument("--max-train", type=int, default=5000, help="ODDS rows")
    parser.add_argument("--digits", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--digit-train", type=int, default=2000)
    parser.add_argument("--image-epochs", type=int, default=20)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    header = f"Machine: {machine()}; {args.n_jobs} processes of one torch thread.\n"
    if args.protocol in ("odds", "both"):
        start = time.perf_counter()
        results = run(odds_jobs(args), args.n_jobs)
        minutes = (time.perf_counter() - start) / 60
        text = (
            table(results, f"ODDS, mean over {args.seeds} splits (60/40)", True)
            + f"\n{header}Training parts capped at {args.max_train} rows; "
            f"{minutes:.1f} min in all.\n"
        )
        print(text)
        (out / "outliers-odds.md").write_text(text)
    if args.protocol in ("mnist", "both"):
        start = time.perf_counter()
        mnist = load_mnist(labels=True)
        results = run(mnist_jobs(args, mnist), args.n_jobs)
        score_figure(args, mnist, out / "outliers-scores.png")
        minutes = (time.perf_counter() - start) / 60
        text = (
            table(results, "MNIST one-class, ROC-AUC per normal digit", False)
            + f"\n{header}Each model trains on {args.digit_train} training images "
            f"of its digit (at most {args.image_epochs} epochs for the skvae "
            f"models) and scores all 10,000 test images; {minutes:.1f} min in all.\n"
        )
        print(text)
        (out / "outliers-mnist.md").write_text(text)


if __name__ == "__main__":
    main()
