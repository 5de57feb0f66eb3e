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
# # 01 · Running local LLMs (LC1.2.5.1)
#
# What does it take to run a language model on your own machine — how much memory, how fast, on
# which hardware? This lesson answers with **measurements on this machine**, then extrapolates to
# the 7B–70B models people actually deploy.
#
# **You will learn to**
# - name the reasons to run locally, and the two architectures (inference server, embedded engine);
# - estimate a model's memory: weights (parameters × bits per weight) + KV cache + compute buffer;
# - measure load time, time to first token, prefill and decode speed;
# - explain why decode speed is bounded by **memory bandwidth**, and what threads and GPUs change.
#
# **Time:** about 30 minutes.
#
# ## 1. Why local?
#
# - **Privacy:** prompts and answers never leave the machine.
# - **Cost:** no per-token bill; the hardware is already paid for (or is it? see lesson 05).
# - **Latency and availability:** no network round trip, works offline, no rate limits.
# - **Control:** a fixed model version, your own settings, raw logits.
#
# The price: your hardware limits which models fit and how fast they run.
#
# ## 2. Two architectures

# %%
import warnings

warnings.filterwarnings("ignore")

from labkit.course import diagrams

diagrams.architectures();

# %% [markdown]
# Both, running. First the **embedded engine**: llama.cpp inside this Python process.

# %%
import time

from labkit import engines

start = time.perf_counter()
embedded = engines.llamacpp_chat("smollm2:135m", max_tokens=16, n_ctx=2048)
print(f"loaded into this process in {time.perf_counter() - start:.2f} s")
print(embedded.invoke("What is the capital of France? Answer in one word.").content)

# %% [markdown]
# Then the **inference server**: an Ollama-compatible server in the background, and `ChatOllama`
# talking to it over HTTP (lesson 02 goes deeper).

# %%
from labkit.ollama import ensure_server

base_url = ensure_server()
server = engines.ollama_chat("smollm2:135m", base_url=base_url, num_predict=16)
reply = server.invoke("What is the capital of France? Answer in one word.")
print(reply.content)
print(f"the server loaded the model in {reply.response_metadata['load_duration'] / 1e9:.2f} s")

# %% [markdown]
# ## 3. What a model needs: memory
#
# Three parts, each with a formula:
#
# | part | formula | grows with |
# |---|---|---|
# | weights | parameters × bits per weight / 8 (or simply: the GGUF file size) | model size, quantization |
# | KV cache | 2 (K and V) × layers × `n_ctx` × KV heads × head dim × bytes per element | context length |
# | compute buffer | scratch space for one batch of the forward pass | batch, context, vocabulary |
#
# `labkit.measure.memory.estimate` computes each part from the model's GGUF metadata. It gives two totals:
# **reserved** (what llama.cpp allocates; must fit in VRAM on a GPU) and **resident** (what a CPU
# process really touches; its RSS), because on a CPU most of the compute buffer is reserved but never
# written.

# %%
# NBVAL_CHECK_OUTPUT
from labkit.measure import memory

for n_ctx in (2048, 8192):
    parts = memory.estimate("smollm2:135m", n_ctx).mib()
    print(f"smollm2:135m at n_ctx {n_ctx}: weights {parts['weights']} MiB, KV cache {parts['kv_cache']} MiB, "
          f"compute reserved {parts['compute_reserved']} MiB")

# %% [markdown]
# Is the estimate right? Load the model in a fresh process at several context sizes, run one prompt,
# and compare the growth of the process's resident memory (RSS) with the estimate:

# %%
import pandas as pd

rows = []
for n_ctx in (512, 2048, 8192):
    measured = memory.measure("smollm2:135m", n_ctx)
    estimate = memory.estimate("smollm2:135m", n_ctx)
    rows.append({"n_ctx": n_ctx,
                 "estimated resident MiB": estimate.total_resident / 2**20,
                 "measured RSS increase MiB": measured.rss_increase / 2**20,
                 "estimated reserved MiB": estimate.total_reserved / 2**20,
                 "KV estimated MiB": estimate.kv_cache / 2**20,
                 "KV llama.cpp reports MiB": measured.reported_kv / 2**20})
fit = pd.DataFrame(rows).set_index("n_ctx")
fit["error %"] = 100 * (fit["estimated resident MiB"] / fit["measured RSS increase MiB"] - 1)
fit.round(1)

# %%
# NBVAL_CHECK_OUTPUT
print("resident estimate within 15% of measured RSS at every n_ctx:", bool((fit["error %"].abs() < 15).all()))

# %% [markdown]
# The KV cache grows linearly with `n_ctx` and is allocated **up front** for the whole window: a model
# that fits at 4k tokens can fail at 128k. Now the same formulas for models you would really deploy —
# will it fit on your machine? Move the controls (the widget redraws on release):

# %%
# NBVAL_CHECK_OUTPUT
for name in ("llama-3.1-8b", "llama-3.3-70b"):
    for n_ctx in (4096, 32768):
        e = memory.estimate(name, n_ctx, bits_per_weight=memory.FILE_BITS_PER_WEIGHT["Q4_K_M"])
        print(f"{name:<14} Q4_K_M at n_ctx {n_ctx:>6}: weights {e.weights / 1e9:5.1f} GB + KV {e.kv_cache / 1e9:5.1f} GB "
              f"-> reserved {e.total_reserved / 1e9:5.1f} GB")

