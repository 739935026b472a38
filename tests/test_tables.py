"""Tables as users have them: missing values, categorical columns, any units."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skvae
from skvae import VAE, ConvVAE, DenoisingAE, VAEImputer

SMALL = dict(hidden_layer_sizes=(64,), random_state=0)


def with_holes(X, share, seed=0):
    X = X.copy()
    X[np.random.default_rng(seed).random(X.shape) < share] = np.nan
    return X


@pytest.fixture(scope="module")
def holey_digits(digits):
    X = digits[0]
    return X[:1400], with_holes(X[:1400], 0.2), X[1400:], with_holes(X[1400:], 0.2, 1)


@pytest.fixture(scope="module")
def holey_vae(holey_digits):
    # one variance per pixel and ELBO scores (feature_scores sum to them,
    # less the KL term, in closed form for the normal prior)
    vae = VAE(
        likelihood="gaussian",
        prior="normal",
        n_importance_samples=1,
        epochs=40,
        **SMALL,
    )
    return vae.fit(holey_digits[1])


def test_a_vae_fitted_on_digits_with_holes_imputes_better_than_the_mean(
    holey_vae, holey_digits
):
    full_train, train, full_test, test = holey_digits
    assert holey_vae._gaps and holey_vae.module_.columns.gaps
    filled = holey_vae.impute(test)
    gaps = np.isnan(test)
    np.testing.assert_array_equal(filled[~gaps], test[~gaps])  # observed stay
    column_mean = np.broadcast_to(np.nanmean(train, axis=0), test.shape)
    vae_error = np.mean((filled[gaps] - full_test[gaps]) ** 2)
    mean_error = np.mean((column_mean[gaps] - full_test[gaps]) ** 2)
    assert vae_error < 0.6 * mean_error


def test_scores_with_holes_are_likelihoods_of_the_observed_entries(
    holey_vae, holey_digits
):
    _, train, full_test, test = holey_digits
    scores = holey_vae.score_samples(test)
    assert np.isfinite(scores).all()
    # digits score higher than noise with the same holes
    noise = np.where(
        np.isnan(test), np.nan, np.random.default_rng(2).random(test.shape)
    )
    assert np.median(holey_vae.score_samples(noise)) < np.min(scores)
    # dropping entries of a row drops terms of its likelihood: the scores of
    # the complete rows and of the holey ones differ, both finite
    assert np.isfinite(holey_vae.score_samples(full_test)).all()


def test_a_row_with_every_entry_missing_scores_at_most_zero(holey_vae):
    empty = np.full((2, 64), np.nan)
    # log p(nothing observed) = 0; the ELBO is minus the posterior's KL
    scores = holey_vae.score_samples(empty)
    assert np.all(scores <= 0) and np.all(np.isfinite(scores))
    iwae = clone(holey_vae).set_params(n_importance_samples=200)
    iwae.__setstate__(holey_vae.__getstate__())
    iwae.set_params(n_importance_samples=200)
    assert np.all(np.abs(iwae.score_samples(empty)) < np.abs(scores) + 1e-6)
    assert np.isfinite(holey_vae.impute(empty)).all()
    assert np.isnan(holey_vae.feature_scores(empty)).all()


def test_feature_scores_sum_to_the_reconstruction_term(holey_vae, holey_digits):
    test = holey_digits[3][:50]
    terms = holey_vae.feature_scores(test)
    assert terms.shape == (50, 64)
    np.testing.assert_array_equal(np.isnan(terms), np.isnan(test))
    with torch.no_grad():
        mean, log_var = holey_vae.module_.encode(torch.as_tensor(test).float())
        kl = 0.5 * (mean**2 + log_var.exp() - 1 - log_var).sum(-1).numpy()
    np.testing.assert_allclose(
        np.nansum(terms, axis=1) - kl, holey_vae.score_samples(test), rtol=1e-4
    )


def mixed_table(n=400, seed=0):
    """Numeric columns in very different units, a category, a string and a
    boolean column that depend on them, and gaps everywhere."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "income": 50_000 + 20_000 * z + 2_000 * rng.normal(size=n),
            "age": 40 + 10 * z + rng.normal(size=n),
            "ratio": 0.01 * rng.normal(size=n),
            "city": pd.Categorical(
                np.where(z > 0.5, "Rome", np.where(z < -0.5, "Oslo", "Lyon"))
            ),
            "plan": np.where(z > 0, "gold", "basic").astype(object),
            "member": pd.array(z > -1, dtype="boolean"),
        }
    )
    for column, share in zip(frame.columns, [0.1, 0.1, 0.0, 0.15, 0.1, 0.05]):
        gaps = rng.random(n) < share
        frame.loc[gaps, column] = None
    return frame


