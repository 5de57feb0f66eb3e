"""One model, three engines: builders that return the real LangChain objects.

Each function is a few lines you could type yourself; what it adds is the
settings learners otherwise trip over:

* ``ChatOllama`` always gets ``num_ctx`` (left unset, the server's default
  silently truncates long prompts);
* ``LlamaCpp`` gets a usable ``n_ctx`` and ``n_batch`` (LangChain's defaults
  are 512 and 8), no repeat penalty (LangChain's 1.1 derails small models),
  llama.cpp's C logs are silenced, and ``n_gpu_layers`` says so when this
  build cannot offload;
* ``HuggingFacePipeline`` gets ``return_full_text=False`` (otherwise the
  prompt is echoed) and an explicit, announced device.

The objects returned are plain LangChain objects: ``invoke``, ``stream``,
``batch`` and chains work as the LangChain docs say.
Introduced in notebooks/02_ollama, 03_llamacpp and 04_huggingface.
"""

from __future__ import annotations

import warnings
from typing import Any

from labkit import models
from labkit.system.hardware import default_threads

DEFAULT_MODEL = "smollm2:135m"
ENGINES = ("ollama", "llama.cpp", "transformers")


def chat_model(engine: str, model: str = DEFAULT_MODEL, *, max_tokens: int = 128, context: int = 2048,
               **kwargs: Any):
    """The same chat model on any of the three engines, configured alike: one line to swap.

    Greedy, ``context`` tokens of context (``num_ctx`` for Ollama, ``n_ctx`` for llama.cpp;
    transformers has no such setting: the model's own limit applies), at most ``max_tokens`` new
    tokens, the model's own chat template and end-of-turn token. ``kwargs`` go to the builder.
    Introduced in notebooks/06_build_with_langchain.
    """
    if engine == "ollama":
        return ollama_chat(model, num_ctx=context, num_predict=max_tokens, **kwargs)
    if engine == "llama.cpp":
        return llamacpp_chat(model, n_ctx=context, max_tokens=max_tokens, **kwargs)
    if engine == "transformers":
        return hf_chat(model, max_new_tokens=max_tokens, announce=False, **kwargs)
    raise ValueError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")


# ---------------------------------------------------------------- Ollama (inference server)
def ollama_base_url(base_url: str | None = None) -> str:
    """The server to talk to: ``base_url`` if given, else ``OLLAMA_HOST`` as Ollama reads it."""
    from labkit.engines.ollama_host import ollama_host

    return base_url.rstrip("/") if base_url else ollama_host()


def ollama_chat(model: str = DEFAULT_MODEL, *, num_ctx: int = 4096, temperature: float = 0.0,
                seed: int = 0, base_url: str | None = None, keep_alive: str | int | None = "30m",
                **options: Any):
    """``ChatOllama`` with ``num_ctx`` always set, greedy by default.

    ``options`` go straight to ``ChatOllama`` (``num_predict``, ``top_k``,
    ``format``, ``reasoning`` ...). See notebooks/02_ollama.
    """
    from langchain_ollama import ChatOllama

    return ChatOllama(model=model, base_url=ollama_base_url(base_url), num_ctx=num_ctx,
                      temperature=temperature, seed=seed, keep_alive=keep_alive, **options)


def ollama_llm(model: str = DEFAULT_MODEL, *, num_ctx: int = 4096, temperature: float = 0.0,
               seed: int = 0, base_url: str | None = None, keep_alive: str | int | None = "30m",
               **options: Any):
    """``OllamaLLM`` (plain text completion) with the same settings as :func:`ollama_chat`."""
    from langchain_ollama import OllamaLLM

    return OllamaLLM(model=model, base_url=ollama_base_url(base_url), num_ctx=num_ctx,
                     temperature=temperature, seed=seed, keep_alive=keep_alive, **options)


# ---------------------------------------------------------------- llama.cpp (embedded engine)
def gpu_layers(n_gpu_layers: int) -> int:
    """Check a requested ``n_gpu_layers`` against what this llama.cpp build can do.

    A CPU-only build accepts any value and silently runs on the CPU; here the
    learner is told instead, and 0 is passed on.
    """
    from labkit.system.hardware import llama_gpu_offload

    if n_gpu_layers != 0 and not llama_gpu_offload():
        print(f"note: n_gpu_layers={n_gpu_layers} requested, but this llama-cpp-python build has no GPU "
              "support, so every layer runs on the CPU. To offload, reinstall with "
              'CMAKE_ARGS="-DGGML_CUDA=on" (NVIDIA) or "-DGGML_METAL=on" (Apple).')
        return 0
    return n_gpu_layers


def _llamacpp_settings(model: str, n_ctx: int, n_gpu_layers: int, n_threads: int | None, n_batch: int,
                       temperature: float, max_tokens: int, seed: int, verbose: bool) -> dict[str, Any]:
    return {
        "model_path": str(models.path(model)),
        "n_ctx": n_ctx,
        "n_gpu_layers": gpu_layers(n_gpu_layers),
        "n_threads": n_threads or default_threads(),
        "n_batch": n_batch,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "seed": seed,
        # Loaded with verbose=True so that llama-cpp-python does not swap the process's stderr;
        # llama.cpp's own messages are silenced by the kit's log callback (labkit.system.logs).
        "verbose": True,
        # LangChain's LlamaCpp/ChatLlamaCpp default to 1.1, which also penalises every token of the
        # prompt: asked about "the capital of France", a small model then avoids "capital" and
        # "France" and drifts off. Ollama and llama.cpp's own server default to 1.0 (no penalty).
        "repeat_penalty": 1.0,
    }


