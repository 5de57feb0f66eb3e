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
# **Time:** about 30 minutes, plus 15 for the exercises.
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
from labkit.course import diagrams
from labkit.course.claims import claim, more_or_less, say, times

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
# `labkit.measure.memory.estimate` computes each part from the model's GGUF metadata. It gives two
# totals: **reserved** (what llama.cpp allocates; must fit in VRAM on a GPU) and **resident** (what
# a CPU process really touches; its RSS), because on a CPU most of the compute buffer is reserved
# but never written.

# %%
# NBVAL_CHECK_OUTPUT
from labkit.measure import memory

for n_ctx in (2048, 8192):
    parts = memory.estimate("smollm2:135m", n_ctx).mib()
    print(f"smollm2:135m at n_ctx {n_ctx}: weights {parts['weights']} MiB, KV cache {parts['kv_cache']} MiB, "
          f"compute reserved {parts['compute_reserved']} MiB")

# %% [markdown]
# Is the estimate right? Load the model in a fresh process at several context sizes, run one prompt,
# and compare the growth of the process's resident memory (RSS) with the estimate — and the KV
# cache with the size llama.cpp itself reports:

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
worst = fit["error %"].abs().max()
claim("The resident estimate is within 15 % of the measured RSS at every context size.", worst < 15,
      f"largest error {worst:.1f} %",
      "The runtime constants of the estimate were fitted on a 2-core x86_64 machine; another OS or "
      "allocator holds memory differently.")
kv = fit["KV llama.cpp reports MiB"]
claim("The KV cache grows in proportion to n_ctx: four times the context, four times the cache.",
      abs(kv[8192] / kv[2048] - 4) < 0.01, f"{kv[2048]:.0f} MiB at 2048, {kv[8192]:.0f} MiB at 8192");

# %% [markdown]
# The KV cache is allocated **up front** for the whole window: a model that fits at 4k tokens can
# fail at 128k. Now the same formulas for models you would really deploy — will it fit on your
# machine? Move the controls (the widget redraws on release):

# %%
# NBVAL_CHECK_OUTPUT
q4 = memory.FILE_BITS_PER_WEIGHT["Q4_K_M"]
deploy = {}
for name in ("llama-3.1-8b", "llama-3.3-70b"):
    for n_ctx in (4096, 32768):
        e = memory.estimate(name, n_ctx, bits_per_weight=q4)
        deploy[name, n_ctx] = e
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
      f"({m.prefill_tok_s:.0f} tokens/s) | decode {m.decode_tok_s:.1f} tokens/s | peak RSS {m.peak_rss_mb:.0f} MiB")
print(m.text)

# %% [markdown]
# ### Why decode is bounded by memory bandwidth
#
# Every decoded token streams every weight from RAM through the CPU. So
# **tokens/s ≤ memory bandwidth / bytes of weights**. Measure this machine's bandwidth (a large
# memory copy) and compare:

# %%
from labkit import models
from labkit.system import hardware

bandwidth = hardware.memory_bandwidth()
weights = models.info("smollm2:135m").size
ceiling = bandwidth / weights
print(f"memory bandwidth: {bandwidth / 1e9:.1f} GB/s; ceiling for the {weights / 1e6:.0f} MB course model: "
      f"{ceiling:.0f} tokens/s")
for name in ("llama-3.1-8b", "llama-3.3-70b"):
    size = deploy[name, 4096].weights
    print(f"the same machine, {name} at Q4_K_M ({size / 1e9:.1f} GB): at most {bandwidth / size:.1f} tokens/s")

# %%
say("Measured here: **{tok:.0f} tokens/s**, {share:.0%} of this machine's ceiling of {ceil:.0f}. {where} "
    "For models of several GB the weights dominate and decode gets much closer to bandwidth ÷ size. That is "
    "why a GPU helps: 1–3 TB/s of memory bandwidth instead of the {gbs:.0f} GB/s measured here.",
    tok=m.decode_tok_s, share=m.decode_tok_s / ceiling, ceil=ceiling, gbs=bandwidth / 1e9,
    where=("A model this small stays far below its ceiling: each token also pays fixed costs (sampling, the "
           "output layer over a 49k-token vocabulary, thread start-up, LangChain's callbacks) that do not shrink "
           "with the model, and the arithmetic on each weight read takes one core longer than the read itself."
           if m.decode_tok_s < 0.5 * ceiling else
           "Even this small model comes close to the ceiling here: this machine's cores keep up with its memory."));

