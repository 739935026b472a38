"""Sphinx configuration of skvae's documentation site.

Build with ``make docs`` (or ``sphinx-build -W --keep-going -b html docs
docs/_build/html``). Nothing is fetched from the network: no intersphinx,
and the examples are shown, not run.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # document this checkout, not an installed skvae

import skvae  # noqa: E402
from skvae._registry import ESTIMATORS  # noqa: E402

# the API page lists every public model of the registry
_api = (ROOT / "docs" / "api.rst").read_text()
_unlisted = [n for n in ESTIMATORS if n in skvae.__all__ and f"   {n}\n" not in _api]
if _unlisted:
    raise RuntimeError(f"docs/api.rst does not list the models {_unlisted}.")

project = "skvae"
author = "the skvae developers"
copyright = "the skvae developers"
version = release = skvae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "images"]
templates_path = ["_templates"]

# API pages: one per object, generated from the docstrings at build time
autosummary_generate = True

autodoc_typehints = "none"
# numpydoc lists the methods; autodoc documents them below, so no stubs
numpydoc_show_class_members = True
numpydoc_class_members_toctree = False
# every parameter documented, and no documented parameter that does not exist
numpydoc_validation_checks = {"PR01", "PR02", "PR03", "PR10"}

myst_heading_anchors = 3

html_theme = "furo"
html_title = f"skvae {release}"
html_static_path = []
