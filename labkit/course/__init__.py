"""The course's scaffolding: ``labkit doctor`` (:mod:`~labkit.course.doctor`), exercise self-checks
(:mod:`~labkit.course.check`), diagrams, the ipywidgets explorers (:mod:`~labkit.course.widgets`),
student and instructor editions of the notebooks, and the offline install bundle for workshops.

The top layer: it may use every other part of the kit.
"""

from labkit import lazy_submodules

__getattr__ = lazy_submodules(__name__, {"check", "diagrams", "doctor", "editions", "wheelhouse", "widgets"})
