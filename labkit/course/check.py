"""Self-checks for the exercises at the end of each notebook.

An exercise cell ends with ``labkit.course.check.answer("00.1", my_answer)``, which
prints whether the answer is right and why, and returns True or False.
Wrong answers never raise: a learner sees "not yet" and a hint, and a
notebook run under nbval keeps going. Introduced in notebooks/00_start_here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Exercise:
    """One exercise: a check that returns (is_right, explanation)."""

    prompt: str
    check: Callable[[Any], tuple[bool, str]]


def _close(actual: float, expected: float, rel: float) -> bool:
    return abs(actual - expected) <= rel * abs(expected)


def _model_bytes(answer: Any) -> tuple[bool, str]:
    from labkit import models

    size = models.info("smollm2:135m").size
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return False, "give a number of bytes, e.g. models.path('smollm2:135m').stat().st_size"
    if _close(value, size, 0.01):
        return True, f"the file is {size:,} bytes: what the model needs in RAM, before the KV cache."
    if _close(value, size / 1e6, 0.05) or _close(value, size / 2**20, 0.05):
        return False, "that looks like megabytes; the exercise asks for bytes."
    return False, "read it from the file itself: models.path(name).stat().st_size"


def _bits_per_weight(answer: Any) -> tuple[bool, str]:
    from labkit import models

    entry = models.info("smollm2:135m")
    bpw = entry.size * 8 / entry.parameters
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return False, "give a number: file bytes x 8 / parameters"
    if _close(value, bpw, 0.03):
        return True, (f"{bpw:.2f} bits per weight: more than Q4_1's 5.0 because some tensors "
                      "(norms in F32, the embedding in Q8_0) are kept at higher precision.")
    if _close(value, 5.0, 0.01):
        return False, "5.0 is Q4_1's block figure; the whole file holds more. Use the file size."
    return False, "bits per weight = file size in bytes x 8 / number of parameters"


def _register_name(answer: Any) -> tuple[bool, str]:
    from labkit.models.registry import NAME_PATTERN

    text = str(answer).strip().lower()
    valid = bool(NAME_PATTERN.fullmatch(text if ":" in text else text + ":latest"))
    if text == "llama3.2:3b":
        return True, "model name, then ':' and a tag for the size: the names Ollama's library uses."
    if valid:
        return False, "a valid name, but Ollama's library calls the 3B size of Llama 3.2 by a tag after ':'."
    return False, "names are lower case: letters, digits, '.', '_' or '-', with an optional ':tag'."


def _float32_bytes(answer: Any) -> tuple[bool, str]:
    from labkit import models

    expected = models.info("smollm2:135m").parameters * 4
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return False, "give a number of bytes: parameters x 4 bytes per float32"
    if _close(value, expected, 0.02):
        return True, f"{expected:,} bytes: {expected / models.info('smollm2:135m').size:.1f}x the Q4_1 file."
    if _close(value, expected / 2, 0.02):
        return False, "that is 2 bytes per parameter (float16/bfloat16); the export is float32."
    return False, "float32 is 4 bytes per parameter; the parameter count is models.info(name).parameters"


def _full_text(answer: Any) -> tuple[bool, str]:
    text = str(answer).replace(" ", "").replace('"', "").replace("'", "").lower()
    if text in ("return_full_text=false", "pipeline_kwargs={return_full_text:false}"):
        return True, "without it the pipeline returns prompt + answer, and chains repeat the prompt."
    if "return_full_text" in text:
        return False, "right argument, wrong value: the default (True) is the one that echoes."
    return False, "look at the pipeline_kwargs of the second HuggingFacePipeline in section 1."


def _im_start_id(answer: Any) -> tuple[bool, str]:
    from labkit.engines import tokens

    expected = tokens.tokenize("smollm2:135m", "<|im_start|>")[0].id
    if str(answer).strip() == str(expected):
        return True, "one id for the whole special token: the template's markers cost one token each."
    return False, "tokenize it: tokenizer.convert_tokens_to_ids('<|im_start|>')"


def _num_ctx(answer: Any) -> tuple[bool, str]:
    text = str(answer).replace(" ", "").lower()
    if text.startswith("num_ctx"):
        return True, "num_ctx sets the context window the server allocates; left unset, its default applies."
    if "num_predict" in text or "max_tokens" in text:
        return False, "that limits the answer's length, not how much of the prompt is read."
    return False, "look at what differed between the two ChatOllama objects in section 4."


def _keep_alive_zero(answer: Any) -> tuple[bool, str]:
    if str(answer).strip() in ("0", "0s", "0m"):
        return True, "0 unloads after the request; a negative value keeps the model loaded forever."
    if str(answer).strip().startswith("-"):
        return False, "a negative keep_alive keeps the model loaded forever: the opposite."
    return False, "the value is a duration; the one that means 'no time at all' unloads at once."


def _prompt_eval_count(answer: Any) -> tuple[bool, str]:
    text = str(answer).strip().strip("'\"")
    if text == "prompt_eval_count":
        return True, "the server's own count of prompt tokens: compare it with your token count."
    if text == "eval_count":
        return False, "eval_count counts the generated tokens; you want the prompt's."
    return False, "it is in response_metadata (and in every /api/chat or /api/generate reply)."


def _kv_mib(answer: Any) -> tuple[bool, str]:
    expected = 2 * 30 * 4096 * 3 * 64 * 2 / 2**20
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return False, "2 x layers x n_ctx x kv_heads x head_dim x 2 bytes, divided by 2**20"
    if _close(value, expected, 0.02):
        return True, f"{expected:.0f} MiB: small here, but the same formula gives gigabytes for 8B models at 128k."
    if _close(value, expected / 2, 0.02):
        return False, "remember the factor 2: keys AND values are cached."
    if _close(value, expected * 2**20 / 1e6, 0.02):
        return False, "that is MB (10**6 bytes); the exercise asks for MiB (2**20)."
    return False, "2 x 30 x 4096 x 3 x 64 x 2 bytes"


def _ceiling(answer: Any) -> tuple[bool, str]:
    expected = 50 / 4.9
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return False, "divide bandwidth by the bytes read per token"
    if _close(value, expected, 0.05):
        return True, f"about {expected:.0f} tokens/s: every token reads all 4.9 GB once."
    return False, "each token reads every weight once: tokens/s <= bandwidth / model size"


def _prefill(answer: Any) -> tuple[bool, str]:
    text = str(answer).strip().lower()
    if text == "prefill":
        return True, "prefill processes all prompt tokens in parallel: arithmetic, so cores help."
    if text == "decode":
        return False, "decode reads all weights for each single token: it waits on memory, not cores."
    return False, "answer 'prefill' or 'decode'"


def _monthly_cost(answer: Any) -> tuple[bool, str]:
    expected = (1.0 * 0.15 + 0.25 * 0.60) * 30.4
    try:
        value = float(str(answer).replace("$", "").replace(",", ""))
    except (TypeError, ValueError):
        return False, "give a number of dollars"
    if _close(value, expected, 0.02):
        return True, f"${expected:.2f} a month: at this volume a cheap API costs less than the electricity of a GPU box."
    if _close(value, expected / 30.4, 0.02):
        return False, "that is per day; multiply by the days in a month."
    return False, "(input M x input price + output M x output price) per day, times 30.4"


def _never_leaves(answer: Any) -> tuple[bool, str]:
    text = str(answer).strip().lower()
    if text == "llamacpp_edge":
        return True, "an engine embedded in the app on the device: no network in the path at all."
    if text == "ollama_workstation":
        return False, "the prompt stays in the organisation, but it travels to the workstation over the network."
    return False, "look at the 'leaves the device' column."


def _capability(answer: Any) -> tuple[bool, str]:
    text = str(answer).strip().lower()
    if text == "capability":
        return True, "it measures what the model can do, on tasks with checkable answers."
    return False, "it ran tasks with right and wrong answers: which criterion is that?"


def _q4_0_block(answer: Any) -> tuple[bool, str]:
    if str(answer).strip() == "18":
        return True, "32 weights x 4 bits = 16 bytes, plus a 2-byte float16 scale: 18 bytes, 4.5 bits per weight."
    if str(answer).strip() == "16":
        return False, "that is the weights alone; each block also stores its float16 scale."
    return False, "32 weights of 4 bits, plus one float16 scale"


def _batch_helps(answer: Any) -> tuple[bool, str]:
    text = str(answer).strip().lower()
    if text == "prefill":
        return True, "n_batch is how many prompt tokens go through per step; decode is always one token."
    return False, "decode handles one token at a time whatever n_batch is."


def _smallest_level(answer: Any) -> tuple[bool, str]:
    text = str(answer).strip().upper()
    if text == "Q2_K":
        return True, "Q2_K: the smallest file, and the largest loss of quality."
    return False, "compare the size column of the ladder table."


EXERCISES: dict[str, Exercise] = {
    "00.1": Exercise("How many bytes is the smollm2:135m GGUF file?", _model_bytes),
    "00.2": Exercise("How many bits per weight does the smollm2:135m file use overall?", _bits_per_weight),
    "00.3": Exercise("Under which Ollama-style name would you register Llama 3.2 3B?", _register_name),
    "01.1": Exercise("How many MiB is SmolLM2's f16 KV cache at n_ctx=4096?", _kv_mib),
    "01.2": Exercise("Decode ceiling for 50 GB/s and a 4.9 GB model?", _ceiling),
    "01.3": Exercise("Which phase is compute-bound?", _prefill),
    "02.1": Exercise("Which ChatOllama argument prevents silent truncation?", _num_ctx),
    "02.2": Exercise("What keep_alive value unloads a model right after the request?", _keep_alive_zero),
    "02.3": Exercise("Which response field counts the prompt tokens the model read?", _prompt_eval_count),
    "03.1": Exercise("How many bytes does one Q4_0 block take?", _q4_0_block),
    "03.2": Exercise("Does n_batch speed up prefill or decode?", _batch_helps),
    "03.3": Exercise("Which ladder level has the smallest file?", _smallest_level),
    "04.1": Exercise("How many bytes do the float32 weights of SmolLM2 take?", _float32_bytes),
    "04.2": Exercise("Which pipeline argument stops the prompt echo?", _full_text),
    "04.3": Exercise("What is the token id of <|im_start|> in SmolLM2?", _im_start_id),
    "05.1": Exercise("Monthly cost of 1M input + 250k output tokens a day at $0.15/$0.60?", _monthly_cost),
    "05.2": Exercise("Which option never sends a prompt off the device?", _never_leaves),
    "05.3": Exercise("Which criterion did evaluate measure?", _capability),
}


def answer(exercise_id: str, value: Any) -> bool:
    """Check a learner's answer, print right/not yet with the reason, return True if right."""
    if value is ...:
        print(f"[{exercise_id}] not yet: replace ... with your answer.")
        return False
    exercise = EXERCISES.get(exercise_id)
    if exercise is None:
        raise KeyError(f"no exercise {exercise_id!r}; known: {', '.join(sorted(EXERCISES))}")
    right, why = exercise.check(value)
    print(f"[{exercise_id}] {'right' if right else 'not yet'}: {why}")
    return right
