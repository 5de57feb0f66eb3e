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
# # 03 · LlamaCpp integration (LC1.2.5.3)
#
# llama.cpp is the engine inside Ollama and many local apps. Here we **embed it in our own
# process** through llama-cpp-python and LangChain's `LlamaCpp`, look inside the GGUF file it
# reads, and take quantization apart: from 16 bits per weight down to 2.
#
# **You will learn to**
# - read a GGUF file: metadata, tensors, types, bits per weight;
# - load a model with `LlamaCpp` / `ChatLlamaCpp` and set `n_ctx`, `n_threads`, `n_batch`, `n_gpu_layers`;
# - stream, read raw next-token probabilities (with llama-cpp-python itself), and force JSON with a grammar;
# - know the costs of an embedded engine;
# - quantize weights by hand, then measure a whole quantization ladder: size, quality, speed.
#
# **Time:** about 40 minutes, plus 20 for the exercises.

# %%
from labkit import models, quant
from labkit.course.claims import claim, more_or_less, say, times

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
plain = llm.invoke("What is the capital of France?")
print(repr(plain))

# %%
say("`LlamaCpp` sends **plain text**: the model sees no sign that a user asked a question and an assistant "
    "should answer. {what}", what=(
        "Here it returned nothing at all: after a bare question, ending the text was its most likely "
        "continuation." if not plain.strip() else
        "It simply continued the text, the way a base model continues a document."));

# %% [markdown]
# A chat model was trained on turns marked by its chat template; `ChatLlamaCpp` applies the GGUF's
# template (`labkit.engines` sets the same defaults for both). Ask twice, once with a hint:

# %%
from labkit import engines

chat = engines.llamacpp_chat("smollm2:135m", n_ctx=2048, max_tokens=24)
bare = chat.invoke("What is the capital of France?").content
hinted = chat.invoke("What is the capital of France? Answer in one word.").content
print("bare question:", bare)
print("with a hint:  ", hinted)

# %% [markdown]
# Section 5 builds an F16 file from this Q4_1 file: every weight expanded to 16 bits, the *same
# values*. Ask both files the bare question through llama.cpp's own chat call:

# %%
from llama_cpp import Llama


def greedy_chat(path, question: str) -> str:
    model = Llama(model_path=str(path), n_ctx=512, seed=0, verbose=False)
    out = model.create_chat_completion(messages=[{"role": "user", "content": question}], temperature=0.0,
                                       max_tokens=24)
    model.close()
    return out["choices"][0]["message"]["content"]


q4_answer = greedy_chat(models.path("smollm2:135m"), "What is the capital of France?")
f16_answer = greedy_chat(models.f16_path("smollm2:135m"), "What is the capital of France?")
print("Q4_1 file:", q4_answer)
print("F16 file: ", f16_answer)

# %%
if q4_answer.strip() != f16_answer.strip():
    say("Same weights, different answers. The F16 file holds exactly the values of the Q4_1 file, yet "
        "llama.cpp's Q4_1 matrix products also round the *activations* to 8 bits as they go (its Q8_1 "
        "inputs), while the F16 products keep them in floating point. That is enough to flip the first "
        "token of a close call, and a greedy answer goes its own way from there. A small model has many "
        "close calls; the hint \"Answer in one word.\" moved this one out of reach.")
else:
    say("Here both files gave the same answer. On other CPUs they can differ: llama.cpp's Q4_1 matrix "
        "products round the *activations* to 8 bits as they go, while F16 products keep them in floating "
        "point, and a close call between two first tokens can go either way.");

# %% [markdown]
# ### `n_ctx`: the window, and what happens past it
#
# `n_ctx` fixes the KV cache size at load time. A prompt longer than the window is refused:

# %%
small = engines.llamacpp_llm("smollm2:135m", n_ctx=256, max_tokens=8)
refused = None
try:
    small.invoke("word " * 400)
except ValueError as err:
    refused = err
    print("ValueError:", err)
claim("llama.cpp refuses a prompt longer than n_ctx with a clear error instead of cutting it.",
      refused is not None, "ValueError" if refused is not None else "the prompt was accepted");

