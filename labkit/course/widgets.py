"""Interactive explorers: sliders over the pure functions in ``labkit.tradeoffs.decision``.

Each explorer is an ipywidgets ``interactive``: it calls its ``compute`` function once with the
default values as soon as it is built (so a notebook run without a browser still shows the
default view), and again whenever a control changes. ``explorer.result`` holds the data of the
last call, for later cells and for tests. Controls whose change would trigger a measurement
use ``continuous_update=False``: the work runs when you let go of the slider.

An error inside a callback is printed into the widget instead of failing the cell, so check
``explorer.result`` (or call the compute function directly) when something looks wrong.

Introduced in notebooks/05_local_vs_cloud.
"""

from __future__ import annotations

import math
import os
from typing import Any

import ipywidgets as widgets
from IPython.display import display

from labkit import tradeoffs
from labkit.measure import memory
from labkit.quant import report
from labkit.tradeoffs import decision

CONTEXTS = [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072]
PART_COLOURS = {"weights": "#4c72b0", "weights_repacked": "#8172b2", "kv_cache": "#dd8452",
                "compute": "#55a868", "overhead": "#937860"}


def _show(fig: Any) -> None:
    """Display a matplotlib figure in the widget's output area, then free it."""
    import matplotlib.pyplot as plt

    display(fig)
    plt.close(fig)


def _figure(width: float = 7, height: float = 3):
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), constrained_layout=True)


# ---------------------------------------------------------------------------------------------

class FitExplorer(widgets.interactive):
    """Will it fit? Model, quantization, context and KV type → memory parts and fits per device.

    ``model`` may be a course model, a row of ``data/common_models.csv`` or a GGUF path (it is
    added to the list). The first look at a course model reads its GGUF metadata (seconds for
    Gemma's 262k vocabulary); later looks are instant.

    Introduced in notebooks/01_running_local_llms.
    """

    def __init__(self, model: str | os.PathLike[str] = "smollm2:135m", n_ctx: int = 4096) -> None:
        from labkit import models

        names = list(models.names()) + [shape.name for shape in memory.load_common_models()]
        if str(model) not in names:
            names.insert(0, str(model))
        super().__init__(
            self._draw,
            model=widgets.Dropdown(options=names, value=str(model), description="model"),
            quantization=widgets.Dropdown(options=["as file", *memory.FILE_BITS_PER_WEIGHT], value="as file",
                                          description="weights"),
            n_ctx=widgets.SelectionSlider(options=CONTEXTS, value=n_ctx, description="n_ctx", continuous_update=False),
            kv_type=widgets.Dropdown(options=list(memory.KV_BYTES_PER_ELEMENT), value="f16", description="KV type"),
            swa_full=widgets.Checkbox(value=True, description="full-size cache on sliding-window layers"),
        )

    @staticmethod
    def _draw(**values: Any) -> dict[str, Any]:
        result = decision.fit_compute(**values)
        parts = result["parts_mib"]
        fig, ax = _figure(7, 2.4)
        for row, compute_key in ((1, "compute_reserved"), (0, "compute_resident")):
            left = 0.0
            for key in ("weights", "weights_repacked", "kv_cache", compute_key, "overhead"):
                colour = PART_COLOURS["compute" if key.startswith("compute") else key]
                ax.barh(row, parts[key], left=left, color=colour, label=key if row == 1 or key == compute_key else None)
                left += parts[key]
        ax.set_yticks([0, 1], ["resident (CPU RSS)", "reserved (GPU VRAM)"])
        ax.set_xlabel("MiB")
        ax.set_title(f"{result['model']} at n_ctx {result['n_ctx']:,} ({result['kv_type']} KV cache)")
        ax.legend(loc="lower right", fontsize="small")
        _show(fig)
        for device in result["devices"]:
            mark = "fits" if device["fits"] else "does NOT fit"
            kind = "GPU, reserved" if device["gpu"] else "CPU, resident"
            print(f"{device['name']:>20}: needs {device['need_gb']:6.2f} GB of {device['memory_gb']:g} GB ({kind}) → {mark}")
        return result


# ---------------------------------------------------------------------------------------------

