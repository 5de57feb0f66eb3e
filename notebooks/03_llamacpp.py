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

# %% [markdown]
# # 03 · LlamaCpp integration (LC1.2.5.3)
#
# llama.cpp is the engine inside Ollama and many local apps. Here we **embed it in our own
# process** through llama-cpp-python and LangChain's `LlamaCpp`, look inside the GGUF file it
# reads, and take quantization apart: from 16 bits per weight down to 2.
#
# **You will learn to**
# - read a GGUF file: metadata, tensors, types, bits per weight;
# - load a model with `LlamaCpp` / `ChatLlamaCpp` and set `n_ctx`, `n_threads`, `n_batch`, `n_gpu_layers`;
# - stream, read raw next-token probabilities, and force JSON with a grammar;
# - know the costs of an embedded engine;
# - quantize weights by hand, then measure a whole quantization ladder: size, quality, speed.
#
# **Time:** about 40 minutes.

# %%
import warnings

warnings.filterwarnings("ignore")

from labkit import models, quant

# %% [markdown]
# ## 1. GGUF anatomy
#
# A GGUF file is a header of metadata (architecture, shapes, the tokenizer's whole vocabulary, the
# chat template) followed by the tensors, each stored in its own type.

# %%
# NBVAL_CHECK_OUTPUT
report = quant.inspect(models.path("smollm2:135m"))
print(report.summary())

# %%
print(report.table(limit=12))

# %% [markdown]
# "Q4_1" names the file, yet the embedding table is Q8_0 and the norms are F32: a quantized file is
# a *mix* of types, chosen per tensor.
#
# ## 2. `LlamaCpp`: the embedded engine in LangChain
#
# `LlamaCpp` lives in `langchain_community` (being sunset; `ChatLlamaCpp` in the same package, or
# llama.cpp's own OpenAI-compatible server with LangChain's OpenAI class, are the ways forward). Its
# defaults are tiny (`n_ctx=512`, `n_batch=8`) and chatty (`verbose=True`): set them.

# %%
from langchain_community.llms import LlamaCpp

import labkit.engines.llamacpp

labkit.engines.llamacpp.prepare()  # llama.cpp's C-level load logs go to a silent log callback (see lesson 00)
llm = LlamaCpp(model_path=str(models.path("smollm2:135m")), n_ctx=2048, n_batch=512, n_threads=2,
               n_gpu_layers=0, temperature=0.0, repeat_penalty=1.0, max_tokens=40, verbose=False)
print(llm.invoke("The three primary colours are"))

# %% [markdown]
# `LlamaCpp` sends **plain text**: a chat model given a bare question tends to ramble through both
# sides of a dialogue. `ChatLlamaCpp` applies the GGUF's chat template (`labkit.engines` sets the
# same defaults for both):

# %%
# NBVAL_CHECK_OUTPUT
from labkit import engines

chat = engines.llamacpp_chat("smollm2:135m", n_ctx=2048, max_tokens=24)
print(chat.invoke("What is the capital of France? Answer in one word.").content)

# %% [markdown]
# ### `n_ctx`: the window, and what happens past it
#
# `n_ctx` fixes the KV cache size at load time. A prompt longer than the window is refused:

# %%
# NBVAL_CHECK_OUTPUT
small = engines.llamacpp_llm("smollm2:135m", n_ctx=256, max_tokens=8)
try:
    small.invoke("word " * 400)
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# (Ollama instead truncates silently — lesson 02. Both are reasons to count tokens first.)
#
# ### `n_batch` and `n_threads`: prefill speed
#
# `n_batch` is how many prompt tokens go through the model per step. LangChain's default of 8 makes
# prompt processing crawl:

# %%
from labkit.measure import bench

batches = bench.sweep("n_batch", [8, 64, 512], prompt_tokens=384, decode_tokens=8)
batches.round(1)

# %% [markdown]
# ### `n_gpu_layers`: offloading
#
# With a CUDA or Metal build, `n_gpu_layers=-1` puts every layer on the GPU. With a CPU-only build
# the argument is **silently ignored** by llama.cpp; `labkit.engines` says so instead:

# %%
from labkit.system import hardware

if hardware.llama_gpu_offload():
    display(bench.sweep("n_gpu_layers", [0, 15, -1], prompt_tokens=256, decode_tokens=32).round(1))
else:
    engines.gpu_layers(-1)

# %% [markdown]
# ## 3. Streaming, logits, grammars
#
# Streaming yields each token as llama.cpp produces it:

# %%
for chunk in chat.stream("Name three fruits."):
    if chunk.content:
        print(repr(chunk.content), end=" ")
print()

# %% [markdown]
# An embedded engine gives **raw logits**: the probability of every possible next token. llama.cpp
# and transformers on the same weights agree closely (the Q4_1 file vs its float export):

# %%
# NBVAL_CHECK_OUTPUT
from labkit.engines import tokens

tokens.compare_distributions("smollm2:135m", "The capital of France is", k=5)

# %% [markdown]
# **Temperature** divides the logits before the softmax: low T sharpens the distribution (T → 0 is
# greedy), high T flattens it.

# %%
tokens.plot_temperatures("smollm2:135m", "My favourite colour is");

# %% [markdown]
# A **grammar** restricts which tokens may come next, so the output *must* parse — here a JSON Schema
# turned into llama.cpp's GBNF grammar:

# %%
import json

from llama_cpp.llama_grammar import json_schema_to_gbnf

schema = {"type": "object", "properties": {"country": {"type": "string"}, "capital": {"type": "string"}},
          "required": ["country", "capital"]}
json_chat = engines.llamacpp_chat("smollm2:135m", n_ctx=2048, max_tokens=48,
                                  grammar=json_schema_to_gbnf(json.dumps(schema)))
answer = json_chat.invoke("Give the country and capital for France as JSON.").content
print(answer)
print(json.loads(answer))

# %% [markdown]
# ## 4. The embedded engine's costs
#
# - **A call blocks** the thread that makes it (a notebook cell, a web request handler) for the whole
#   generation; run it in a worker thread or process to stay responsive.
# - **A crash takes your application with it**: llama.cpp is C++; a fatal error in native code kills
#   the whole process — notebook kernel, web server and all — where a server process would just
#   restart. Shown safely in a child process (a native segmentation fault, the way such crashes end):

# %%
import subprocess
import sys
import time

start = time.perf_counter()
chat.invoke("Count from one to ten in words.")
print(f"the call blocked this kernel for {time.perf_counter() - start:.2f} s")

crash = subprocess.run([sys.executable, "-c", "import ctypes; print('working...', flush=True); ctypes.string_at(0)"],
                       capture_output=True, text=True)
print(f"child printed {crash.stdout.strip()!r}, then died with exit code {crash.returncode} "
      "(negative: killed by a signal) — no exception, no cleanup")

# %% [markdown]
# ## 5. Quantization lab
#
# ### 5.1 Block quantization by hand
#
# Q8_0, Q4_0 and Q4_1 cut a tensor into blocks of 32 weights and store each block as small integers
# plus a float16 scale (and, for Q4_1, a minimum). The numpy code in `labkit.quant` is short enough
# to read, and produces **the same bytes** as gguf-py's reference:

# %%
# NBVAL_CHECK_OUTPUT
import numpy as np
from gguf import GGMLQuantizationType
from gguf.quants import quantize as reference_quantize

weights = quant.minilm_tensor()  # genuinely float32 weights: all-MiniLM-L6-v2
for qtype in quant.TYPES:
    ours = quant.quantize(weights, qtype)
    same = np.array_equal(ours, reference_quantize(weights, GGMLQuantizationType[qtype]))
    print(f"{qtype}: {quant.bits_per_weight(qtype)} bits per weight, identical to gguf-py: {same}")
print(quant.explain_bits_per_weight("Q4_0"))

# %%
print(quant.format_stats(quant.compare_types(weights)))
display(quant.plot_error_histogram(weights))

# %% [markdown]
# A course-model tensor was **already quantized** to Q4_1 once: re-quantizing it to its own grid
# is (nearly) lossless, while other grids add error on top. That matters for the ladder below.