# %% [markdown]
# (Ollama instead truncates silently unless a request sends `truncate: false` — lesson 02. Both are
# reasons to count tokens first.)
#
# ### `n_batch`: prefill speed
#
# `n_batch` is how many prompt tokens go through the model per step; LangChain's default is 8.
# Decode handles one token at a time, whatever `n_batch` is.

# %%
from labkit.measure import bench

batches = bench.sweep("n_batch", [8, 64, 512], prompt_tokens=384, decode_tokens=16)
batches.round(1)

# %%
b8, b64, b512 = batches.loc[8], batches.loc[64], batches.loc[512]
if b512.prefill_tok_s > 1.05 * b8.prefill_tok_s:
    change = (f"the larger batch was {times(b512.prefill_tok_s, b8.prefill_tok_s)} as fast, because a weight read "
              "from memory serves every token of the batch")
    change += (f". Most of that came by `n_batch=64` ({b64.prefill_tok_s:.0f} tokens/s): once each read serves a "
               "few dozen tokens, the cores' arithmetic, not memory, sets the pace, and larger batches add little"
               if b512.prefill_tok_s < 1.10 * b64.prefill_tok_s else
               f", and it still grew from 64 to 512 ({b64.prefill_tok_s:.0f} → {b512.prefill_tok_s:.0f}): this "
               "machine's cores had arithmetic to spare at 64")
else:
    change = ("about the same on this machine: with so few cores, arithmetic rather than memory limits prefill "
              "already at small batches")
say("Prefill read **{p8:.0f} tokens/s** with `n_batch=8` and **{p512:.0f}** with 512: {change}. Decode, "
    "which `n_batch` does not touch, ran at {d} tokens/s; its differences are run-to-run noise.",
    p8=b8.prefill_tok_s, p512=b512.prefill_tok_s, change=change,
    d=" / ".join(f"{v:.0f}" for v in batches.decode_tok_s));

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
# An embedded engine gives **raw logits**: a score for every possible next token. With
# llama-cpp-python itself, a model loaded with `logits_all=True` returns the top log-probabilities
# of each generated token (`create_completion(..., logprobs=k)`):

# %%
import math

from llama_cpp import Llama

raw = Llama(model_path=str(models.path("smollm2:135m")), n_ctx=256, logits_all=True, seed=0, verbose=False)
first = raw.create_completion("The capital of France is", max_tokens=1, temperature=0.0, logprobs=5)
top = first["choices"][0]["logprobs"]["top_logprobs"][0]
for token, logprob in sorted(top.items(), key=lambda kv: -kv[1]):
    print(f"{token!r:>12}  p = {math.exp(logprob):.3f}")

# %% [markdown]
# The kit wraps the same logits for the lessons: `tokens.compare_distributions` reads them from
# llama.cpp and from transformers on the same weights (the Q4_1 file and its float export):

# %%
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
# to read, and produces **the same bytes** as gguf-py's reference. First on genuinely full-precision
# weights, a float32 tensor of all-MiniLM-L6-v2:

# %%
# NBVAL_CHECK_OUTPUT
import numpy as np
from gguf import GGMLQuantizationType
from gguf.quants import quantize as reference_quantize

weights = quant.minilm_tensor()
for qtype in quant.TYPES:
    ours = quant.quantize(weights, qtype)
    same = np.array_equal(ours, reference_quantize(weights, GGMLQuantizationType[qtype]))
    print(f"{qtype}: {quant.bits_per_weight(qtype)} bits per weight, identical to gguf-py: {same}")
print(quant.explain_bits_per_weight("Q4_0"))

# %%
ORDER = ("Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0")
minilm = {s.qtype: s for s in quant.compare_types(weights, ORDER)}
print(quant.format_stats(list(minilm.values())))
display(quant.plot_error_histogram(weights))

# %% [markdown]
# A course-model tensor was **already quantized** to Q4_1 once. Its weights sit on Q4_1's grid, so
# re-quantizing them to Q4_1 finds the same grid, while other types add error of their own:

# %%
tensor, original_type = quant.course_tensor()
course = {s.qtype: s for s in quant.compare_types(tensor, ORDER)}
print(f"blk.0.attn_q.weight of smollm2:135m, stored as {original_type}")
print(quant.format_stats(list(course.values())))