# %% [markdown]
# ## 5. Threads, prompt length, and the GPU
#
# Prefill is arithmetic on many tokens at once, so more cores should help it. Decode reads every
# weight for one token, so it waits on memory more than on arithmetic. Sweep the threads:

# %%
threads = bench.sweep("n_threads", [1, 2], prompt_tokens=256, decode_tokens=24)
threads.round(1)

# %%
one, two = threads.loc[1], threads.loc[2]
say("With 2 threads instead of 1, prefill ran **{p}** ({p1:.0f} → {p2:.0f} tokens/s) and decode "
    "**{d}** ({d1:.0f} → {d2:.0f} tokens/s).",
    p=more_or_less(two.prefill_tok_s, one.prefill_tok_s, "faster", "slower", "the same", 0.05),
    p1=one.prefill_tok_s, p2=two.prefill_tok_s,
    d=more_or_less(two.decode_tok_s, one.decode_tok_s, "faster", "slower", "at the same speed", 0.05),
    d1=one.decode_tok_s, d2=two.decode_tok_s)
if two.decode_tok_s >= one.decode_tok_s * 1.1:
    say("Decode gained from the second core too, because this model decoded at only {share:.0%} of the "
        "bandwidth ceiling (section 4): for {w:.0f} MB of weights, one core's arithmetic on each weight read, and "
        "the fixed work of every token, take longer than reading the weights, so a second core shares that "
        "work. A model of several GB runs into the ceiling instead: there, more threads stop helping and only "
        "more bandwidth does.", share=m.decode_tok_s / ceiling, w=weights / 1e6)
else:
    say("Decode gained little or nothing from the second thread: memory, not arithmetic, limits it, and "
        "llama.cpp's threads must wait for each other after every layer. When the cores are shared with "
        "other work (a browser, another process), those waits grow and a second thread can even slow decode "
        "down. The same happens inside one process that drives llama.cpp from several threads: each thread "
        "gets its own OpenMP pool, and OpenMP stops its threads from spinning once they outnumber the cores. "
        "That is why the kit runs its Ollama-compatible server in a process of its own.");

# %% [markdown]
# Prompt length: prefill handles the whole prompt, so its time grows with the prompt. Decode reads
# the weights *and* the keys and values of every earlier token, so a longer context adds to each new
# token's work — how much depends on how large those keys and values are next to the weights.

# %%
lengths = bench.sweep("prompt_tokens", [64, 256, 768], decode_tokens=48)
lengths.round(1)

# %%
short, long = lengths.loc[64], lengths.loc[768]
read_ratio = (768 / long.prefill_tok_s) / (64 / short.prefill_tok_s)
say("From 64 to 768 prompt tokens (twelve times as many), reading the prompt took **{t}** as long "
    "({p1:.0f} → {p2:.0f} tokens/s){why}, and decode went from {d1:.0f} to {d2:.0f} tokens/s.",
    t=times(768 / long.prefill_tok_s, 64 / short.prefill_tok_s), p1=short.prefill_tok_s, p2=long.prefill_tok_s,
    why=(": more than twelve times, because every prompt token also attends to all the tokens before it"
         if read_ratio > 12 else ": the larger batches use the cores better than the attention over a longer "
         "prompt costs"),
    d1=short.decode_tok_s, d2=long.decode_tok_s)