# %%
from labkit.course.widgets import FitExplorer

fit_explorer = FitExplorer(model="llama-3.1-8b", n_ctx=8192)
fit_explorer

# %% [markdown]
# ## 4. Latency: load, first token, then a steady stream
#
# A generation has three phases:
# 1. **load** the weights (once, unless the model is unloaded);
# 2. **prefill**: read the whole prompt in parallel — compute-bound; its end is the **time to first token (TTFT)**;
# 3. **decode**: one token at a time, each reading *all* the weights — memory-bound.
#
# `labkit.measure.bench.measure` times all three from streamed chunks, in a fresh process:

# %%
from labkit.measure import bench

m = bench.measure("llama.cpp", "smollm2:135m", "Explain in two sentences why the sky is blue.", max_tokens=48)
print(f"load {m.load_s:.2f} s | TTFT {m.ttft_s:.3f} s for {m.prompt_tokens} prompt tokens "
      f"({m.prefill_tok_s:.0f} tokens/s) | decode {m.decode_tok_s:.1f} tokens/s | peak RSS {m.peak_rss_mb:.0f} MB")
print(m.text)

# %% [markdown]
# ### Why decode is bounded by memory bandwidth
#
# Every decoded token streams every weight from RAM through the CPU. So
# **tokens/s ≤ memory bandwidth / bytes of weights**. Measure this machine's bandwidth (a large
# memory copy) and compare:

# %%
from labkit.system import hardware
from labkit import models

bandwidth = hardware.memory_bandwidth()
weights = models.info("smollm2:135m").size
ceiling = bandwidth / weights
print(f"memory bandwidth: {bandwidth / 1e9:.1f} GB/s")
print(f"ceiling for a {weights / 1e6:.0f} MB model: {ceiling:.0f} tokens/s; measured {m.decode_tok_s:.0f} tokens/s "
      f"({m.decode_tok_s / ceiling:.0%} of the ceiling)")
for name, gb in (("llama-3.1-8b Q4_K_M", 4.9), ("llama-3.3-70b Q4_K_M", 42.5)):
    print(f"the same machine, {name} ({gb} GB): at most {bandwidth / (gb * 1e9):.1f} tokens/s")

# %% [markdown]
# Tiny models like ours fall well short of the ceiling (fixed per-token costs dominate); multi-GB
# models get within 50–80 % of it. That is why a GPU helps: 1–3 TB/s of bandwidth instead of
# 20–100 GB/s.
#
# ## 5. Threads, prompt length, and the GPU
#
# Prefill is compute: more cores help. Decode is bandwidth: a few cores already saturate it.

# %%
threads = bench.sweep("n_threads", [1, 2], prompt_tokens=256, decode_tokens=24)
threads.round(1)

# %%
lengths = bench.sweep("prompt_tokens", [64, 256, 768], decode_tokens=16)
lengths.round(1)

# %% [markdown]
# On a GPU build, `n_gpu_layers` moves layers to the GPU (`-1` = all). On this machine:

# %%
offload = hardware.llama_gpu_offload()
gpus = hardware.gpus()
if offload and gpus:
    gpu = bench.sweep("n_gpu_layers", [0, 10, -1], prompt_tokens=256, decode_tokens=32)
    display(gpu.round(1))
else:
    print(f"GPUs seen by torch: {[g.name for g in gpus] or 'none'}; llama.cpp build can offload: {offload}.")
    print("Everything here runs on the CPU. With a CUDA or Metal build, rerun this cell: decode speed "
          "jumps by roughly the ratio of GPU to CPU memory bandwidth.")

# %% [markdown]
# ## Recall
#
# > A model needs its weights (parameters × bits per weight), a KV cache that grows with the context,
# > and a compute buffer; it answers after a compute-bound prefill, then decodes at a speed set by
# > memory bandwidth ÷ model size.
#
# ## Exercises

# %% [markdown]
# 1. How many **MiB** does SmolLM2's f16 KV cache take at `n_ctx=4096`? (30 layers, 3 KV heads, head dim 64.)

# %% jupyter={"source_hidden": true} tags=["solution"]
answer_1 = 2 * 30 * 4096 * 3 * 64 * 2 / 2**20

# %%
import labkit

labkit.course.check.answer("01.1", answer_1);

# %% [markdown]
# 2. A laptop has 50 GB/s of memory bandwidth. At most how many tokens/s can it decode with a 4.9 GB model?

# %% jupyter={"source_hidden": true} tags=["solution"]
answer_2 = 50 / 4.9

# %%
labkit.course.check.answer("01.2", answer_2);

# %% [markdown]
# 3. Which phase is compute-bound and speeds up with more cores: `"prefill"` or `"decode"`?

# %% jupyter={"source_hidden": true} tags=["solution"]
answer_3 = "prefill"

# %%
labkit.course.check.answer("01.3", answer_3);

# %% [markdown]
# Solutions: `notebooks/solutions/01_running_local_llms.md`.
#
# ## Where to go next
#
# `02_ollama` runs the server side properly; `03_llamacpp` the embedded side.
