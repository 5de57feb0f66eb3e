"""Grammars for ``format`` and tool calls, parsed and checked before a request is admitted.

A JSON schema becomes a GBNF grammar (llama-cpp-python's converter, in Python) and llama.cpp
parses that grammar into a sampler. Both steps can fail or take long on a hostile schema, and
llama.cpp answers a grammar it cannot parse with a NULL sampler, which llama-cpp-python passes on
unchecked (the process then crashes at the next token). So every grammar is built here, in a
worker thread before the request waits for a slot (never on the event loop, never on the decode
thread), with a size limit on the schema and on the grammar; anything that fails is a 400 that says
what to change. The decode thread only copies the parsed grammar (``llama_sampler_clone``).

The parse needs a vocabulary, not the weights: each model file's vocabulary is loaded once on its
own (``vocab_only``, about 0.1 s) and kept, so a grammar is checked before the model is even loaded.
Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from labkit.ollama.errors import OllamaError

MAX_SCHEMA_CHARS = 64 * 1024     # the JSON text of a format schema, or of all of a request's tools
MAX_GRAMMAR_CHARS = 256 * 1024   # the GBNF text made from it (a small schema can expand a lot)


@dataclass(frozen=True)
class Tools:
    """The tools a request may call, and whether the answer must be a call (``forced``), of ``only`` one."""

    tools: list[dict[str, Any]]
    forced: bool = False
    only: str | None = None


class Compiled:
    """A grammar llama.cpp has parsed; :meth:`copy` gives each request its own sampler of it.

    ``triggers``: the patterns a lazy tool-call grammar waits for (see :mod:`labkit.ollama.toolgrammar`).
    """

    def __init__(self, vocab: Any, gbnf: str, triggers: tuple[str, ...] = (), root: str = "root") -> None:
        import llama_cpp

        self.gbnf, self.triggers = gbnf, triggers
        self._free = llama_cpp.llama_sampler_free  # kept: at interpreter exit imports no longer work
        self._sampler = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode("utf-8"), root.encode("utf-8"))
        if not self._sampler:
            raise OllamaError(400, "the grammar made from this schema cannot be parsed by llama.cpp (check "
                                   "property names and that every anyOf/enum has at least one choice)")

    def copy(self) -> Any:
        """A fresh sampler of this grammar at its start (llama.cpp copies the parsed rules)."""
        import llama_cpp

        return llama_cpp.llama_sampler_clone(self._sampler)

    def __del__(self) -> None:
        sampler, self._sampler = getattr(self, "_sampler", None), None
        if sampler:
            self._free(sampler)


_vocabs: dict[str, Any] = {}  # model file -> a vocab-only llama_model; kept while the server runs
_vocab_lock = threading.Lock()


def vocabulary(path: str) -> Any:
    """The vocabulary of the GGUF file at ``path`` (loaded once, without the weights)."""
    import llama_cpp

    with _vocab_lock:
        model = _vocabs.get(path)
        if model is None:
            from labkit.system.logs import install

            install()  # llama.cpp's loader logs go to the kit's logger, not the terminal
            params = llama_cpp.llama_model_default_params()
            params.vocab_only = True
            model = llama_cpp.llama_model_load_from_file(path.encode("utf-8"), params)
            if not model:
                raise OllamaError(500, f"cannot read the vocabulary of {path}")
            _vocabs[path] = model
        return llama_cpp.llama_model_get_vocab(model)


def vocab_size(path: str) -> int:
    """How many tokens the model at ``path`` has (its ids run from 0 to this minus one)."""
    import llama_cpp

    return int(llama_cpp.llama_vocab_n_tokens(vocabulary(path)))


def bos_eos_texts(path: str) -> tuple[str, str]:
    """The texts of the BOS and EOS tokens of the model at ``path`` ("" where it has none), as the
    runner gives them to chat templates; read from the vocabulary, before the model is loaded."""
    import llama_cpp

    vocab = vocabulary(path)

    def text(token: int) -> str:
        return "" if token == -1 else llama_cpp.llama_vocab_get_text(vocab, token).decode("utf-8", errors="replace")

    return text(llama_cpp.llama_vocab_bos(vocab)), text(llama_cpp.llama_vocab_eos(vocab))


def for_format(path: str, fmt: Any) -> Compiled | None:
    """The grammar for ``format`` ("json" or a JSON schema object); None for free text. 400 if unusable."""
    from labkit.ollama import options

    schema = options.json_schema_of(fmt)
    if schema is None:
        return None
    if schema == "json":
        from llama_cpp.llama_grammar import JSON_GBNF

        return _compiled(path, JSON_GBNF, ())
    text = _limited(schema, "format")
    gbnf = _converted(lambda: _schema_gbnf(text), "format")
    return _compiled(path, gbnf, ())


def for_tools(path: str, spec: Tools) -> Compiled:
    """The grammar for calls to ``spec.tools`` (see :mod:`labkit.ollama.toolgrammar`). 400 if unusable."""
    from labkit.ollama import toolgrammar

    _limited(spec.tools, "tools")
    try:
        toolgrammar.call_schema(spec.tools, spec.only)
        names = [str(t.get("function", t)["name"]) for t in spec.tools]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise OllamaError(400, f"invalid tools: {exc}; each tool is {{\"type\": \"function\", \"function\": "
                               "{\"name\": ..., \"parameters\": <a JSON schema>}}") from None
    if not all(names):
        raise OllamaError(400, "invalid tools: every tool needs a name")
    gbnf, triggers = _converted(lambda: toolgrammar.gbnf_for(spec.tools, spec.forced, spec.only),
                                "tool parameters schema")
    return _compiled(path, gbnf, triggers)


def prepare(path: str, fmt: Any, tools: Tools | None) -> Compiled | None:
    """The request's grammar: ``format`` wins over tools, as in :func:`labkit.ollama.generation.start`."""
    if fmt not in (None, ""):
        return for_format(path, fmt)
    if tools is not None and tools.tools:
        return for_tools(path, tools)
    return None


def _limited(value: Any, what: str) -> str:
    text = json.dumps(value, sort_keys=what == "format")
    if len(text) > MAX_SCHEMA_CHARS:
        raise OllamaError(400, f"{what} is too large: {len(text)} characters of JSON, the limit is "
                               f"{MAX_SCHEMA_CHARS}; send a smaller schema")
    return text


def _converted(convert: Any, what: str) -> Any:
    try:
        return convert()
    except (AssertionError, RecursionError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise OllamaError(400, f"invalid {what}: not a JSON schema this server can follow ({type(exc).__name__}: "
                               f"{str(exc)[:200]})") from None


@lru_cache(maxsize=64)
def _schema_gbnf(schema: str) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return json_schema_to_gbnf(schema)


@lru_cache(maxsize=32)
def _compiled(path: str, gbnf: str, triggers: tuple[str, ...]) -> Compiled:
    if len(gbnf) > MAX_GRAMMAR_CHARS:
        raise OllamaError(400, f"the grammar made from this schema is too large ({len(gbnf)} characters, the limit "
                               f"is {MAX_GRAMMAR_CHARS}); send a simpler schema")
    return Compiled(vocabulary(path), gbnf, triggers)
