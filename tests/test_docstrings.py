"""The estimators' docstrings document every parameter, in numpydoc layout."""

import inspect
import re

import pytest

from skvae import VAE, ConvVAE, DenoisingAE, VAEImputer


@pytest.mark.parametrize("cls", [VAE, ConvVAE, DenoisingAE, VAEImputer])
def test_every_parameter_is_documented_once(cls):
    doc = inspect.getdoc(cls)
    parameters = doc.split("Parameters\n----------\n")[1].split("Attributes\n---")[0]
    # numpydoc reads a parameter from a line at the section's indentation
    documented = re.findall(r"^(\w+) : ", parameters, re.MULTILINE)
    assert documented == list(inspect.signature(cls).parameters)
    assert "%(" not in doc
