"""Tokens and logits: what a model actually reads and what it actually predicts.

* Tokenizers: how a prompt splits into tokens (ids and pieces) with each
  model's own tokenizer, how a chat template wraps messages, and that
  llama.cpp and transformers give the same ids for the same model.
* Logits: the top-k next tokens with their probabilities, straight from
  llama.cpp and from transformers side by side, and how temperature
  sharpens or flattens that distribution.

Introduced in notebooks/03_llamacpp and notebooks/04_huggingface.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from labkit import models

_LOADED: dict[str, Any] = {}
_VOCABS: dict[str, Any] = {}


def tokenizer(model: str | os.PathLike[str]) -> Any:
    """A vocabulary-only llama.cpp model: tokenizes without loading weights.

    ``model`` is a store name (``"smollm2:135m"``) or the path of a GGUF file.
    Kept for the rest of the process.
    """
    from labkit.models.gguf import open_vocab

    text = str(model)
    key = text if text.endswith(".gguf") else models.resolve(text)
    if key not in _VOCABS:
        _VOCABS[key] = open_vocab(text if text.endswith(".gguf") else models.path(key))
    return _VOCABS[key]


def count(model: str | os.PathLike[str], text: str) -> int:
    """Tokens in ``text`` by the model's own tokenizer (special tokens parsed, no BOS added)."""
    return len(tokenizer(model).tokenize(text.encode(), add_bos=False, special=True))


def _llama(model: str):
    """A llama.cpp model kept loaded for token and logit lessons (small models only)."""
    from labkit.engines.llamacpp import load

    if model not in _LOADED:
        _LOADED[model] = load(models.path(model), n_ctx=2048, n_threads=2, seed=0)
    return _LOADED[model]


@atexit.register
def _close_loaded() -> None:
    """Free the models while llama.cpp's bindings still exist (not during interpreter teardown)."""
    for llm in [*_LOADED.values(), *_VOCABS.values()]:
        llm.close()
    _LOADED.clear()
    _VOCABS.clear()


@lru_cache(maxsize=2)
def _hf(model: str):
    """The transformers tokenizer and float32 model of the kit's export of ``model``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from labkit.system.logs import quiet_transformers

    quiet_transformers()
    folder = models.hf_dir(model)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    network = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    network.eval()
    return tokenizer, network


# ---------------------------------------------------------------- tokenizers
@dataclass
class Token:
    """One token: its id and the text it stands for."""

    id: int
    piece: str


def tokenize(model: str, text: str, engine: str = "llama.cpp") -> list[Token]:
    """Split ``text`` into tokens with the model's own tokenizer on the chosen engine.

    Special tokens written in the text (``<|im_start|>``) are parsed as
    special tokens, as a chat template expects; no BOS is added.
    """
    name = models.resolve(model)
    if engine == "llama.cpp":
        vocab = tokenizer(name)
        ids = vocab.tokenize(text.encode(), add_bos=False, special=True)
        return [Token(i, vocab.detokenize([i], special=True).decode("utf-8", errors="replace")) for i in ids]
    if engine == "transformers":
        hf_tokenizer, _ = _hf(name)
        ids = hf_tokenizer(text, add_special_tokens=False)["input_ids"]
        return [Token(i, hf_tokenizer.decode([i])) for i in ids]
    raise ValueError("engine must be 'llama.cpp' or 'transformers'")


def show_tokens(model: str, text: str, engine: str = "llama.cpp"):
    """A table of a prompt's tokens (position, id, piece), for a notebook to display."""
    import pandas as pd

    rows = [{"id": t.id, "piece": repr(t.piece)} for t in tokenize(model, text, engine)]
    return pd.DataFrame(rows).rename_axis("position")


