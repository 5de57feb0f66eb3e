"""Self-checks of notebooks/02_ollama."""

from __future__ import annotations

import json
from typing import Any

from labkit.course.check import Exercise, NotYet, run

MODEL = "smollm2:135m"
DOCUMENT = " ".join(f"Note {i}: local models keep every prompt on the machine that runs them." for i in range(90))
SHORT_DOCUMENT = " ".join(f"Note {i}: a local model answers without a network." for i in range(25))
QUESTION = "\nIn one sentence: what are these notes about?"
PEOPLE = {"Alice is 34 years old.": ("Alice", 34), "My neighbour Tom turned 58 last week.": ("Tom", 58),
          "Priya, aged 27, runs the bakery.": ("Priya", 27)}


def _needed_ctx(prompt_tokens: int, num_predict: int | None) -> int:
    """The smallest num_ctx (a multiple of 1024) whose prompt limit holds ``prompt_tokens`` on the kit's server."""
    from labkit.ollama.generation import prompt_limit

    opts = {"num_predict": num_predict if num_predict is not None else -1}
    n_ctx = 1024
    while prompt_limit(opts, n_ctx) < prompt_tokens:
        n_ctx += 1024
    return n_ctx


def _reads_all(function: Any, document: str) -> tuple[int, int]:
    """Build the learner's chat model for ``document``, ask about it; (tokens read, num_ctx), or "not yet"."""
    from labkit.engines import tokens

    chat = run(function, document)
    if not hasattr(chat, "invoke"):
        raise NotYet(f"return the chat model itself (a ChatOllama); you returned {type(chat).__name__}")
    num_ctx = getattr(chat, "num_ctx", None)
    if num_ctx is None:
        raise NotYet("set num_ctx yourself: left unset, the server's default applies, and it truncates silently")
    prompt = document + QUESTION
    wanted = tokens.count(MODEL, tokens.chat_prompt(MODEL, prompt))
    read = chat.invoke(prompt).response_metadata.get("prompt_eval_count")
    if read is None:
        raise NotYet("the reply has no prompt_eval_count: is this a ChatOllama talking to the server?")
    if read < wanted:
        raise NotYet(f"the server read only {read} of the prompt's {wanted} tokens with num_ctx={num_ctx}: "
                     "it silently cut the rest. Raise num_ctx.")
    needed = _needed_ctx(wanted, getattr(chat, "num_predict", None))
    if num_ctx > needed:
        raise NotYet(f"for a document of {wanted} tokens nothing was truncated, but num_ctx={num_ctx} reserves a KV "
                     f"cache for {num_ctx} tokens; {needed} (the smallest multiple of 1024 that holds the prompt and "
                     "room for the answer) does the same for less memory. Size num_ctx from the document you are "
                     "given, not a fixed number")
    return read, num_ctx


def reads_everything(function: Any) -> tuple[bool, str]:
    """02.1: a chat model that reads the whole document, with no more context than it needs.

    A long and a short document, so that one fixed num_ctx cannot be right for both.
    """
    read, num_ctx = _reads_all(function, DOCUMENT)
    _reads_all(function, SHORT_DOCUMENT)
    return True, (f"the server read all {read} tokens (prompt_eval_count), and num_ctx={num_ctx} is the smallest "
                  "multiple of 1024 that holds them: no silent truncation, no wasted KV cache.")


def _person(sentence: str, got: Any) -> None:
    """"Not yet" unless ``got`` is {"name": str, "age": int} holding this sentence's person."""
    if isinstance(got, str):
        try:
            json.loads(got)
        except ValueError:
            raise NotYet(f"for {sentence!r} the reply is not JSON: {got[:80]!r}. Pass format=<JSON schema> "
                         "so the server constrains the output") from None
        raise NotYet("you returned the JSON text: parse it (json.loads) and return the dict")
    if not isinstance(got, dict) or set(got) != {"name", "age"}:
        raise NotYet(f"for {sentence!r} expected a dict with exactly 'name' and 'age'; got {got!r}. A JSON "
                     "schema with both as required properties (and no others) guarantees that shape")
    if not isinstance(got["name"], str) or not isinstance(got["age"], int) or isinstance(got["age"], bool):
        raise NotYet(f"for {sentence!r}: name must be a string and age an integer; got {got!r}. Give the "
                     "schema's properties their types")
    name, age = PEOPLE[sentence]
    if got["name"].strip().lower() != name.lower() or got["age"] != age:
        raise NotYet(f"for {sentence!r} you extracted {got!r}, but the sentence says {name}, {age}. The schema "
                     "guarantees the shape, not the values: send this sentence to the model and ask it for the "
                     "person's name and age")


def extract_person(function: Any) -> tuple[bool, str]:
    """02.2: ``extract_person(sentence)`` returns {"name": str, "age": int} of the sentence's person.

    The sentences are plain enough for the course model to get every value right, so each must be.
    """
    for sentence in PEOPLE:
        _person(sentence, run(function, sentence))
    return True, (f"the right name and age in all {len(PEOPLE)} sentences, each in the schema's shape: the grammar "
                  "guarantees the shape, the values are the model's (on harder sentences a small model misses).")


def keep_alive(answer: Any) -> tuple[bool, str]:
    """02.3: who unloads the model, and when, after the client has gone."""
    choice = str(answer).strip().lower()[:1]
    if choice == "b":
        return True, ("keep_alive is the server's timer, restarted by each request; the client sends the value and "
                      "never pings. Only another request (or keep_alive=0) changes the 12:10 unload.")
    if choice == "a":
        return False, ("the server does not know when a client's process ends: between requests there is no "
                       "connection to lose. Which side keeps the timer?")
    if choice == "c":
        return False, ("the timer runs on the server whether or not any client is running; a negative "
                       "keep_alive is the one that keeps a model loaded until the server stops.")
    return False, "answer 'a', 'b' or 'c'"


EXERCISES = {
    "02.1": Exercise("Write reads_everything(document): a ChatOllama that truncates nothing.", reads_everything),
    "02.2": Exercise("Write extract_person(sentence) with a JSON schema as format.", extract_person),
    "02.3": Exercise("After the client has gone, when does the server unload the model?", keep_alive),
}