class CostExplorer(widgets.interactive):
    """Monthly cost of an API model vs a local machine as the daily volume grows, with the break-even.

    Local speeds default to values typical of an 8B model on a GPU workstation; pass ``bench=`` a
    measurement from ``labkit.measure.bench`` to start from this machine's own speeds.

    Introduced in notebooks/05_local_vs_cloud.
    """

    def __init__(self, tokens_per_day: float = 1_000_000, cloud_model: str = "gpt-4o-mini",
                 hardware: str = "workstation-rtx4090", bench: Any = None) -> None:
        decode = decision.bench_value(bench, "decode_tok_s") or 100.0
        prefill = decision.bench_value(bench, "prefill_tok_s") or 1000.0
        prices = [p.model for p in tradeoffs.load_cloud_prices()]
        profiles = [p.name for p in tradeoffs.load_hardware_profiles()]
        electricity = {f"{e.region} (${e.usd_per_kwh}/kWh)": e.usd_per_kwh for e in tradeoffs.load_electricity()}
        super().__init__(
            self._draw,
            tokens_per_day=widgets.FloatLogSlider(value=tokens_per_day, base=10, min=3, max=10, step=0.1,
                                                  description="tokens/day", readout_format=".3g"),
            input_share=widgets.FloatSlider(value=0.75, min=0, max=1, step=0.05, description="input share"),
            cloud_model=widgets.Dropdown(options=prices, value=cloud_model, description="cloud"),
            hardware=widgets.Dropdown(options=profiles, value=hardware, description="hardware"),
            electricity_per_kwh=widgets.Dropdown(options=electricity, value=0.15, description="electricity"),
            decode_tokens_per_s=widgets.BoundedFloatText(value=round(decode, 1), min=0.1, max=100000,
                                                         description="decode t/s"),
            prefill_tokens_per_s=widgets.BoundedFloatText(value=round(prefill, 1), min=0.1, max=1000000,
                                                          description="prefill t/s"),
            maintenance_hours_per_month=widgets.FloatSlider(value=tradeoffs.UPKEEP_HOURS_PER_MONTH, min=0, max=40,
                                                            step=0.5, description="upkeep h/mo"),
            hourly_rate=widgets.FloatSlider(value=tradeoffs.UPKEEP_USD_PER_HOUR, min=0, max=200, step=5,
                                            description="$ per hour"),
            cached_share=widgets.FloatSlider(value=0, min=0, max=1, step=0.05, description="cached input"),
            batch=widgets.Checkbox(value=False, description="batch API"),
            always_on=widgets.Checkbox(value=False, description="rented server kept on all day"),
        )

    @staticmethod
    def _draw(**values: Any) -> dict[str, Any]:
        result = decision.cost_compute(**values)
        fig, ax = _figure(7, 3.2)
        ax.loglog(result["tokens_per_day"], result["cloud"], label=f"cloud: {result['cloud_model'].model}")
        ax.loglog(result["tokens_per_day"], result["local"], label=f"local: {result['hardware'].name}")
        ax.axvline(values["tokens_per_day"], color="grey", linestyle=":", label="your volume")
        even = result["break_even_tokens_per_day"]
        if math.isfinite(even) and result["tokens_per_day"][0] <= even <= result["tokens_per_day"][-1]:
            ax.axvline(even, color="black", linestyle="--", label="break-even")
        ax.set_xlabel("tokens per day")
        ax.set_ylabel("USD per month")
        ax.legend(fontsize="small")
        _show(fig)
        print(f"at {values['tokens_per_day']:,.0f} tokens/day: cloud ${result['cloud_at_volume']:,.2f}/month, "
              f"local ${result['local_at_volume']:,.2f}/month")
        if math.isfinite(even):
            print(f"break-even: {even:,.0f} tokens/day "
                  f"(one machine handles up to {result['one_machine_capacity']:,.0f} tokens/day)")
        else:
            print("break-even: never (each local token costs more than an API token)")
        return result


# ---------------------------------------------------------------------------------------------

class LatencyExplorer(widgets.interactive):
    """How long until the whole answer is there: cloud vs local, split into network, load, first token, rest.

    Pass ``bench=`` a result from ``labkit.measure.bench`` to use your measured load time, TTFT and speeds.

    Introduced in notebooks/05_local_vs_cloud.
    """

    def __init__(self, bench: Any = None, cloud_model: str = "gpt-4o-mini") -> None:
        self.bench = bench
        prices = [p.model for p in tradeoffs.load_cloud_prices() if p.ttft_s is not None and p.output_tokens_per_s]
        super().__init__(
            self._draw,
            input_tokens=widgets.IntSlider(value=500, min=1, max=8000, step=50, description="prompt tokens"),
            output_tokens=widgets.IntSlider(value=200, min=1, max=2000, step=10, description="answer tokens"),
            rtt_s=widgets.FloatSlider(value=0.05, min=0, max=1, step=0.01, description="network RTT s"),
            warm=widgets.Checkbox(value=True, description="model already loaded (warm)"),
            cloud_model=widgets.Dropdown(options=prices, value=cloud_model, description="cloud"),
            load_s=widgets.FloatSlider(value=0.5, min=0, max=120, step=0.1, description="cold load s"),
            prefill_tokens_per_s=widgets.FloatLogSlider(value=300, base=10, min=0, max=5, description="prefill t/s"),
            decode_tokens_per_s=widgets.FloatLogSlider(value=100, base=10, min=0, max=4, description="decode t/s"),
        )

    def _draw(self, **values: Any) -> dict[str, tradeoffs.Latency]:
        result = decision.latency_compute(bench=self.bench, **values)
        fig, ax = _figure(7, 2.2)
        names = list(result)
        left = [0.0] * len(names)
        for part in ("network", "load", "first_token", "generation"):
            widths = [getattr(result[name], part) for name in names]
            ax.barh(names, widths, left=left, label=part.replace("_", " "))
            left = [a + b for a, b in zip(left, widths)]
        ax.set_xlabel("seconds")
        ax.legend(fontsize="small", loc="lower right")
        _show(fig)
        for name, latency in result.items():
            print(f"{name:>6}: {latency.total:6.2f} s (first token after {latency.network + latency.load + latency.first_token:.2f} s)")
        model = getattr(self.bench, "model", None) or "the local model"
        print(f"Not like for like: {model} and {values['cloud_model']} differ widely in what they can answer. "
              "Compare latency among models that pass your task.")
        return result


