"""Model files: fitted estimators saved as data only, and loaded back.

A model file is written by ``torch.save`` and holds nothing but plain values
(dicts, lists, tuples, strings, numbers, booleans, None) and tensors, so it
loads with ``torch.load(path, weights_only=True)``: unlike a pickle, loading
a file from someone else cannot run code. The few other types found in
parameters and fitted attributes (numpy arrays and scalars, random states,
torch devices, paths) are stored as tagged dicts and rebuilt exactly. Only
skvae models are instantiated, by name from the registry (``_registry.py``):
skvae's own estimators, and subclasses of ``BaseAutoencoder`` that code
running in this process has defined.

The estimator's state is what pickling stores (``__getstate__``), and it is
restored by ``__setstate__``, so that both paths rebuild the network the
same way, a CUDA model included on a machine without CUDA.
"""

import contextlib
import os
import pathlib
import uuid
import warnings
import zipfile

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from ._registry import ESTIMATORS, model_name
from ._version import __version__
from .training.devices import is_available, to_cpu
from .training.optimizers import make_optimizer

FORMAT = "skvae"
# the layout of the file; a change that older versions would misread raises it
VERSION = 1
_TAG = "__skvae_type__"
# parameters added since 0.1.0, at the values that keep an older model's
# behaviour: its trimming left the worst rows out, its prior was N(0, I)
# and it trained on the rows as given
_LEGACY_PARAMS = {"trim_weight": 0.0, "prior": "normal", "smoothing": 0.0}


class Persistent:
    """Pickling and ``save`` for estimators whose network is ``module_``.

    Both store the network and its optimizer as CPU state dicts (plain
    tensors) and rebuild them with ``_build_module``: on the fitted device
    where it is available, else on the CPU with a warning.
    """

    def save(self, path):
        """Save the fitted estimator to a file that ``skvae.load`` reads back.

        The file holds the parameters, the fitted attributes and the state of
        the network and its optimizer as plain values and tensors only, so
        that it loads with ``torch.load(path, weights_only=True)``: unlike a
        pickle, loading it cannot run code. It is written to a temporary
        file beside ``path`` and then renamed, so that ``path`` never holds a
        partly written model.

        Parameters
        ----------
        path : str or path-like
            Where to write the model; an existing file is replaced.
        """
        check_is_fitted(self)
        save_estimator(self, path)

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: object's is the live __dict__
        if "module_" in state:
            state["module_"] = to_cpu(self.module_.state_dict())
            state["_optimizer"] = to_cpu(self._optimizer.state_dict())
        return state

    def __setstate__(self, state):
        module_state = state.pop("module_", None)
        optimizer_state = state.pop("_optimizer", None)
        if module_state is not None:
            state = {**_before_tables(state), **state}
        # a pickle of an older version lacks the newer parameters
        state = {**_legacy_params(type(self), state, self.__dict__), **state}
        super().__setstate__(state)
        if module_state is None:
            return
        if not is_available(self.device_):
            note = ""
            if not is_available(self.device):  # e.g. 'cuda': follow the fallback
                self.device, note = "cpu", " and its device parameter set to 'cpu'"
            warnings.warn(
                f"This model was fitted on {self.device_}, which is not available "
                f"here; it is loaded on the CPU{note}.",
                UserWarning,
                stacklevel=2,
            )
            self.device_ = "cpu"
        with torch.random.fork_rng(devices=[]):  # building draws initial weights
            self.module_ = self._build_module(self.n_features_in_)
        _load_module_state(self.module_, module_state)
        self.module_.to(torch.device(self.device_)).eval()
        self._optimizer = make_optimizer(
            self.optimizer, self.module_, self.learning_rate, self.weight_decay
        )
        self._optimizer.load_state_dict(optimizer_state)


def _before_tables(state):
    """The fitted attributes of tables, as they are for a model from a version
    of skvae before them (numeric columns, no gaps)."""
    return {
        "is_categorical_": np.zeros(state["n_features_in_"], dtype=bool),
        "categories_": [],
        "_columns_in": None,
        "_dtypes_in": None,
        "_gaps": False,
    }


def _legacy_params(cls, *known):
    """The legacy values of ``cls``'s parameters that none of ``known`` holds."""
    names = set(cls._get_param_names()).difference(*known)
    return {name: v for name, v in _LEGACY_PARAMS.items() if name in names}


def _load_module_state(module, state):
    """``module.load_state_dict(state)``; a model saved before columns were
    standardised lacks their statistics and keeps the identity scaling."""
    missing, unexpected = module.load_state_dict(state, strict=False)
    legacy = {"columns.loc", "columns.scale"}
    unknown = sorted(set(missing) - legacy) + unexpected
    if set(missing) & legacy not in (set(), legacy):  # one of the two: damage
        unknown += sorted(set(missing) & legacy)
    if unknown:
        raise RuntimeError(f"The saved network does not match: {unknown}.")


def save_estimator(estimator, path):
    """Write a fitted ``estimator`` to ``path`` atomically (see ``save``)."""
    params = estimator.get_params(deep=False)
    state = estimator.__getstate__()
    _write(
        {
            "format": FORMAT,
            "version": VERSION,
            "skvae_version": __version__,
            "estimator": model_name(type(estimator)),
            "params": encode(params),
            "attributes": encode({k: v for k, v in state.items() if k not in params}),
        },
        path,
    )