kv_768 = memory.estimate("smollm2:135m", 768).kv_cache
change = long.decode_tok_s / short.decode_tok_s - 1
say("At 768 tokens the keys and values add {kv:.0f} MB to the {w:.0f} MB of weights that each new token "
    "reads ({share:.0%} more). {verdict}", kv=kv_768 / 1e6, w=weights / 1e6, share=kv_768 / weights,
    verdict=(f"Decode slowed by {-change:.0%}: the longer context's cost shows." if change < -0.10 else
             f"Decode changed by {change:+.0%}, less than that share: a model this small spends much of each "
             "token on fixed work (section 4) rather than on reading, and two runs of the same setting differ by "
             "up to about 10 % on a busy machine. With a large model at tens of thousands of tokens, the KV "
             "cache rivals the weights and decode slows clearly."))
say("These sweeps drive llama.cpp directly: evaluate one token, pick the most likely next one, repeat. "
    "Section 4 measured the same model through LangChain's `ChatLlamaCpp`, which samples and streams every "
    "token through Python callbacks: {m:.0f} tokens/s there against {s:.0f} here at the shortest prompt, "
    "{diff}.",
    m=m.decode_tok_s, s=short.decode_tok_s,
    diff=("the price of the layers between your code and the engine" if short.decode_tok_s > m.decode_tok_s
          else "so on this machine those layers cost less than the noise between runs"));

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
          "rises towards the GPU's memory bandwidth divided by the model size.")

# %% [markdown]
# ## Recall
#
# > A model needs its weights (parameters × bits per weight), a KV cache that grows with the context,
# > and a compute buffer; it answers after a compute-bound prefill, then decodes at a speed that
# > memory bandwidth ÷ model size caps: large models run close to that ceiling, a tiny one can stay
# > below it, held back by per-token arithmetic that more cores share.
#
# ## Exercises
#
# 1. Write `kv_cache_bytes(layers, n_ctx, kv_heads, head_dim, bytes_per_element=2)`: the bytes of an
#    f16 KV cache. The check feeds it SmolLM2's shape and compares with the size llama.cpp itself
#    allocates in a real load.

# %% jupyter={"source_hidden": true} tags=["solution"]
def kv_cache_bytes(layers: int, n_ctx: int, kv_heads: int, head_dim: int, bytes_per_element: float = 2) -> float:
    """Keys and values (2) for every layer, position and KV head."""
    return 2 * layers * n_ctx * kv_heads * head_dim * bytes_per_element


# %%
from labkit.course import check

check.answer("01.1", kv_cache_bytes);

# %% [markdown]
# 2. Write `largest_context(model, memory_gb)`: the largest `n_ctx` (a multiple of 1024, at most the
#    model's own context) at which `model` quantized to Q4_K_M still fits in `memory_gb` on a CPU,
#    using `memory.estimate(model, n_ctx, bits_per_weight=memory.FILE_BITS_PER_WEIGHT["Q4_K_M"])` and
#    `memory.fits(estimate, memory_gb)`; 0 if it does not fit at all. `memory.shape(model).context`
#    is the model's own context length.

# %% jupyter={"source_hidden": true} tags=["solution"]
def largest_context(model: str, memory_gb: float) -> int:
    """Step n_ctx up by 1024 while the estimate still fits."""
    best = 0
    for n_ctx in range(1024, memory.shape(model).context + 1, 1024):
        estimate = memory.estimate(model, n_ctx, bits_per_weight=memory.FILE_BITS_PER_WEIGHT["Q4_K_M"])
        if not memory.fits(estimate, memory_gb):
            break
        best = n_ctx
    return best


# %%
check.answer("01.2", largest_context);

# %% [markdown]
# 3. A team wants faster answers from Llama 3.3 70B at Q4_K_M (about 40 GB) on a CPU server. Use
#    section 4's ceiling and section 5's sweeps to judge which upgrade speeds up its **decode** most.
#    Answer `"a"`, `"b"` or `"c"`:
#    - a) twice the cores, same memory;
#    - b) memory with twice the bandwidth, same cores;
#    - c) a smaller `n_ctx`, down from 8192 to 2048.

# %% jupyter={"source_hidden": true} tags=["solution"]
answer_3 = "b"

# %%
check.answer("01.3", answer_3);

# %% [markdown]
# Solutions with explanations: `notebooks/solutions/01_running_local_llms.md`.
#
# ## Where to go next
#
# `02_ollama` runs the server side properly; `03_llamacpp` the embedded side.
