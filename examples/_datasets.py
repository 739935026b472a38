"""Data and output folders of the examples.

The data sets are read from ``$SKVAE_DATA`` (default ``../shared/datasets``
beside the repository); figures go to ``--out`` (default
``example-output/<example name>``).
"""

import argparse
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # the examples write files; no window

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SKVAE_DATA", ROOT.parent / "shared" / "datasets"))


def data_file(name):
    """Path of a data set file, or exit with a message that says what to do."""
    path = DATA / name
    if not path.exists():
        raise SystemExit(
            f"{path} not found. Set SKVAE_DATA to the folder holding {name} "
            f"(MNIST, Quick, Draw! and Olivetti files: see the README)."
        )
    return path


def output_folder(script, description):
    """The ``--out`` folder of an example, created."""
    parser = argparse.ArgumentParser(description=description)
    default = ROOT / "example-output" / Path(script).stem
    parser.add_argument("--out", type=Path, default=default)
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    return out


def save(fig, out, name):
    fig.savefig(out / name, dpi=90, bbox_inches="tight")
    print(f"  wrote {out / name}")
