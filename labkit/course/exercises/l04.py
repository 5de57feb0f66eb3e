"""Self-checks of notebooks/04_huggingface."""

from __future__ import annotations

from typing import Any

from labkit.course.check import Exercise, NotYet, number, run

MODEL = "smollm2:135m"
TEXTS = ["Hello world", "Local models keep your data on your machine.", "<|im_start|>user\nHi<|im_end|>",
         "naïve café, 3.14159 and 42!"]
PROMPT = "The three primary colours are"


def count_tokens_hf(function: Any) -> tuple[bool, str]:
    """04.1: ``count_tokens_hf(text)`` with the transformers tokenizer agrees with llama.cpp."""
    from labkit.engines import tokens

    for text in TEXTS:
        got = int(number(run(function, text), "a number of tokens"))
        expected = tokens.count(MODEL, text)
        if got == expected:
            continue
        if got == expected + 1 or got == expected + 2:
            raise NotYet(f"{text!r}: {got} tokens, llama.cpp counts {expected}: the tokenizer added special tokens; "
                         "pass add_special_tokens=False")
        raise NotYet(f"{text!r}: {got} tokens, llama.cpp counts {expected}. Load the tokenizer of the kit's export "
                     "(AutoTokenizer.from_pretrained(models.hf_dir(...))) and count input_ids")
    return True, ("the same count as llama.cpp on every text, special tokens included: both read the same "
                  "vocabulary from the same GGUF file.")


def make_pipeline(function: Any) -> tuple[bool, str]:
    """04.2: greedy, at most 20 new tokens, no prompt echo, on the CPU."""
    from langchain_huggingface import HuggingFacePipeline

    llm = run(function)
    if not isinstance(llm, HuggingFacePipeline):
        raise NotYet(f"return a HuggingFacePipeline; you returned {type(llm).__name__}")
    first, second = llm.invoke(PROMPT), llm.invoke(PROMPT)
    if first.startswith(PROMPT):
        raise NotYet("the output starts with the prompt: set return_full_text=False in pipeline_kwargs")
    if first != second:
        raise NotYet("two runs gave different text: decode greedily (do_sample=False)")
    new_tokens = len(llm.pipeline.tokenizer(first, add_special_tokens=False)["input_ids"])
    if new_tokens > 20:
        raise NotYet(f"{new_tokens} tokens came back: limit the answer with max_new_tokens=20")
    if llm.pipeline.device.type != "cpu":
        raise NotYet(f"the pipeline runs on {llm.pipeline.device}; this exercise asks for the CPU (device='cpu')")
    return True, f"greedy, short, no echo: {first.strip()[:60]!r}"


def float32_baseline(answer: Any) -> tuple[bool, str]:
    """04.3: why the float32 export is no more accurate than the Q4_1 file it came from."""
    choice = str(answer).strip().lower()[:1]
    if choice == "a":
        return True, ("every float32 weight of the export is one of the values the Q4_1 file could store: "
                      "more bytes, the same rounding. A real full-precision baseline starts from the original "
                      "bf16 checkpoint (the float32 MiniLM in lesson 03 is such a file).")
    if choice == "b":
        return False, "float32 arithmetic is more precise than Q4_1 arithmetic; the weights are the limit here."
    if choice == "c":
        return False, "both engines run the same model; look at where the export's weights came from."
    return False, "answer 'a', 'b' or 'c'"


EXERCISES = {
    "04.1": Exercise("Write count_tokens_hf(text) with the transformers tokenizer.", count_tokens_hf),
    "04.2": Exercise("Write make_pipeline(): greedy, 20 new tokens, no echo, CPU.", make_pipeline),
    "04.3": Exercise("Why is the float32 export no more accurate than the Q4_1 file?", float32_baseline),
}
