"""The capstone: a private document assistant over local embeddings, a local vector store and a
local model, with a record of every connection it makes.

* :mod:`~labkit.rag.corpus`: synthetic clinic notes, follow-up visits and labelled questions in kinds;
* :mod:`~labkit.rag.folder`: a folder of your own ``.md`` / ``.txt`` files as chunks;
* :mod:`~labkit.rag.store`: Qdrant on disk, embeddings two ways;
* :mod:`~labkit.rag.sync`: keeping a collection in step with a folder by content hash;
* :mod:`~labkit.rag.assistant`: the retrieved chunks as prompt context, and a citation worked out from an answer;
* :mod:`~labkit.rag.grounded`: an answer held to a JSON schema that says whether the documents hold it;
* :mod:`~labkit.rag.ask`: ``labkit ask``, the pieces joined;
* :mod:`~labkit.rag.evaluate`: recall@k, MRR, whole-token answer grading, per-kind tables;
* :mod:`~labkit.rag.privacy`: connections recorded from Python and sockets sampled from the OS.

Introduced in notebooks/07_private_assistant.
"""

from labkit import lazy_submodules

__getattr__ = lazy_submodules(__name__, {"ask", "assistant", "corpus", "evaluate", "folder", "grounded", "privacy",
                                                   "store", "sync"})
