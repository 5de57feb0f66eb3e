"""The data behind the trade-off explorers: one pure ``*_compute(**values)`` function per explorer.

Each function takes plain values (what the sliders and drop-downs hold) and returns plain data
(dicts and dataclasses), so it can be called, printed and tested without any widget. The
widgets in ``labkit.course.widgets`` only draw what these return.

Introduced in notebooks/05_local_vs_cloud.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from typing import Any

from labkit import tradeoffs
from labkit.measure import memory

DECODE_EFFICIENCY = 0.6
"""Share of the bandwidth ceiling real decoding reaches (published runs: 50–80 %)."""

PREFILL_OVER_DECODE = {"laptop": 4.0, "edge": 4.0, "workstation": 10.0, "cloud_gpu": 10.0}
"""Rough prompt-processing speed as a multiple of decode speed when nothing was measured
(CPU laptops: pp512 13–33 vs tg 4–9 tok/s for an 8B model; GPUs process prompts far faster)."""


def estimated_speeds(profile: tradeoffs.HardwareProfile, model_bytes: float) -> tuple[float, float]:
    """(prefill, decode) tokens/s guessed from memory bandwidth when no measurement exists.

    Decode = ``DECODE_EFFICIENCY`` × bandwidth / model bytes; prefill = a multiple of it. Replace
    both with figures from ``labkit.measure.bench`` on your machine whenever you can.

    Introduced in notebooks/05_local_vs_cloud.
    """
    decode = DECODE_EFFICIENCY * tradeoffs.decode_ceiling(profile.memory_bandwidth_gbs, model_bytes)
    return decode * PREFILL_OVER_DECODE.get(profile.kind, 4.0), decode


# ---------------------------------------------------------------------------------------------
# FitExplorer
# ---------------------------------------------------------------------------------------------

def fit_compute(model: str | os.PathLike[str] = "smollm2:135m", quantization: str = "as file", n_ctx: int = 4096,
                kv_type: str = "f16", swa_full: bool = True, hardware: list[str] | None = None) -> dict[str, Any]:
    """Memory parts for a model and settings, and whether it fits on each hardware profile.

    ``quantization`` is "as file" (use the GGUF's own size) or a key of
    ``memory.FILE_BITS_PER_WEIGHT`` ("Q4_K_M", "Q8_0", "F16" ...). Table models have no file, so
    "as file" means Q4_K_M for them. On GPUs the reserved total must fit, on CPUs the resident one.

    Introduced in notebooks/01_running_local_llms.
    """
    shape = memory.shape(model)
    if quantization == "as file":
        bits = None if shape.weight_bytes is not None else memory.FILE_BITS_PER_WEIGHT["Q4_K_M"]
    else:
        if quantization not in memory.FILE_BITS_PER_WEIGHT:
            raise ValueError(f"quantization {quantization!r} unknown; choose 'as file' or one of "
                             f"{sorted(memory.FILE_BITS_PER_WEIGHT)}")
        bits = memory.FILE_BITS_PER_WEIGHT[quantization]
    parts = memory.estimate(shape, n_ctx, kv_type=kv_type, swa_full=swa_full, bits_per_weight=bits)
    profiles = tradeoffs.load_hardware_profiles()
    if hardware:
        profiles = [p for p in profiles if p.name in hardware]
    devices = []
    for profile in profiles:
        gpu = profile.kind in ("workstation", "cloud_gpu")
        need = parts.total_reserved if gpu else parts.total_resident
        devices.append({"name": profile.name, "memory_gb": profile.memory_gb, "gpu": gpu,
                        "need_gb": round(need / 1e9, 2), "fits": memory.fits(parts, profile.memory_gb, gpu=gpu)})
    return {"model": shape.name, "bits_per_weight": bits, "n_ctx": n_ctx, "kv_type": kv_type,
            "parts_mib": parts.mib(), "estimate": parts, "devices": devices}


# ---------------------------------------------------------------------------------------------
# CostExplorer
# ---------------------------------------------------------------------------------------------

def cost_compute(tokens_per_day: float = 1_000_000, input_share: float = 0.75, cloud_model: str = "gpt-4o-mini",
                 hardware: str = "workstation-rtx4090", electricity_per_kwh: float = 0.15,
                 decode_tokens_per_s: float = 100.0, prefill_tokens_per_s: float = 1000.0,
                 maintenance_hours_per_month: float = tradeoffs.UPKEEP_HOURS_PER_MONTH,
                 hourly_rate: float = tradeoffs.UPKEEP_USD_PER_HOUR,
                 cached_share: float = 0.0, batch: bool = False, always_on: bool = False,
                 points: int = 60) -> dict[str, Any]:
    """Monthly cost of the cloud model and of the local machine over a range of tokens per day.

    Returns the curves (``tokens_per_day`` from 1/100 to 100× the chosen volume, log-spaced), the
    costs at the chosen volume, and the break-even volume (``inf`` when local never wins). Local
    curves add machines when one cannot keep up, so they step up. ``always_on`` bills a rented
    server's rent for 24 h a day instead of only the busy hours. Upkeep (hours × rate) defaults to
    the course's stated assumption, ``tradeoffs.UPKEEP_HOURS_PER_MONTH`` at ``UPKEEP_USD_PER_HOUR``.

    Introduced in notebooks/05_local_vs_cloud.
    """
    price = tradeoffs.cloud_price(cloud_model)
    profile = tradeoffs.hardware_profile(hardware)
    speeds = {"prefill_tokens_per_s": prefill_tokens_per_s, "decode_tokens_per_s": decode_tokens_per_s}

    setup = tradeoffs.LocalSetup.from_profile(profile, electricity_per_kwh=electricity_per_kwh,
                                              maintenance_hours_per_month=maintenance_hours_per_month,
                                              hourly_rate=hourly_rate, always_on=always_on)

    def local_at(volume: float) -> float:
        machines = tradeoffs.machines_needed(volume, input_share=input_share, **speeds)
        return tradeoffs.local_cost_per_month(input_share * volume, (1 - input_share) * volume,
                                              setup=replace(setup, machines=machines), **speeds).total

    def cloud_at(volume: float) -> float:
        return tradeoffs.cloud_cost_for(price, input_share * volume, (1 - input_share) * volume,
                                        cached_share=cached_share, batch=batch).total

    low, high = math.log10(max(tokens_per_day, 1) / 100), math.log10(max(tokens_per_day, 1) * 100)
    volumes = [10 ** (low + (high - low) * i / (points - 1)) for i in range(points)]
    effective = tradeoffs.cloud_cost_for(price, input_share * 1e6, (1 - input_share) * 1e6,
                                         cached_share=cached_share, batch=batch).per_million_tokens
    break_even = tradeoffs.break_even_tokens_per_day(
        input_price_per_m=effective, output_price_per_m=effective, input_share=input_share, setup=setup, **speeds)
    capacity = tradeoffs.max_tokens_per_day(input_share=input_share, **speeds)
    return {
        "tokens_per_day": volumes,
        "cloud": [cloud_at(v) for v in volumes],
        "local": [local_at(v) for v in volumes],
        "cloud_at_volume": cloud_at(tokens_per_day),
        "local_at_volume": local_at(tokens_per_day),
        "break_even_tokens_per_day": break_even,
        "one_machine_capacity": capacity,
        "cloud_model": price, "hardware": profile,
    }


# ---------------------------------------------------------------------------------------------
# LatencyExplorer
# ---------------------------------------------------------------------------------------------

def bench_value(bench: Any, *names: str) -> float | None:
    """The first of ``names`` that ``bench`` (a dict or a ``labkit.measure.bench.Measurement``) has."""
    if bench is None:
        return None
    for name in names:
        value = bench.get(name) if isinstance(bench, dict) else getattr(bench, name, None)
        if value is not None:
            return float(value)
    return None


def latency_compute(input_tokens: int = 500, output_tokens: int = 200, rtt_s: float = 0.05, warm: bool = True,
                    cloud_model: str = "gpt-4o-mini", load_s: float = 0.5, ttft_s: float | None = None,
                    prefill_tokens_per_s: float = 300.0, decode_tokens_per_s: float = 100.0,
                    bench: Any = None) -> dict[str, tradeoffs.Latency]:
    """Seconds until a full answer, part by part, for the cloud model and for the local engine.

    ``bench`` is a ``labkit.measure.bench.Measurement`` (or a dict) with ``load_s``,
    ``prefill_tok_s`` and ``decode_tok_s``; its figures replace the slider values. The local time
    to first token is ``input_tokens / prefill`` unless ``ttft_s`` is given (a measured TTFT
    holds only for the length of the prompt it was measured on). Cloud TTFT and speed come from ``data/cloud_prices.csv``.

    Introduced in notebooks/05_local_vs_cloud.
    """
    price = tradeoffs.cloud_price(cloud_model)
    if price.ttft_s is None or price.output_tokens_per_s is None:
        raise ValueError(f"{cloud_model} has no ttft_s/output_tokens_per_s in cloud_prices.csv; add them or pick "
                         "another model.")
    local_load = bench_value(bench, "load_s") or load_s
    local_ttft = ttft_s  # a measured TTFT belongs to the measured prompt's length: estimate it for this one
    local_prefill = bench_value(bench, "prefill_tok_s", "prefill_tokens_per_s") or prefill_tokens_per_s
    local_decode = bench_value(bench, "decode_tok_s", "decode_tokens_per_s") or decode_tokens_per_s
    return {
        "cloud": tradeoffs.cloud_latency(output_tokens, rtt_s=rtt_s, ttft_s=price.ttft_s,
                                         tokens_per_s=price.output_tokens_per_s),
        "local": tradeoffs.local_latency(input_tokens, output_tokens, decode_tokens_per_s=local_decode,
                                         prefill_tokens_per_s=local_prefill, ttft_s=local_ttft,
                                         load_s=local_load, warm=warm),
    }


# ---------------------------------------------------------------------------------------------
# DecisionMatrix
# ---------------------------------------------------------------------------------------------

CRITERIA = ["privacy", "cost", "latency", "capability", "maintenance", "scaling"]


@dataclass(frozen=True)
class Option:
    """One way to run a model, with the assumptions its scores rest on (edit them freely).

    Introduced in notebooks/05_local_vs_cloud.
    """

    key: str
    label: str
    hardware: str | None
    model: str
    bits_per_weight: float | None
    needs_network: bool
    portable: bool
    capability: tuple[int, str]
    maintenance: tuple[int, str]
    scaling: tuple[int, str]


OPTIONS = [
    Option("cloud_api", "Cloud API (gpt-4o-mini)", None, "gpt-4o-mini", None, True, True,
           (4, "a hosted model far larger than any here (gpt-4o-mini is OpenAI's low-cost tier); "
               "larger tiers are a model name away"),
           (5, "nothing to run: an API key and a bill"),
           (4, "scales on demand, up to your account's rate limits")),
    Option("ollama_workstation", "Ollama on a workstation (RTX 4090, 8B Q4_K_M)", "workstation-rtx4090",
           "llama-3.1-8b", 4.84, False, False,
           (3, "8B-class open models: good at focused tasks, weaker at broad reasoning"),
           (3, "one machine to patch, models to pull and update"),
           (2, "one GPU serves a handful of concurrent users; more means more machines")),
    Option("llamacpp_edge", "llama.cpp embedded on an edge device (Raspberry Pi 5, 1.5B Q4_K_M)",
           "raspberry-pi-5", "qwen2.5-1.5b", 4.84, False, True,
           (2, "1–2B models: extraction, classification, short answers"),
           (2, "a fleet of devices to update in the field"),
           (3, "each device serves its own user; capacity grows with devices, not with load")),
    Option("transformers_gpu_server", "transformers on a rented GPU server (H100, 8B bf16)", "cloud-gpu-h100",
           "llama-3.1-8b", 16.0, True, True,
           (4, "any open model up to ~70B quantized; fine-tuning possible"),
           (2, "you run the whole serving stack, drivers to deployment"),
           (4, "add servers as load grows; batching serves many users per GPU")),
]



def find_option(key: str) -> Option:
    """The entry of ``OPTIONS`` with this key ("ollama_workstation", "cloud_api" ...).

    Introduced in notebooks/05_local_vs_cloud.
    """
    for candidate in OPTIONS:
        if candidate.key == key:
            return candidate
    raise KeyError(f"unknown option {key!r}; choose one of {[o.key for o in OPTIONS]}")


def option_speeds(local: Option) -> tuple[float, float]:
    """(prefill, decode) tokens/s of a local option, estimated from its hardware's bandwidth and model size.

    Introduced in notebooks/05_local_vs_cloud.
    """
    if local.hardware is None:
        raise ValueError(f"{local.key} runs at a provider: its speeds are in data/cloud_prices.csv")
    model_bytes = memory.weight_bytes(memory.shape_from_table(local.model), local.bits_per_weight)
    return estimated_speeds(tradeoffs.hardware_profile(local.hardware), model_bytes)


PRESETS: dict[str, dict[str, Any]] = {
    "hospital records": {"weights": {"privacy": 5, "cost": 2, "latency": 2, "capability": 3, "maintenance": 2,
                                     "scaling": 1}, "offline": False, "portable": False, "tokens_per_day": 2_000_000},
    "hobby project": {"weights": {"privacy": 1, "cost": 5, "latency": 2, "capability": 2, "maintenance": 4,
                                  "scaling": 0}, "offline": False, "portable": False, "tokens_per_day": 50_000},
    "startup at scale": {"weights": {"privacy": 2, "cost": 3, "latency": 4, "capability": 4, "maintenance": 4,
                                     "scaling": 5}, "offline": False, "portable": False, "tokens_per_day": 200_000_000},
    "offline field device": {"weights": {"privacy": 4, "cost": 2, "latency": 4, "capability": 1, "maintenance": 2,
                                         "scaling": 1}, "offline": True, "portable": True, "tokens_per_day": 20_000},
}
"""Criteria weights (0–5), whether there is no network, whether it must be carried, and a daily volume."""


@dataclass
class Scored:
    """An option's score per criterion (1–5), the reason for each, and the weighted total (0–5).

    Introduced in notebooks/05_local_vs_cloud.
    """

    option: Option
    scores: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    total: float = 0.0
    excluded: str | None = None


def _dollars(amount: float) -> str:
    return f"${amount:,.2f}" if amount < 10 else f"${amount:,.0f}"


def _relative_scores(values: dict[str, float]) -> dict[str, float]:
    """5 for the lowest value, 1 for the highest, log-scaled in between (costs and seconds span decades)."""
    finite = [v for v in values.values() if math.isfinite(v) and v > 0]
    low, high = min(finite), max(finite)
    out = {}
    for key, value in values.items():
        if not math.isfinite(value):
            out[key] = 1.0
        elif high == low or value <= low:
            out[key] = 5.0
        else:
            out[key] = round(5 - 4 * math.log(value / low) / math.log(high / low), 1)
    return out


def decision_compute(preset: str | None = None, weights: dict[str, float] | None = None,
                     tokens_per_day: float | None = None, offline: bool | None = None,
                     portable: bool | None = None,
                     input_tokens: int = 500, output_tokens: int = 200, electricity_per_kwh: float = 0.15,
                     upkeep_hours_per_month: float = tradeoffs.UPKEEP_HOURS_PER_MONTH,
                     hourly_rate: float = tradeoffs.UPKEEP_USD_PER_HOUR,
                     options: list[Option] | None = None) -> list[Scored]:
    """Score each option on the six criteria and rank them by the weighted total, with reasons.

    Privacy comes from each option's data flow; cost from ``tradeoffs`` at ``tokens_per_day``
    (local machines multiplied until they keep up, rented servers kept up all day, upkeep
    ``upkeep_hours_per_month`` × ``hourly_rate`` for every option you run yourself); latency for one request of
    ``input_tokens``/``output_tokens`` with speeds estimated from bandwidth; capability,
    maintenance and scaling are the judgements written in ``OPTIONS``. ``offline=True`` excludes
    options that need a network, ``portable=True`` those that cannot be carried. A preset fills in
    weights, volume and ``offline``; explicit arguments override it.

    Introduced in notebooks/05_local_vs_cloud.
    """
    base = {"weights": {c: 1 for c in CRITERIA}, "offline": False, "portable": False, "tokens_per_day": 1_000_000}
    if preset is not None:
        if preset not in PRESETS:
            raise KeyError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
        base = PRESETS[preset]
    weights = {**base["weights"], **(weights or {})}
    unknown = set(weights) - set(CRITERIA)
    if unknown:
        raise ValueError(f"unknown criteria {sorted(unknown)}; use {CRITERIA}")
    tokens_per_day = base["tokens_per_day"] if tokens_per_day is None else tokens_per_day
    offline = base["offline"] if offline is None else offline
    portable = base["portable"] if portable is None else portable
    options = options or OPTIONS
    share = input_tokens / (input_tokens + output_tokens)

    costs, seconds, results = {}, {}, {}
    for option in options:
        scored = Scored(option)
        flow = tradeoffs.data_flow(option.key)
        if not flow.leaves_device:
            scored.scores["privacy"], scored.reasons["privacy"] = 5, "prompts never leave the device"
        elif not flow.leaves_organisation:
            scored.scores["privacy"], scored.reasons["privacy"] = 4, "prompts stay on your own network"
        elif option.hardware:
            scored.scores["privacy"], scored.reasons["privacy"] = 3, "your code, but on someone else's machine"
        else:
            scored.scores["privacy"], scored.reasons["privacy"] = 1, "prompts go to a third party and are logged there"
        if option.hardware is None:
            price = tradeoffs.cloud_price(option.model)
            costs[option.key] = tradeoffs.cloud_cost_for(price, share * tokens_per_day,
                                                         (1 - share) * tokens_per_day).total
            seconds[option.key] = tradeoffs.cloud_latency(output_tokens, rtt_s=0.05, ttft_s=price.ttft_s or 0.5,
                                                          tokens_per_s=price.output_tokens_per_s or 80).total
            scored.reasons["cost"] = f"{_dollars(costs[option.key])}/month at {tokens_per_day:,.0f} tokens/day (list price)"
        else:
            profile = tradeoffs.hardware_profile(option.hardware)
            prefill, decode = option_speeds(option)
            machines = tradeoffs.machines_needed(tokens_per_day, prefill_tokens_per_s=prefill,
                                                 decode_tokens_per_s=decode, input_share=share)
            setup = tradeoffs.LocalSetup.from_profile(profile, electricity_per_kwh=electricity_per_kwh,
                                                      machines=machines, always_on=profile.rent_per_hour_usd > 0,
                                                      maintenance_hours_per_month=upkeep_hours_per_month,
                                                      hourly_rate=hourly_rate)
            costs[option.key] = tradeoffs.local_cost_per_month(
                share * tokens_per_day, (1 - share) * tokens_per_day, prefill_tokens_per_s=prefill,
                decode_tokens_per_s=decode, setup=setup).total
            seconds[option.key] = tradeoffs.local_latency(input_tokens, output_tokens, decode_tokens_per_s=decode,
                                                          prefill_tokens_per_s=prefill).total
            scored.reasons["cost"] = (f"{_dollars(costs[option.key])}/month with {machines} machine(s) at "
                                      f"{tokens_per_day:,.0f} tokens/day (~{decode:.0f} tok/s each, estimated)")
        scored.reasons["latency"] = f"{seconds[option.key]:.1f} s for {input_tokens} in / {output_tokens} out"
        for name in ("capability", "maintenance", "scaling"):
            scored.scores[name], scored.reasons[name] = getattr(option, name)
        if offline and option.needs_network:
            scored.excluded = "needs a network connection"
        elif portable and not option.portable:
            scored.excluded = "cannot be carried to where it is needed"
        results[option.key] = scored

    for name, values in (("cost", costs), ("latency", seconds)):
        for key, score in _relative_scores(values).items():
            results[key].scores[name] = score
    total_weight = sum(weights.values()) or 1
    for scored in results.values():
        scored.total = 0.0 if scored.excluded else round(
            sum(weights[c] * scored.scores[c] for c in CRITERIA) / total_weight, 2)
    return sorted(results.values(), key=lambda s: s.total, reverse=True)
