"""Measuring a generation the same way on every engine (:mod:`~labkit.measure.bench`) and the
memory a model needs, estimated part by part and checked against a real run
(:mod:`~labkit.measure.memory`). Introduced in notebooks/01_running_local_llms.
"""

from labkit import lazy_submodules

__getattr__ = lazy_submodules(__name__, {"bench", "memory", "memory_check", "shapes"})
