"""Drive each explorer by setting its controls, and check both its result and what it prints."""

import math

import pytest

from labkit import tradeoffs
from labkit.course import widgets
from labkit.quant import projection, report
from labkit.tradeoffs import decision


def control(explorer, description):
    """The explorer's control with this label."""
    for child in explorer.children:
        if getattr(child, "description", None) == description:
            return child
    raise LookupError(description)


def test_fit_explorer_default_and_updates(capsys):
    explorer = widgets.FitExplorer()
    assert explorer.result["model"] == "smollm2:135m" and explorer.result["n_ctx"] == 4096
    assert explorer.result["parts_mib"]["kv_cache"] == 90.0         # 30 × 4096 × 3 × 64 × 2 × 2 bytes
    capsys.readouterr()
    control(explorer, "n_ctx").value = 8192
    assert explorer.result["parts_mib"]["kv_cache"] == 180.0
    assert "laptop" in capsys.readouterr().out
    assert control(explorer, "n_ctx").continuous_update is False

    control(explorer, "model").value = "llama-3.1-8b"
    control(explorer, "weights").value = "Q4_K_M"
    control(explorer, "n_ctx").value = 131072
    by_name = {d["name"]: d for d in explorer.result["devices"]}
    assert not by_name["laptop"]["fits"] and by_name["cloud-gpu-h100"]["fits"]
    assert "does NOT fit" in capsys.readouterr().out
    control(explorer, "KV type").value = "q4_0"
    assert explorer.result["parts_mib"]["kv_cache"] == pytest.approx(16384 * 18 / 64)


def test_fit_compute_rejects_unknown_quantization():
    with pytest.raises(ValueError, match="Q4_K_M"):
        decision.fit_compute("llama-3.1-8b", "Q9_X")


def test_cost_explorer_moves_with_volume(capsys):
    explorer = widgets.CostExplorer()
    small = explorer.result
    assert small["cloud_at_volume"] == pytest.approx(7.98, abs=0.01)  # 1M tokens/day of gpt-4o-mini, 3:1 mix
    assert small["cloud_at_volume"] < small["local_at_volume"]
    capsys.readouterr()
    control(explorer, "tokens/day").value = 1e8
    big = explorer.result
    assert big["cloud_at_volume"] == pytest.approx(100 * small["cloud_at_volume"])
    assert big["local_at_volume"] < big["cloud_at_volume"]
    printed = capsys.readouterr().out
    assert "100,000,000 tokens/day" in printed and "break-even" in printed
    control(explorer, "batch API").value = True
    assert explorer.result["cloud_at_volume"] == pytest.approx(big["cloud_at_volume"] / 2)


def test_cost_compute_break_even_lies_where_the_curves_cross():
    result = decision.cost_compute(tokens_per_day=1_000_000, maintenance_hours_per_month=1)
    even = result["break_even_tokens_per_day"]
    assert even < result["one_machine_capacity"]
    again = decision.cost_compute(tokens_per_day=even, maintenance_hours_per_month=1)
    assert again["local_at_volume"] == pytest.approx(again["cloud_at_volume"], rel=1e-6)


def test_cost_compute_counts_upkeep_by_default():
    default = decision.cost_compute(tokens_per_day=1_000_000)
    none = decision.cost_compute(tokens_per_day=1_000_000, maintenance_hours_per_month=0)
    upkeep = tradeoffs.UPKEEP_HOURS_PER_MONTH * tradeoffs.UPKEEP_USD_PER_HOUR
    assert upkeep > 0
    assert default["local_at_volume"] - none["local_at_volume"] == pytest.approx(upkeep)