@pytest.fixture(scope="module")
def table():
    return mixed_table()


@pytest.mark.parametrize(
    "model",
    [VAE(epochs=30, **SMALL), DenoisingAE(epochs=30, **SMALL)],
    ids=["VAE", "DAE"],
)
def test_every_method_takes_a_table_with_gaps_and_categories(model, table, tmp_path):
    model = clone(model).fit(table)
    assert model.is_categorical_.tolist() == [False, False, False, True, True, True]
    assert [c.tolist() for c in model.categories_] == [
        ["Lyon", "Oslo", "Rome"],
        ["basic", "gold"],
        [False, True],
    ]
    n = len(table)
    assert model.transform(table).shape == (n, model.latent_dim)
    for method in ("score_samples", "decision_function", "predict"):
        assert np.isfinite(getattr(model, method)(table)).all()
    assert np.isfinite(model.score(table))
    terms = model.feature_scores(table)
    assert terms.shape == (n, 6)
    np.testing.assert_array_equal(np.isnan(terms), table.isna().to_numpy())

    filled = model.impute(table)
    assert isinstance(filled, pd.DataFrame) and not filled.isna().any().any()
    observed = table.notna()
    for column in table.columns:  # observed entries are unchanged
        kept = observed[column]
        assert (filled.loc[kept, column] == table.loc[kept, column]).all()
    assert set(filled["city"]) <= {"Lyon", "Oslo", "Rome"}
    assert filled["city"].dtype == "category"

    decoded = model.inverse_transform(model.transform(table.iloc[:5]))
    assert list(decoded.columns) == list(table.columns)
    assert set(decoded["plan"]) <= {"basic", "gold"}
    assert decoded["member"].dtype == "boolean"

    scores = model.score_samples(table)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(model)).score_samples(table), scores
    )
    model.save(tmp_path / "table.skvae")
    loaded = skvae.load(tmp_path / "table.skvae")
    np.testing.assert_array_equal(loaded.score_samples(table), scores)
    pd.testing.assert_frame_equal(loaded.impute(table), filled)


def test_a_vae_samples_valid_categories_that_follow_the_numbers(table):
    vae = VAE(epochs=60, **SMALL).fit(table)
    new = vae.sample(300, random_state=0)
    assert set(new["city"]) <= {"Lyon", "Oslo", "Rome"}
    assert set(new["plan"]) == {"basic", "gold"}
    # the model learned the dependence: gold members are the richer ones
    gold = new["plan"] == "gold"
    assert new.loc[gold, "income"].mean() > new.loc[~gold, "income"].mean() + 10_000


def test_imputed_categories_follow_the_observed_numbers(table):
    vae = VAE(epochs=60, **SMALL).fit(table)
    rows = table.iloc[:200].copy()
    truth = rows["plan"].copy()
    rows["plan"] = None
    guessed = vae.impute(rows)["plan"]
    known = truth.notna()
    assert (guessed[known] == truth[known]).mean() > 0.8


def test_numeric_columns_need_no_scaler(table):
    numbers = table[["income", "age", "ratio"]].to_numpy()
    X = np.nan_to_num(numbers, nan=0.0)[:, :2] / [20_000, 10]
    scaled = X * [1000.0, 0.001]
    a = VAE(epochs=20, **SMALL).fit(X)
    b = VAE(epochs=20, **SMALL).fit(scaled)
    # the same model in other units (up to the float rounding that training
    # amplifies): scores differ by the log of the scaling
    shift = -np.log([1000.0, 0.001]).sum()
    a_scores, b_scores = a.score_samples(X) + shift, b.score_samples(scaled)
    assert abs(b_scores.mean() - a_scores.mean()) < 0.1
    assert np.corrcoef(a_scores, b_scores)[0, 1] > 0.9
    # a StandardScaler in front keeps working
    pipe = make_pipeline(StandardScaler(), VAE(epochs=20, **SMALL)).fit(scaled)
    assert np.isfinite(pipe.score_samples(scaled)).all()


