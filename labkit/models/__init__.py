"""The model store: every GGUF file the course uses, found and verified by name.

Models are named the way Ollama names them (``smollm2:135m``). The course
models ship inside ordinary PyPI packages, so nothing is downloaded from a
model hub. Every file is checked against its sha256 before anything loads it:
a truncated or corrupted file is rebuilt or reported with the fix, never
loaded silently. Learners can add their own GGUF (say a 7B model they
downloaded) with :func:`register`.

* :mod:`~labkit.models.catalog` — the course models and what is known about them;
* :mod:`~labkit.models.registry` — names: the catalog plus your own models;
* :mod:`~labkit.models.locate` — the verified file for a name (:func:`path`);
* :mod:`~labkit.models.files` — the store's folder and its sha256 checks;
* :mod:`~labkit.models.gguf` — what a GGUF file says about itself;
* :mod:`~labkit.models.exports` — the F16 GGUF and Hugging Face folder made from a model.

Introduced in notebooks/00_start_here.
"""

from labkit import lazy_submodules
from labkit.models.catalog import (
           CATALOG,
           CorruptModelError,
           ModelInfo,
           UnknownModelError,
)
from labkit.models.exports import f16_path, hf_dir
from labkit.models.files import file_sha256, store_root
from labkit.models.gguf import facts as read_gguf_facts
from labkit.models.locate import path, status
from labkit.models.registry import info, names, register, resolve, unregister

__all__ = ["CATALOG", "CorruptModelError", "ModelInfo", "UnknownModelError", "f16_path", "file_sha256", "hf_dir",
           "info", "names", "path", "read_gguf_facts", "register", "resolve", "status", "store_root", "unregister"]

__getattr__ = lazy_submodules(__name__, {"catalog", "exports", "files", "gguf", "locate", "registry"})
