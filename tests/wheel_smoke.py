"""Smoke test of an installed skvae (a built wheel in a fresh environment).

Run it outside the checkout, so that the installed package is imported:
``cd /tmp && python /path/to/tests/wheel_smoke.py``. ``make check-wheel``
builds the wheel, installs it with torch into a new venv and runs this.
"""

import os
import pathlib
import tempfile

import numpy as np
from sklearn.datasets import load_digits

import skvae

here = pathlib.Path(skvae.__file__).resolve()
assert "site-packages" in here.parts, f"not an installed skvae: {here}"

X = load_digits().data[:400] / 16
for model in (
    skvae.VAE(epochs=3, random_state=0),
    skvae.ConvVAE(channels=(4, 8), epochs=2, random_state=0),
    skvae.DenoisingAE(epochs=2, random_state=0),
):
    codes = model.fit(X).transform(X)
    scores = model.score_samples(X)
    assert codes.shape == (400, model.latent_dim) and np.isfinite(scores).all()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.skvae")
        model.save(path)
        np.testing.assert_array_equal(skvae.load(path).score_samples(X), scores)
print(
    f"skvae {skvae.__version__} from {here.parent}: fit, transform, score, save/load ok"
)