def load(path):
    """Load an estimator saved with its ``save`` method (or a checkpoint).

    The file is read with ``torch.load(path, weights_only=True)``, which
    refuses anything but plain values and tensors, so that loading a model
    from someone else cannot run code. A model fitted on a GPU loads on the
    CPU, with a warning, where that GPU is not available.

    Parameters
    ----------
    path : str or path-like
        A file written by ``save``, or the ``checkpoint`` of a training run.

    Returns
    -------
    estimator : VAE, ConvVAE, DenoisingAE or another skvae model
        The fitted estimator, as it was saved: the same parameters, fitted
        attributes and results, ready for further training. A model class
        of your own must be defined (its module imported) before loading.

    Raises
    ------
    ValueError
        If the file is not a skvae model file (corrupted, truncated or of
        another kind), or was written in a format version that this skvae
        version does not read.
    """
    payload = _read(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise _invalid(path, "it holds no skvae model")
    if payload.get("version") != VERSION:
        raise ValueError(
            f"{os.fspath(path)} is a skvae model file of format version "
            f"{payload.get('version')!r} (written by skvae "
            f"{payload.get('skvae_version')}), but skvae {__version__} reads "
            f"format version {VERSION}. Load it with the skvae version that "
            f"wrote it."
        )
    name = payload.get("estimator")
    cls = ESTIMATORS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise _invalid(
            path,
            f"{name!r} is not one of skvae's models defined in this process "
            f"{sorted(ESTIMATORS)}; import the module that defines it first",
        )
    try:
        params = decode(payload["params"])
        estimator = cls(**params, **_legacy_params(cls, params))
        estimator.__setstate__(decode(payload["attributes"]))
    except Exception as exc:  # built from the file's data: the file is at fault
        raise _invalid(path, f"its {name} does not load ({exc!r})") from exc
    if not hasattr(estimator, "module_"):
        raise _invalid(path, f"its {name} has no network")
    return estimator


def _read(path):
    """The object in the torch file ``path``, its checksums verified."""
    with open(path, "rb") as file:  # a missing or unreadable file is an OSError
        try:
            archive = zipfile.ZipFile(file)
            # torch.save writes a CRC-32 per record (0 where turned off), which
            # torch.load ignores: a flipped bit in a weight would go unnoticed
            checked = any(info.CRC for info in archive.infolist())
            damaged = archive.testzip() if checked else None
            if damaged is None:
                file.seek(0)
                payload = torch.load(file, map_location="cpu", weights_only=True)
        except Exception as exc:  # zipfile and torch report bad files in many ways
            raise _invalid(path, "it is not an intact torch file") from exc
    if damaged is not None:
        raise _invalid(path, f"its part {damaged!r} is damaged (checksum mismatch)")
    return payload


def _invalid(path, reason):
    return ValueError(f"{os.fspath(path)} is not a valid skvae model file: {reason}.")


def _write(payload, path):
    """``torch.save`` to a temporary file beside ``path``, then rename it."""
    path = os.fspath(path)
    temporary = f"{path}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        with open(temporary, "xb") as file:
            torch.save(payload, file)
            file.flush()
            os.fsync(file.fileno())  # on disk before it replaces the old file
        os.replace(temporary, path)
    except BaseException:  # an interrupt included: no temporary file is left
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise


def encode(obj):
    """``obj`` as plain values and tensors; ``decode`` rebuilds it exactly."""
    # numpy scalars first: np.float64 and np.str_ subclass float and str
    if isinstance(obj, np.generic):
        return {_TAG: "scalar", "dtype": obj.dtype.str, "value": encode(obj.item())}
    if obj is None or isinstance(obj, (bool, int, float, str, torch.Tensor)):
        return obj
    if isinstance(obj, (list, tuple)):
        return type(obj)(encode(v) for v in obj)
    if isinstance(obj, dict):
        if not all(isinstance(k, (str, int)) for k in obj):
            raise TypeError(f"Cannot save a dict with keys {list(obj)!r}.")
        return {k: encode(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return {
            _TAG: "ndarray",
            "dtype": obj.dtype.str,
            "shape": list(obj.shape),
            "data": encode(obj.ravel().tolist()),
        }
    if isinstance(obj, np.random.RandomState):
        return {_TAG: "RandomState", "state": encode(obj.get_state())}
    if isinstance(obj, torch.device):
        return {_TAG: "device", "value": str(obj)}
    if isinstance(obj, os.PathLike):
        return {_TAG: "path", "value": os.fspath(obj)}
    raise TypeError(
        f"Cannot save a value of type {type(obj).__name__} ({obj!r}); model "
        f"files hold plain values, numpy arrays and tensors. Set parameters to "
        f"such values, or pickle the estimator."
    )


def decode(obj):
    """The inverse of ``encode``."""
    if isinstance(obj, dict):
        if _TAG not in obj:
            return {k: decode(v) for k, v in obj.items()}
        return _DECODERS[obj[_TAG]](obj)
    if isinstance(obj, (list, tuple)):
        return type(obj)(decode(v) for v in obj)
    return obj


def _random_state(obj):
    random_state = np.random.RandomState()
    random_state.set_state(decode(obj["state"]))
    return random_state


_DECODERS = {
    "scalar": lambda obj: np.array(obj["value"], dtype=np.dtype(obj["dtype"]))[()],
    "ndarray": lambda obj: np.array(
        decode(obj["data"]), dtype=np.dtype(obj["dtype"])
    ).reshape(obj["shape"]),
    "RandomState": _random_state,
    "device": lambda obj: torch.device(obj["value"]),
    "path": lambda obj: pathlib.Path(obj["value"]),
}