def test_feature_scores_point_at_a_corrupted_column(table):
    vae = VAE(epochs=60, **SMALL).fit(table)
    rows = table.dropna().iloc[:100].copy()
    rng = np.random.default_rng(0)
    donors = table["income"].dropna().to_numpy()
    # the income of a rich person given to a poor one and vice versa
    rows["income"] = np.where(rows["age"] > 40, donors.min(), donors.max())
    terms = vae.feature_scores(rows)
    assert (np.argmin(terms, axis=1) == 0).mean() > 0.8
    del rng


def test_unseen_categories_score_as_the_least_likely_one(table):
    vae = VAE(epochs=5, **SMALL).fit(table)
    rows = table.iloc[[0, 0, 0]].copy()
    rows["plan"] = ["gold", "basic", "platinum"]
    with pytest.warns(
        UserWarning, match=r"'plan'.*not seen in fit.*'platinum'"
    ) as caught:
        scores = vae.score_samples(rows)
    assert caught[0].filename == __file__  # points at the caller
    # never more normal than a known category, so detectors flag it
    assert scores[2] <= scores[:2].min() + 1e-6
    with pytest.warns(UserWarning):
        assert np.isfinite(vae.feature_scores(rows.iloc[[2]])[0, 4])
    dae = DenoisingAE(epochs=5, **SMALL).fit(table)
    with pytest.warns(UserWarning):
        errors = dae.feature_scores(rows)[:, 4]
    assert errors[2] <= errors[:2].min()  # a category of probability 0
    with pytest.warns(UserWarning):
        assert vae.impute(rows)["plan"].tolist() == ["gold", "basic", "platinum"]


def test_imputed_frames_keep_their_dtypes(table):
    vae = VAE(epochs=5, **SMALL).fit(table)
    rows = table.iloc[:4].copy()
    rows["city"] = pd.Categorical([None, "Rome", None, None], categories=["Rome"])
    rows["plan"] = np.nan  # a categorical column missing everywhere
    filled = vae.impute(rows)
    assert filled["city"].dtype == "category" and filled["city"].notna().all()
    assert set(filled["plan"]) <= {"basic", "gold"}
    ordered = table.assign(
        city=table["city"].cat.reorder_categories(
            ["Rome", "Lyon", "Oslo"], ordered=True
        )
    )
    model = VAE(epochs=2, **SMALL).fit(ordered)
    assert model.categories_[0].tolist() == ["Rome", "Lyon", "Oslo"]
    assert model.sample(2, random_state=0)["city"].dtype == ordered["city"].dtype
    numbered = table.set_axis(range(6), axis=1)  # no string names
    sample = VAE(epochs=2, **SMALL).fit(numbered).sample(2, random_state=0)
    assert list(sample.columns) == list(range(6))


def test_denoise_gives_categories(table):
    dae = DenoisingAE(epochs=2, **SMALL).fit(table)
    assert set(dae.denoise(table)["plan"]) <= {"basic", "gold"}


def test_a_categorical_column_without_values_is_refused(table):
    with pytest.raises(ValueError, match=r"'plan' is categorical but has no observed"):
        VAE(epochs=1, **SMALL).fit(table.assign(plan=None))
    model = VAE(categorical_features=[], epochs=1, **SMALL)
    assert not model.fit(table[["income", "age"]]).is_categorical_.any()


@pytest.mark.parametrize(
    "spec", [[3, 4, 5], ["city", "plan", "member"], [False] * 3 + [True] * 3]
)
def test_categorical_features_by_index_name_or_mask(spec, table):
    vae = VAE(categorical_features=spec, epochs=1, **SMALL).fit(table)
    assert vae.is_categorical_.tolist() == [False] * 3 + [True] * 3


def test_categorical_columns_of_an_object_array():
    X = np.array([[1.0, "a"], [2.0, "b"], [None, "a"], [4.0, None]] * 20, dtype=object)
    vae = VAE(categorical_features=[1], epochs=2, **SMALL).fit(X)
    filled = vae.impute(X)
    assert filled.dtype == object and set(filled[:, 1]) == {"a", "b"}
    assert vae.sample(2, random_state=0).dtype == object