def test_latency_explorer_warm_cold_and_bench(capsys):
    explorer = widgets.LatencyExplorer()
    warm = explorer.result["local"].total
    assert warm == pytest.approx(500 / 300 + 200 / 100)
    control(explorer, "model already loaded (warm)").value = False
    assert explorer.result["local"].total == pytest.approx(warm + 0.5)
    assert "local" in capsys.readouterr().out
    # A measured TTFT belongs to the measured prompt: the first token is re-estimated from prefill speed.
    measured = widgets.LatencyExplorer(bench={"load_s": 0.2, "ttft_s": 0.05, "prefill_tok_s": 1000.0,
                                              "decode_tok_s": 50.0})
    assert measured.result["local"].total == pytest.approx(500 / 1000 + 200 / 50)
    control(measured, "answer tokens").value = 100
    assert measured.result["local"].total == pytest.approx(500 / 1000 + 100 / 50)
    assert "Not like for like" in capsys.readouterr().out
    assert measured.result["cloud"].total == pytest.approx(0.05 + 0.22 + 100 / 100)


def test_decision_matrix_presets_and_weights(capsys):
    explorer = widgets.DecisionMatrix("hobby project")
    assert explorer.result[0].option.key == "cloud_api"
    explorer._preset.value = "offline field device"
    assert control(explorer, "privacy").value == decision.PRESETS["offline field device"]["weights"]["privacy"]
    ranked = explorer.result
    assert ranked[0].option.key == "llamacpp_edge"
    assert {s.option.key for s in ranked if s.excluded} == {"cloud_api", "ollama_workstation",
                                                           "transformers_gpu_server"}
    assert "excluded: needs a network connection" in capsys.readouterr().out
    control(explorer, "no network").value = False
    control(explorer, "must be carried").value = False
    for name in decision.CRITERIA:
        control(explorer, name).value = 0
    control(explorer, "privacy").value = 5
    assert [s.option.key for s in explorer.result][:2] == ["llamacpp_edge", "ollama_workstation"]
    for scored in explorer.result:
        assert set(scored.reasons) == set(decision.CRITERIA)


def test_decision_compute_scores_and_errors():
    ranked = decision.decision_compute(weights={"cost": 5, "privacy": 0, "latency": 0, "capability": 0,
                                                "maintenance": 0, "scaling": 0}, tokens_per_day=50_000)
    assert ranked[0].scores["cost"] == 5.0 and math.isclose(ranked[0].total, 5.0)
    with pytest.raises(KeyError, match="hobby project"):
        decision.decision_compute("moon base")
    with pytest.raises(ValueError, match="privacy"):
        decision.decision_compute(weights={"vibes": 3})


def test_quant_explorer_on_a_measured_ladder(capsys):
    from labkit.quant import ladder

    rows = ladder.ladder("smollm2:135m", levels=("F16", "Q8_0", "Q2_K"), n_tokens=128, progress=False)
    explorer = widgets.QuantExplorer(rows, level="Q8_0")
    assert explorer.result["level"] == "Q8_0"
    assert 0.4 < explorer.result["size_saving"] < 0.5  # 8.5 of 16 bits, plus the unchanged F32 norms
    capsys.readouterr()
    control(explorer, "level").value = "Q2_K"
    assert explorer.result["level"] == "Q2_K"
    assert explorer.result["size_saving"] > 0.6
    assert explorer.result["perplexity_change"] > 0
    assert "Q2_K:" in capsys.readouterr().out
    with pytest.raises(KeyError, match="was not measured"):
        report.quant_compute(rows, "Q4_K_M")


def test_projection_for_big_models():
    rows = {(r["model"], r["level"]): r for r in projection.projection()}
    f16_7b, q4_70b = rows[("llama-2-7b", "F16")], rows[("llama-3.3-70b", "Q4_K_M")]
    assert 13.5 < f16_7b["need_gb"] < 17  # 6.74 B x 2 bytes + KV 2 GB + compute
    assert not f16_7b["fits"][8] and f16_7b["fits"][24]
    assert 40 < q4_70b["need_gb"] < 50 and q4_70b["fits"][80] and not q4_70b["fits"][24]
    assert rows[("llama-2-13b", "Q2_K")]["need_gb"] < rows[("llama-2-13b", "Q4_K_M")]["need_gb"]
    projection.plot_projection(projection.projection())
