"""The training loop (``loop.py``) and the parts that react to its events."""