def chat_template_text(model: str, messages: list[dict[str, str]]) -> str:
    """The exact text a chat model reads for ``messages`` (its GGUF chat template applied)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = tokenizer(model).metadata.get("tokenizer.chat_template")
    if not template:
        raise ValueError(f"{model} has no chat template (a base model): it reads plain text only.")
    formatter = Jinja2ChatFormatter(template=template, eos_token="", bos_token="")
    return formatter(messages=messages).prompt


def chat_prompt(model: str, prompt: str) -> str:
    """The text a model really reads for one user ``prompt``: wrapped in its chat template,
    or the prompt as it is for a base model (no template)."""
    if not models.info(model).chat_template:
        return prompt
    return chat_template_text(model, [{"role": "user", "content": prompt}])


def same_ids(model: str, text: str) -> bool:
    """Do llama.cpp and transformers turn ``text`` into the same token ids?"""
    return [t.id for t in tokenize(model, text)] == [t.id for t in tokenize(model, text, "transformers")]


# ---------------------------------------------------------------- logits
def next_token_logits(model: str, prompt: str, engine: str = "llama.cpp") -> Any:
    """Raw logits (one score per vocabulary entry) for the token after ``prompt``."""

    name = models.resolve(model)
    ids = [t.id for t in tokenize(name, prompt)]
    if engine == "llama.cpp":
        llm = _llama(name)
        llm.reset()
        llm.eval(ids)
        return last_logits(llm)
    if engine == "transformers":
        import torch

        _, network = _hf(name)
        with torch.no_grad():
            logits = network(torch.tensor([ids])).logits[0, -1]
        return logits.double().numpy()
    raise ValueError("engine must be 'llama.cpp' or 'transformers'")


def last_logits(llm: Any) -> Any:
    """The logits llama.cpp computed for the last evaluated token.

    A ``Llama`` built without ``logits_all=True`` keeps no ``scores`` table,
    so read the context's output row directly.
    """
    import llama_cpp
    import numpy as np

    row = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
    return np.ctypeslib.as_array(row, shape=(llm.n_vocab(),)).astype(np.float64)


def softmax(logits: Any, temperature: float = 1.0) -> Any:
    """Probabilities from logits at a temperature: low T sharpens, high T flattens.

    T -> 0 is greedy decoding (all probability on the top token).
    """
    import numpy as np

    if temperature <= 0:
        probs = np.zeros_like(logits)
        probs[int(np.argmax(logits))] = 1.0
        return probs
    scaled = (logits - logits.max()) / temperature
    weights = np.exp(scaled)
    return weights / weights.sum()


def next_token_distribution(model: str, prompt: str, k: int = 10, engine: str = "llama.cpp",
                            temperature: float = 1.0) -> list[tuple[str, float]]:
    """The top-``k`` next tokens with their probabilities, from ``engine``."""
    import numpy as np

    probs = softmax(next_token_logits(model, prompt, engine), temperature)
    llm = _llama(models.resolve(model))
    top = np.argsort(probs)[::-1][:k]
    return [(llm.detokenize([int(i)], special=True).decode("utf-8", errors="replace"), float(probs[i]))
            for i in top]


def compare_distributions(model: str, prompt: str, k: int = 10):
    """llama.cpp and transformers top-k next tokens side by side (a DataFrame)."""
    import pandas as pd

    rows = []
    for engine in ("llama.cpp", "transformers"):
        for rank, (piece, p) in enumerate(next_token_distribution(model, prompt, k, engine)):
            rows.append({"rank": rank + 1, "engine": engine, "token": repr(piece), "p": round(p, 4)})
    table = pd.DataFrame(rows)
    return table.pivot(index="rank", columns="engine", values=["token", "p"])


def plot_temperatures(model: str, prompt: str, temperatures: tuple[float, ...] = (0.2, 0.7, 1.0, 1.5),
                      k: int = 8):
    """Bar charts of the same top-k tokens at several temperatures."""
    import matplotlib.pyplot as plt
    import numpy as np

    logits = next_token_logits(model, prompt)
    llm = _llama(models.resolve(model))
    top = np.argsort(logits)[::-1][:k]
    labels = [repr(llm.detokenize([int(i)], special=True).decode("utf-8", errors="replace")) for i in top]
    fig, axes = plt.subplots(1, len(temperatures), figsize=(3.2 * len(temperatures), 3), sharey=True)
    for ax, temperature in zip(np.atleast_1d(axes), temperatures):
        ax.bar(range(k), softmax(logits, temperature)[top])
        ax.set_xticks(range(k), labels, rotation=70, fontsize=8)
        ax.set_title(f"T = {temperature}")
    fig.suptitle(f"next token after {prompt[-40:]!r}", fontsize=10)
    fig.tight_layout()
    return fig
