"""The capstone: a private document assistant over local embeddings, a local vector store and a
local model, with a record of every connection it makes.

* :mod:`~labkit.rag.corpus`: synthetic clinic notes and labelled questions;
* :mod:`~labkit.rag.store`: Qdrant on disk, embeddings two ways;
* :mod:`~labkit.rag.assistant`: the retrieval chain that answers and cites a note;
* :mod:`~labkit.rag.evaluate`: recall@k, MRR, answer accuracy;
* :mod:`~labkit.rag.privacy`: every connection recorded, loopback or not.

Introduced in notebooks/07_private_assistant.
"""

from labkit import lazy_submodules

__getattr__ = lazy_submodules(__name__, {"assistant", "corpus", "evaluate", "privacy", "store"})