# %%
tensor, original_type = quant.course_tensor()
print(f"blk.0.attn_q.weight of smollm2:135m, stored as {original_type}")
print(quant.format_stats(quant.compare_types(tensor)))

# %% [markdown]
# ### 5.2 The ladder: F16 → Q2_K on a real model
#
# llama.cpp's own quantizer turns the F16 file into each level; every figure below is measured here:
# perplexity on held-out text (lower is better), KL divergence and top-1 agreement against F16 on
# the same tokens, size, and decode speed.

# %%
from labkit.quant import ladder, report

rows = ladder.ladder("smollm2:135m", n_tokens=512)
print(report.format_table(rows))

# %%
display(report.plot_size_vs_perplexity(rows))
display(report.plot_speed_vs_size(rows))

# %% [markdown]
# **Read it honestly.** SmolLM2 ships as Q4_1, so "F16" here is the Q4_1 file expanded: it already
# carries Q4_1's error, and re-quantizing is not the same as quantizing a model trained in full
# precision. Rows of 576 weights are not a multiple of 256, so some K-quant tensors fall back to
# other types — the "tensor types" column shows which. For a model quantized from true F16,
# llama.cpp's published LLaMA-7B table reads: Q8_0 +0.01 %, Q4_K_M +0.9 %, Q2_K +14.7 % perplexity.
#
# Pick a rung to see it on the size–quality plot:

# %%
from labkit.course.widgets import QuantExplorer

QuantExplorer(rows, level="Q4_K_M")

# %% [markdown]
# ### 5.3 "75 % less RAM for under 1 % quality loss"?

# %%
by_level = {r.level: r for r in rows}
f16, q4 = by_level["F16"], by_level["Q4_K_M"]
print(f"Q4_K_M vs F16: {1 - q4.size_bytes / f16.size_bytes:.0%} smaller, "
      f"perplexity {100 * (q4.perplexity / f16.perplexity - 1):+.1f} %, "
      f"top-1 agreement {q4.top1_agreement:.0%}")

# %% [markdown]
# Our model starts from Q4_1 (so its "F16" is only 2.8× the Q4_K_M file, not ~3.3×), and its small
# rows force fallbacks; the quality cost above is larger than llama.cpp's published LLaMA-7B figures
# for the same reasons. What the ladder means for the models people deploy — memory for 7B, 13B and
# 70B at each level (weights + 4k-token KV cache + compute buffer), against common memory sizes
# (with 10 % left for everything else):

# %%
from labkit.quant import projection

projection.plot_projection(projection.projection());

# %% [markdown]
# ## Recall
#
# > `LlamaCpp` embeds llama.cpp in your process: set `n_ctx` (the window, fixed at load), `n_batch`
# > (prefill speed) and `n_gpu_layers` (offload, only with a GPU build); GGUF files hold quantized
# > tensors, and 4–5-bit K-quants keep most of the quality at about a quarter of the size.
#
# ## Exercises

# %% [markdown]
# 1. How many bytes does one Q4_0 block of 32 weights take?

# %% jupyter={"source_hidden": true} tags=["solution"]
answer_1 = 18

# %%
import labkit

labkit.course.check.answer("03.1", answer_1);

# %% [markdown]
# 2. LangChain's `LlamaCpp` has `n_batch=8` by default. Does raising it speed up `"prefill"` or `"decode"`?

# %% jupyter={"source_hidden": true} tags=["solution"]
answer_2 = "prefill"

# %%
labkit.course.check.answer("03.2", answer_2);

# %% [markdown]
# 3. In the ladder above, which level has the smallest file?

# %% jupyter={"source_hidden": true} tags=["solution"]
answer_3 = min(rows, key=lambda r: r.size_bytes).level

# %%
labkit.course.check.answer("03.3", answer_3);

# %% [markdown]
# Solutions: `notebooks/solutions/03_llamacpp.md`.
#
# ## Where to go next
#
# `04_huggingface` loads the same model in full precision with transformers.
