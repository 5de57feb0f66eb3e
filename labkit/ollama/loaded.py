"""A GGUF file loaded with llama-cpp-python: its tokenizer, facts and special tokens.

Shared by the generation runner (:mod:`labkit.ollama.runner`) and the embedding runner
(:mod:`labkit.ollama.embedder`), which load the same kind of file for two jobs.
"""

from __future__ import annotations

from typing import Any


class LoadedFile:
    """A GGUF file loaded with llama-cpp-python: tokenizer, facts, special tokens."""

    llm: Any
    n_ctx: int

    def _facts(self) -> None:
        import llama_cpp

        model = self.llm._model
        self.bos_text = model.token_get_text(self.llm.token_bos()) if self.llm.token_bos() != -1 else ""
        self.eos_text = model.token_get_text(self.llm.token_eos()) if self.llm.token_eos() != -1 else ""
        self.metadata: dict[str, str] = dict(self.llm.metadata)
        self._vocab = model.vocab
        self._is_eog = llama_cpp.llama_vocab_is_eog

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        """Tokens of ``text``; special tokens such as ``<|im_start|>`` are parsed."""
        if not text:
            return []
        return self.llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    def piece(self, token: int) -> bytes:
        return self.llm.detokenize([token])
