"""What the benchmark scripts share: the data path, MNIST and the machine."""

import os
import platform
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent
DATA = Path(os.environ.get("SKVAE_DATA", ROOT.parent.parent / "shared" / "datasets"))


def load_mnist(labels=False):
    """MNIST training and test images as float32 rows in [0, 1].

    With ``labels``, also the digits: ``X_train, X_test, y_train, y_test``.
    """
    path = DATA / "mnist.npz"
    if not path.exists():
        raise SystemExit(
            f"{path} not found; set SKVAE_DATA to the folder holding mnist.npz"
        )
    with np.load(path) as data:
        images = tuple(
            data[k].reshape(-1, 784).astype(np.float32) / 255
            for k in ("x_train", "x_test")
        )
        return images + (data["y_train"], data["y_test"]) if labels else images


def machine():
    """CPU, cores, torch build and threads, and the GPU if there is one."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(
                line.split(":")[1].strip() for line in info if "model name" in line
            )
    except (OSError, StopIteration):
        pass
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "no GPU"
    return (
        f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), {device}"
    )