def _import_community(class_name: str):
    """langchain-community prints a sunset notice on import; say it once in the docs, not in every cell."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if class_name == "LlamaCpp":
            from langchain_community.llms import LlamaCpp as cls
        else:
            from langchain_community.chat_models import ChatLlamaCpp as cls
    return cls


def llamacpp_llm(model: str = DEFAULT_MODEL, *, n_ctx: int = 4096, n_gpu_layers: int = 0,
                 n_threads: int | None = None, n_batch: int = 512, temperature: float = 0.0,
                 max_tokens: int = 256, seed: int = 0, verbose: bool = False, **kwargs: Any):
    """LangChain's ``LlamaCpp`` (plain completion: no chat template) on a store model.

    ``LlamaCpp`` lives in ``langchain_community``, which is being sunset; the
    maintained path for llama.cpp in LangChain is ``ChatLlamaCpp`` (same
    package) or llama.cpp's OpenAI-compatible server with ``ChatOpenAI``.
    See notebooks/03_llamacpp.
    """
    cls = _import_community("LlamaCpp")
    settings = _llamacpp_settings(model, n_ctx, n_gpu_layers, n_threads, n_batch, temperature,
                                  max_tokens, seed, verbose)
    return _load_langchain(cls, settings, kwargs, verbose)


def llamacpp_chat(model: str = DEFAULT_MODEL, *, n_ctx: int = 4096, n_gpu_layers: int = 0,
                  n_threads: int | None = None, n_batch: int = 512, temperature: float = 0.0,
                  max_tokens: int = 256, seed: int = 0, verbose: bool = False, **kwargs: Any):
    """LangChain's ``ChatLlamaCpp``: llama.cpp with the GGUF's own chat template applied."""
    if not models.info(model).chat_template:
        raise ValueError(f"{model} has no chat template in its GGUF file (it is a base model); "
                         "use llamacpp_llm for plain completion.")
    cls = _import_community("ChatLlamaCpp")
    settings = _llamacpp_settings(model, n_ctx, n_gpu_layers, n_threads, n_batch, temperature,
                                  max_tokens, seed, verbose)
    return _load_langchain(cls, settings, kwargs, verbose)


def _load_langchain(cls, settings: dict[str, Any], extra: dict[str, Any], verbose: bool):
    """Build LangChain's llama.cpp class the way :func:`labkit.engines.llamacpp.load` loads a model."""
    from labkit.engines.llamacpp import prepare, quiet_after_load
    from labkit.system.logs import loading

    prepare()
    with loading(show=verbose):
        llm = cls(**settings, **extra)
    if not verbose:
        quiet_after_load(llm.client)
        llm.verbose = False
    return llm


# ---------------------------------------------------------------- Hugging Face transformers
def pick_device(device: str = "auto", announce: bool = True) -> str:
    """``auto`` picks cuda, then mps, then cpu, and says which; an explicit choice is checked."""
    import torch

    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
        if announce:
            print(f"running on: {device}")
    elif device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' was requested but torch sees no CUDA GPU here; "
                           "use device='auto' or 'cpu'.")
    elif device == "mps" and not has_mps:
        raise RuntimeError("device='mps' was requested but Apple's Metal backend is not available; "
                           "use device='auto' or 'cpu'.")
    return device


def hf_pipeline(model: str = DEFAULT_MODEL, *, device: str = "auto", dtype: str = "auto",
                max_new_tokens: int = 64, do_sample: bool = False, announce: bool = True, **pipeline_kwargs: Any):
    """``HuggingFacePipeline.from_model_id`` on the kit's local export of ``model``.

    ``return_full_text=False`` so the prompt is not echoed back; greedy by
    default. The export is a float32 folder made from the GGUF on first use.
    See notebooks/04_huggingface.
    """
    from langchain_huggingface import HuggingFacePipeline

    from labkit.system.logs import quiet_transformers

    quiet_transformers()
    chosen = pick_device(device, announce=announce)
    kwargs = {"max_new_tokens": max_new_tokens, "do_sample": do_sample, "return_full_text": False,
              **pipeline_kwargs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return HuggingFacePipeline.from_model_id(
            model_id=str(models.hf_dir(model)),
            task="text-generation",
            device_map=None if chosen == "cpu" else chosen,
            model_kwargs={"dtype": dtype},
            pipeline_kwargs=kwargs,
        )


def hf_chat(model: str = DEFAULT_MODEL, **kwargs: Any):
    """``ChatHuggingFace`` over :func:`hf_pipeline`: applies the tokenizer's chat template."""
    from langchain_huggingface import ChatHuggingFace

    if not models.info(model).chat_template:
        raise ValueError(f"{model} is a base model without a chat template; use hf_pipeline instead.")
    llm = hf_pipeline(model, **kwargs)
    return ChatHuggingFace(llm=llm, tokenizer=llm.pipeline.tokenizer)
