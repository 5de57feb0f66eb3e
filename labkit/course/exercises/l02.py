"""Self-checks of notebooks/02_ollama."""

from __future__ import annotations

import json
from typing import Any

from labkit.course.check import Exercise, NotYet, run

MODEL = "smollm2:135m"
DOCUMENT = " ".join(f"Note {i}: local models keep every prompt on the machine that runs them." for i in range(90))
QUESTION = "\nIn one sentence: what are these notes about?"
PEOPLE = ["Alice is 34 years old.", "My neighbour Tom turned 58 last week.", "Priya, aged 27, runs the bakery."]


def _needed_ctx(prompt_tokens: int, num_predict: int | None) -> int:
    """The smallest num_ctx (a multiple of 1024) whose prompt limit holds ``prompt_tokens`` on the kit's server."""
    from labkit.ollama.generation import prompt_limit

    opts = {"num_predict": num_predict if num_predict is not None else -1}
    n_ctx = 1024
    while prompt_limit(opts, n_ctx) < prompt_tokens:
        n_ctx += 1024
    return n_ctx


def reads_everything(function: Any) -> tuple[bool, str]:
    """02.1: a chat model that reads the whole document, with no more context than it needs."""
    from labkit.engines import tokens

    chat = run(function, DOCUMENT)
    if not hasattr(chat, "invoke"):
        raise NotYet(f"return the chat model itself (a ChatOllama); you returned {type(chat).__name__}")
    num_ctx = getattr(chat, "num_ctx", None)
    if num_ctx is None:
        raise NotYet("set num_ctx yourself: left unset, the server's default applies, and it truncates silently")
    prompt = DOCUMENT + QUESTION
    wanted = tokens.count(MODEL, tokens.chat_prompt(MODEL, prompt))
    reply = chat.invoke(prompt)
    read = reply.response_metadata.get("prompt_eval_count")
    if read is None:
        raise NotYet("the reply has no prompt_eval_count: is this a ChatOllama talking to the server?")
    if read < wanted:
        raise NotYet(f"the server read only {read} of the prompt's {wanted} tokens with num_ctx={num_ctx}: "
                     "it silently cut the rest. Raise num_ctx.")
    needed = _needed_ctx(wanted, getattr(chat, "num_predict", None))
    if num_ctx > needed:
        raise NotYet(f"nothing was truncated, but num_ctx={num_ctx} reserves a KV cache for {num_ctx} tokens; "
                     f"{needed} (the smallest multiple of 1024 that holds the prompt and room for the answer) "
                     "does the same for less memory")
    return True, (f"the server read all {read} tokens (prompt_eval_count), and num_ctx={num_ctx} is the smallest "
                  "multiple of 1024 that holds them: no silent truncation, no wasted KV cache.")


def extract_person(function: Any) -> tuple[bool, str]:
    """02.2: ``extract_person(sentence)`` returns {"name": str, "age": int}, constrained by a JSON schema."""
    right_values = 0
    for sentence in PEOPLE:
        got = run(function, sentence)
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
        right_values += got["name"].lower() in sentence.lower() and str(got["age"]) in sentence
    return True, (f"every reply had the schema's shape (the grammar guarantees it); the values were right in "
                  f"{right_values} of {len(PEOPLE)} sentences, which is the model's own skill, not the format's.")


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