# ---------------------------------------------------------------------------------------------

class DecisionMatrix(widgets.interactive):
    """Weigh privacy, cost, latency, capability, maintenance and scaling → ranked options with reasons.

    Choosing a preset moves the weight sliders; move them further to make it your own.

    Introduced in notebooks/05_local_vs_cloud.
    """

    def __init__(self, preset: str = "hobby project") -> None:
        base = decision.PRESETS[preset]
        sliders = {name: widgets.IntSlider(value=base["weights"][name], min=0, max=5, description=name)
                   for name in decision.CRITERIA}
        self._preset = widgets.Dropdown(options=list(decision.PRESETS), value=preset, description="preset")
        self._applying_preset = False
        self._controls = {
            **sliders,
            "tokens_per_day": widgets.FloatLogSlider(value=base["tokens_per_day"], base=10, min=3, max=10, step=0.1,
                                                     description="tokens/day", readout_format=".3g"),
            "offline": widgets.Checkbox(value=base["offline"], description="no network"),
            "portable": widgets.Checkbox(value=base["portable"], description="must be carried"),
        }
        super().__init__(self._draw, **self._controls)
        self.children = (self._preset, *self.children)
        self._preset.observe(self._apply_preset, names="value")

    def _apply_preset(self, change: dict[str, Any]) -> None:
        """Move every control to the preset's values, then recompute once."""
        base = decision.PRESETS[change["new"]]
        values = {**base["weights"], "tokens_per_day": base["tokens_per_day"], "offline": base["offline"],
                  "portable": base["portable"]}
        self._applying_preset = True
        try:
            for name, control in self._controls.items():
                control.value = values[name]
        finally:
            self._applying_preset = False
        self.update()

    def update(self, *args: Any) -> None:
        if not getattr(self, "_applying_preset", False):
            super().update(*args)

    @staticmethod
    def _draw(**values: Any) -> list[decision.Scored]:
        weights = {name: values.pop(name) for name in decision.CRITERIA}
        result = decision.decision_compute(weights=weights, **values)
        fig, ax = _figure(7, 2.2)
        ax.barh([s.option.label for s in result][::-1], [s.total for s in result][::-1], color="#4c72b0")
        ax.set_xlim(0, 5)
        ax.set_xlabel("weighted score (0–5)")
        _show(fig)
        for scored in result:
            head = f"{scored.total:4.2f}  {scored.option.label}"
            print(head + (f"  — excluded: {scored.excluded}" if scored.excluded else ""))
            for name in decision.CRITERIA:
                print(f"      {name:>11} {scored.scores[name]:3.1f}  {scored.reasons[name]}")
        return result


# ---------------------------------------------------------------------------------------------

class QuantExplorer(widgets.interactive):
    """Pick a rung of a *measured* quantization ladder → its size, bits per weight, perplexity,
    KL divergence, top-1 agreement and speed, highlighted on the size-quality plot.

    ``rows`` come from ``labkit.quant.ladder.ladder(...)`` run on this machine.

    Introduced in notebooks/03_llamacpp.
    """

    def __init__(self, rows: list[Any], level: str = "Q4_K_M") -> None:
        self._rows = rows
        levels = [row.level for row in rows]
        super().__init__(self._draw, level=widgets.Dropdown(options=levels, value=level if level in levels
                                                             else levels[0], description="level"))

    def _draw(self, level: str) -> dict[str, Any]:
        result = report.quant_compute(self._rows, level)
        fig, ax = _figure(6, 3.2)
        sizes = [row.size_bytes / 1e6 for row in self._rows]
        ppls = [row.perplexity for row in self._rows]
        ax.plot(sizes, ppls, "o", color="#4c72b0")
        for row, x, y in zip(self._rows, sizes, ppls):
            ax.annotate(row.level, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.plot([result["size_mb"]], [result["perplexity"]], "o", markersize=14, markerfacecolor="none",
                markeredgecolor="#dd8452", markeredgewidth=2)
        ax.set_xlabel("file size (MB)")
        ax.set_ylabel("perplexity (lower is better)")
        _show(fig)
        print(f"{level}: {result['size_mb']:.1f} MB ({result['size_saving']:.0%} smaller than F16), "
              f"{result['bits_per_weight']:.2f} bits/weight")
        print(f"perplexity {result['perplexity']:.2f} ({result['perplexity_change']:+.1%}), "
              f"KL {result['kl_divergence']:.4f}, top-1 agreement {result['top1_agreement']:.0%}, "
              f"decode {result['decode_tok_s']:.0f} tokens/s ({result['speedup']:.2f}x F16)")
        print("tensor types:", ", ".join(f"{k}x{v}" for k, v in result["tensor_types"].items()))
        return result