@pytest.mark.parametrize(
    "column, message",
    [
        (
            ["a", 1, "b", 2] * 10,
            r"'mixed' is categorical but holds values of several kinds",
        ),
        ([[1], [2], [3], [4]] * 10, r"'mixed' .*(unhashable|several kinds)"),
    ],
)
def test_a_column_of_mixed_kinds_is_named(column, message):
    X = pd.DataFrame({"x": np.arange(40.0), "mixed": column})
    with pytest.raises(ValueError, match=message):
        VAE(epochs=1, **SMALL).fit(X)


def test_bad_categorical_features_are_named(table):
    with pytest.raises(ValueError, match=r"\['town'\] that X does not have"):
        VAE(categorical_features=["town"], epochs=1).fit(table)
    with pytest.raises(ValueError, match="indices"):
        VAE(categorical_features=[9], epochs=1).fit(table)
    with pytest.raises(ValueError, match="one entry per column"):
        VAE(categorical_features=[True], epochs=1).fit(table)


def test_conv_models_refuse_categories_and_take_gaps(digits):
    X = with_holes(digits[0][:300], 0.2)
    with pytest.raises(ValueError, match="reads images.*architecture='mlp'"):
        DenoisingAE(architecture="conv", categorical_features=[0], epochs=1).fit(X)
    small = dict(channels=(4, 8), hidden_layer_sizes=(16,), epochs=2, random_state=0)
    for model in (ConvVAE(**small), DenoisingAE(architecture="conv", **small)):
        model.fit(X)
        # each pixel value comes with its missing flag: twice the channels
        assert model.module_.encoder[1].in_channels == 2
        assert np.isfinite(model.score_samples(X)).all()
        assert not np.isnan(model.impute(X)).any()
        images = X.reshape(-1, 8, 8)
        assert model.impute(images).shape == images.shape


def test_denoising_masks_like_missing_entries(holey_digits):
    _, train, full_test, test = holey_digits
    dae = DenoisingAE(noise="masking", noise_level=0.25, epochs=40, **SMALL).fit(train)
    filled = dae.impute(test)
    gaps = np.isnan(test)
    column_mean = np.broadcast_to(np.nanmean(train, axis=0), test.shape)
    assert np.mean((filled[gaps] - full_test[gaps]) ** 2) < 0.7 * np.mean(
        (column_mean[gaps] - full_test[gaps]) ** 2
    )
    # a row without observed entries has no error
    np.testing.assert_array_equal(dae.score_samples(np.full((1, 64), np.nan)), [0.0])


def test_partial_fit_learns_from_chunks_with_gaps(holey_digits):
    vae = VAE(latent_dim=4, **SMALL)
    for chunk in np.array_split(holey_digits[1], 4):
        vae.partial_fit(chunk)
    assert np.isfinite(vae.score_samples(holey_digits[3])).all()


def test_imputer_is_a_pipeline_step(table):
    from sklearn.ensemble import HistGradientBoostingRegressor

    numbers = table[["income", "age", "ratio"]]
    pipe = make_pipeline(VAEImputer(VAE(epochs=10, **SMALL)), StandardScaler())
    out = pipe.fit_transform(numbers)
    assert not np.isnan(out).any()
    assert list(pipe[0].get_feature_names_out()) == ["income", "age", "ratio"]
    target = table["age"].fillna(40)
    model = make_pipeline(
        VAEImputer(VAE(epochs=10, **SMALL)), HistGradientBoostingRegressor(max_iter=10)
    )
    assert np.isfinite(model.fit(numbers, target).predict(numbers)).all()


def test_imputer_defaults_to_a_vae():
    X = with_holes(np.random.default_rng(0).normal(size=(200, 5)), 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imputer = VAEImputer().set_params(estimator=None).fit(X)
    assert (
        imputer.estimator_.get_params() == VAEImputer.default_estimator().get_params()
    )


def test_a_table_of_categories_only():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"a": rng.choice(["x", "y"], 200), "b": rng.choice(list("uvw"), 200)}
    )
    frame.loc[::9, "a"] = None
    for model in (VAE(epochs=3, **SMALL), DenoisingAE(epochs=3, **SMALL)):
        model.fit(frame)
        assert np.isfinite(model.score_samples(frame)).all()
        assert not model.impute(frame).isna().any().any()
