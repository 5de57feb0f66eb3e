"""Running a model: one model, three engines, each through its real LangChain class.

* :mod:`~labkit.engines.builders`: ``ChatOllama``/``OllamaLLM``, ``LlamaCpp``/``ChatLlamaCpp``,
  ``HuggingFacePipeline``/``ChatHuggingFace`` with the settings learners trip over set right
  (re-exported here: ``labkit.engines.ollama_chat(...)``);
* :mod:`~labkit.engines.llamacpp`: loading a llama.cpp model quietly and safely on this CPU,
  and llama.cpp's own quantizer;
* :mod:`~labkit.engines.tokens`: what a model reads (tokens, chat templates) and predicts (logits);
* :mod:`~labkit.engines.ollama_host`: where the Ollama server is (``OLLAMA_HOST``).

Introduced in notebooks/02_ollama, 03_llamacpp and 04_huggingface; ``chat_model`` (the same
chat model on any engine) in 06_build_with_langchain.
"""

from labkit import lazy_submodules
from labkit.engines.builders import (
    DEFAULT_MODEL,
    ENGINES,
    chat_model,
    gpu_layers,
    hf_chat,
    hf_pipeline,
    llamacpp_chat,
    llamacpp_llm,
    ollama_base_url,
    ollama_chat,
    ollama_llm,
    pick_device,
)

__all__ = ["DEFAULT_MODEL", "ENGINES", "chat_model", "gpu_layers", "hf_chat", "hf_pipeline", "llamacpp_chat", "llamacpp_llm",
           "ollama_base_url", "ollama_chat", "ollama_llm", "pick_device"]

__getattr__ = lazy_submodules(__name__, {"builders", "llamacpp", "ollama_host", "tokens"})