# %%
claim("Re-quantizing the course tensor to its own type, Q4_1, loses nothing.", course["Q4_1"].rmse == 0,
      f"{course['Q4_1'].exact:.0%} of weights exact")
say("More bits usually mean less error: on MiniLM, Q5_1 (6 bits) left {m51:.2%} relative error against "
    "Q5_0's {m50:.2%} (5.5 bits). On the course tensor the order {flip}: {c51:.2%} for Q5_1, {c50:.2%} for "
    "Q5_0. {why}", m51=minilm["Q5_1"].relative, m50=minilm["Q5_0"].relative, c51=course["Q5_1"].relative,
    c50=course["Q5_0"].relative,
    flip="reverses" if course["Q5_1"].relative > course["Q5_0"].relative else "holds",
    why=("Its weights lie on Q4_1's grid, which Q5_0's grid happens to fit more closely than Q5_1's. "
         "Keep this in mind for the ladder below." if course["Q5_1"].relative > course["Q5_0"].relative else ""));

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
# precision. Worse, K-quants work in super-blocks of 256 weights, and most of SmolLM2's rows are 576
# long: those tensors **fall back** to other types, listed in the "tensor types" column. Three
# results follow from that, each visible in the table:

# %%
by_level = {r.level: r for r in rows}
q2, q4k, q5k = by_level["Q2_K"], by_level["Q4_K_M"], by_level["Q5_K_M"]
fallback = sum(n for t, n in q2.tensor_types.items() if not t.startswith(("Q2", "Q3", "F32")))
say("- **Q2_K is not 2 bits per weight**: {bpw:.2f} here, because {fb} of its {total} quantized tensors "
    "fell back to larger types ({types}).",
    bpw=q2.bits_per_weight, fb=fallback, total=sum(n for t, n in q2.tensor_types.items() if t != "F32"),
    types=", ".join(f"{t}×{n}" for t, n in q2.tensor_types.items() if t != "F32"))
say("- **Q5_K_M {verb} Q4_K_M** (perplexity {p5:.2f} against {p4:.2f}): their fallbacks are Q5_1 and Q5_0, "
    "and on weights that lie on Q4_1's grid Q5_1 {err} (section 5.1).",
    verb="loses to" if q5k.perplexity > q4k.perplexity else "beats", p5=q5k.perplexity, p4=q4k.perplexity,
    err=("is the worse fit" if course["Q5_1"].relative > course["Q5_0"].relative else "is the better fit"))
say("- **Sizes do not follow the names**: see exercise 3.");

# %% [markdown]
# For a model quantized from true F16, llama.cpp's published LLaMA-7B table reads: Q8_0 +0.01 %,
# Q4_K_M +0.9 %, Q2_K +14.7 % perplexity. Pick a rung to see it on the size–quality plot:

# %%
from labkit.course.widgets import QuantExplorer

QuantExplorer(rows, level="Q4_K_M")

# %% [markdown]
# ### 5.3 "75 % less RAM for under 1 % quality loss"?
#
# That claim is made for 7B models quantized from full precision. Here:

# %%
f16 = by_level["F16"]
say("Q4_K_M is **{smaller:.0%} smaller** than F16 (F16 is {ratio} its size, where a 7B model's F16 is about "
    "3.3× its Q4_K_M: our fallbacks leave Q4_K_M at {bpw:.2f} bits per weight instead of 4.84), with "
    "perplexity **{dppl:+.1f} %** and top-1 agreement **{top1:.0%}**.",
    smaller=1 - q4k.size_bytes / f16.size_bytes, ratio=times(f16.size_bytes, q4k.size_bytes),
    bpw=q4k.bits_per_weight, dppl=100 * (q4k.perplexity / f16.perplexity - 1), top1=q4k.top1_agreement);

