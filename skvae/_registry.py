"""The list of skvae's models: estimator classes by name.

Every concrete subclass of ``BaseAutoencoder`` enters it when its class is
defined (``BaseAutoencoder.__init_subclass__``). Model files name their
class by it (``_persistence.py``), and the tests and docs iterate it. It
imports nothing, so any module can read it.
"""

ESTIMATORS = {}


def model_name(cls):
    """The name of an estimator class in model files and the registry.

    skvae's own models go by their class name (``"VAE"``), others by module
    and qualified name, so that a user's class named ``VAE`` takes nothing
    from skvae's.
    """
    if cls.__module__.split(".")[0] == "skvae":
        return cls.__name__
    return f"{cls.__module__}.{cls.__qualname__}"


def register(cls):
    """Add the estimator class ``cls``; a class defined again replaces the
    earlier one of its name (a notebook cell run twice)."""
    ESTIMATORS[model_name(cls)] = cls
    return cls
