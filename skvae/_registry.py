"""The list of skvae's models: estimator classes by name.

Every concrete subclass of ``BaseAutoencoder`` enters it when its class is
defined (``BaseAutoencoder.__init_subclass__``). Model files name their
class from it (``_persistence.py``), and the tests and docs iterate it. It
imports nothing, so any module can read it.
"""

ESTIMATORS = {}


def register(cls):
    """Add the estimator class ``cls`` under its name; a name is taken once."""
    known = ESTIMATORS.get(cls.__name__)
    if known is not None and known is not cls:
        raise TypeError(
            f"Another skvae model is already named {cls.__name__} "
            f"({known.__module__}); give the new class another name."
        )
    ESTIMATORS[cls.__name__] = cls
    return cls