# %% [markdown]
# **Is quantization like MP3?** The popular analogy compares a quantized model to an MP3 made from a
# FLAC file: fewer bits, a controlled loss, still "sounds the same". It holds in one way — both trade
# bytes for fidelity, and a re-encoded MP3 degrades just as our "F16" (an expanded Q4_1 file)
# carries its earlier loss into every rung. It misleads in three:
# - an MP3 encoder throws away what a psychoacoustic model says ears will not notice; block
#   quantization has no model of what matters — it rounds every weight to a grid (K-quants only
#   choose scales that keep the rounding error small), so the damage lands wherever it lands;
# - audio is heard once, but a rounding error in an early layer is carried and mixed through every
#   later layer before it reaches the output;
# - "sounds the same" is averaged over a song, while a model decides token by token: the top-1
#   agreement column shows how often the most likely next token changed, and one changed token can
#   send the rest of an answer elsewhere.
#
# What the ladder means for the models people deploy — memory for 7B, 13B and 70B at each level
# (weights + 4k-token KV cache + compute buffer), against common memory sizes (the dashed lines
# leave a share for everything else):

# %%
from labkit.quant import projection

projection.plot_projection(projection.projection());

# %% [markdown]
# ## Recall
#
# > `LlamaCpp` embeds llama.cpp in your process: set `n_ctx` (the window, fixed at load), `n_batch`
# > (prefill speed) and `n_gpu_layers` (offload, only with a GPU build); GGUF files hold quantized
# > tensors, and 4–5-bit K-quants keep most of the quality at about a quarter of the size — for
# > models quantized from full precision, with rows their super-blocks fit.
#
# ## Exercises
#
# 1. Write `top_tokens(prompt, k)` with llama-cpp-python itself (no `labkit.engines.tokens`): the `k`
#    most likely next tokens after `prompt` as `(text, probability)` pairs, most likely first. Either
#    `create_completion(..., logprobs=k)` on a model loaded with `logits_all=True`, or `llm.eval(ids)`
#    and `llama_cpp.llama_get_logits_ith(llm.ctx, -1)`. The check compares with llama.cpp's logits.

# %% jupyter={"source_hidden": true} tags=["solution"]
def top_tokens(prompt: str, k: int) -> list[tuple[str, float]]:
    """Softmax of the logits at the last prompt position, highest first."""
    import llama_cpp

    model = Llama(model_path=str(models.path("smollm2:135m")), n_ctx=256, seed=0, verbose=False)
    model.eval(model.tokenize(prompt.encode(), add_bos=False, special=True))
    logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(model.ctx, -1), shape=(model.n_vocab(),))
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    best = np.argsort(probs)[::-1][:k]
    pairs = [(model.detokenize([int(t)], special=True).decode("utf-8", errors="replace"), float(probs[t]))
             for t in best]
    model.close()
    return pairs


# %%
from labkit.course import check

check.answer("03.1", top_tokens);

# %% [markdown]
# 2. Write `quantize_block_q8_0(values)`: 32 float32 weights → the 34 bytes of a Q8_0 block. The
#    scale `d = max(|x|) / 127` is stored first as float16 (2 bytes), then each weight as
#    `round(x / d)` in one signed byte — where a half rounds away from zero, as C's `roundf` does.
#    The check compares your bytes with llama.cpp's format on random and real weights.

# %% jupyter={"source_hidden": true} tags=["solution"]
def quantize_block_q8_0(values: np.ndarray) -> bytes:
    """One Q8_0 block: float16 scale, then 32 int8 weights."""
    x = np.asarray(values, dtype=np.float32)
    d = np.float32(np.abs(x).max() / 127)
    scaled = x / d if d else np.zeros_like(x)
    q = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)  # round half away from zero
    return np.float16(d).tobytes() + q.astype(np.int8).tobytes()


# %%
check.answer("03.2", quantize_block_q8_0);

# %% [markdown]
# 3. In the ladder above, the Q3_K_M file is not smaller than the Q4_0 file, though 3 < 4. Why?
#    Answer `"a"`, `"b"` or `"c"`:
#    - a) K-quants need rows that are a multiple of 256 weights; SmolLM2's rows of 576 make most
#      "3-bit" tensors fall back to 4- and 5-bit types, and Q3_K_M keeps some tensors at 5–6 bits;
#    - b) Q3_K stores more than 4 bits per weight wherever it is used;
#    - c) llama.cpp pads every quantized file to the same size.

# %% jupyter={"source_hidden": true} tags=["solution"]
answer_3 = "a"

# %%
check.answer("03.3", answer_3);

# %% [markdown]
# Solutions with explanations: `notebooks/solutions/03_llamacpp.md`.
#
# ## Where to go next
#
# `04_huggingface` loads the same model with transformers.
