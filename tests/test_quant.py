"""GGUF anatomy on the real course files, and block quantization checked byte for byte."""

from __future__ import annotations

import numpy as np
import pytest

from labkit import models, quant

gguf = pytest.importorskip("gguf")
from gguf import GGMLQuantizationType  # noqa: E402
from gguf.quants import dequantize as ref_dequantize  # noqa: E402
from gguf.quants import quantize as ref_quantize  # noqa: E402


@pytest.fixture(scope="module")
def smollm2_report() -> quant.GGUFReport:
    return quant.inspect(models.path("smollm2:135m"))


@pytest.fixture(scope="module")
def course_weights() -> tuple[np.ndarray, str]:
    return quant.course_tensor("smollm2:135m", "blk.0.attn_q.weight")


@pytest.fixture(scope="module")
def minilm_weights() -> np.ndarray:
    return quant.minilm_tensor("encoder.layer.0.attention.self.query.weight")


def _random_cases() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "normal": (rng.normal(size=(16, 256)) * 0.02).astype(np.float32),
        "exact halves": (rng.integers(-300, 300, size=(4, 128)) / 2).astype(np.float32),
        "all zero": np.zeros((2, 64), np.float32),
        "one sided": rng.exponential(size=(8, 96)).astype(np.float32),
        "3-d": rng.normal(size=(2, 3, 64)).astype(np.float32),
    }


# ---------------------------------------------------------------- bit-exactness


@pytest.mark.parametrize("qtype", quant.TYPES)
@pytest.mark.parametrize("case", list(_random_cases()))
def test_bytes_identical_to_gguf_reference(qtype: str, case: str) -> None:
    x = _random_cases()[case]
    ours = quant.quantize(x, qtype)
    theirs = ref_quantize(x, GGMLQuantizationType[qtype])
    assert ours.dtype == np.uint8 and ours.shape == theirs.shape
    assert np.array_equal(ours, theirs)
    back = quant.dequantize(ours, qtype)
    assert back.dtype == np.float32 and back.shape == x.shape
    assert np.array_equal(back, ref_dequantize(theirs, GGMLQuantizationType[qtype]))


@pytest.mark.parametrize("qtype", quant.TYPES)
def test_bytes_identical_on_real_weights(qtype: str, course_weights, minilm_weights) -> None:
    for w in (course_weights[0], minilm_weights):
        assert np.array_equal(quant.quantize(w, qtype), ref_quantize(w, GGMLQuantizationType[qtype]))


def test_dequantize_reads_the_course_file_like_gguf(course_weights) -> None:
    reader = gguf.GGUFReader(models.path("smollm2:135m"))
    t = next(t for t in reader.tensors if t.name == "blk.0.attn_q.weight")
    assert t.tensor_type.name == "Q4_1" == course_weights[1]
    assert np.array_equal(course_weights[0], ref_dequantize(np.asarray(t.data), t.tensor_type))


# ---------------------------------------------------------------- bits per weight


def test_bits_per_weight_arithmetic() -> None:
    assert quant.bits_per_weight("Q8_0") == 8.5
    assert quant.bits_per_weight("Q4_0") == 4.5
    assert quant.bits_per_weight("Q4_1") == 5.0
    assert quant.bits_per_weight("Q6_K") == 6.5625
    assert quant.bits_per_weight("F16") == 16
    text = quant.explain_bits_per_weight("Q8_0")
    assert "272" in text and "34 bytes" in text and "8.5" in text
    assert "4.5" in quant.explain_bits_per_weight("q4_0")
    for qtype in quant.TYPES:  # the byte count really is what the arithmetic says
        data = quant.quantize(np.ones((1, 64), np.float32), qtype)
        assert data.size * 8 / 64 == quant.bits_per_weight(qtype)


def test_bad_input_is_explained() -> None:
    with pytest.raises(ValueError, match="multiple of 32"):
        quant.quantize(np.ones((2, 40), np.float32), "Q8_0")
    with pytest.raises(ValueError, match="Q8_0, Q4_1, Q4_0"):
        quant.quantize(np.ones(32, np.float32), "Q3_K")
    with pytest.raises(ValueError, match="Unknown ggml type"):
        quant.bits_per_weight("Q7_0")


# ---------------------------------------------------------------- error statistics


def test_requantizing_a_q4_1_tensor_to_q4_1_is_nearly_lossless(course_weights) -> None:
    w, stored = course_weights
    assert stored == "Q4_1"
    stats = {s.qtype: s for s in quant.compare_types(w)}
    assert stats["Q4_1"].relative < 1e-3  # back on the grid it came from
    assert stats["Q4_1"].exact > 0.99  # measured: every weight of this tensor comes back exactly
    assert stats["Q4_0"].relative > 20 * stats["Q4_1"].relative
    assert stats["Q8_0"].relative < stats["Q4_0"].relative


def test_a_finer_grid_can_be_worse_on_weights_from_a_coarser_one(course_weights, minilm_weights) -> None:
    # Q5_1 spreads 31 steps over the same [min, max] as Q4_1's 15, so Q4_1's levels fall
    # between Q5_1's: on the course tensor Q5_1 loses to Q5_0, on float32 weights it wins.
    course = {s.qtype: s.relative for s in quant.compare_types(course_weights[0], ("Q5_1", "Q5_0"))}
    minilm = {s.qtype: s.relative for s in quant.compare_types(minilm_weights, ("Q5_1", "Q5_0"))}
    assert course["Q5_1"] > course["Q5_0"]
    assert minilm["Q5_1"] < minilm["Q5_0"]


def test_full_precision_weights_pay_the_usual_price(minilm_weights) -> None:
    w = minilm_weights
    assert w.dtype == np.float32 and w.shape == (384, 384)
    stats = {s.qtype: s for s in quant.compare_types(w)}
    # more bits, less error; Q4_1's minimum buys accuracy over Q4_0
    assert stats["Q8_0"].relative < stats["Q4_1"].relative < stats["Q4_0"].relative
    assert 0.001 < stats["Q8_0"].relative < 0.01
    assert 0.03 < stats["Q4_0"].relative < 0.2
    assert stats["Q4_1"].exact < 0.05  # nothing lies on a grid by chance
    for s in stats.values():
        assert s.max_abs >= s.rmse > 0
        assert s.bits_per_weight == quant.bits_per_weight(s.qtype)
    table = quant.format_stats(list(stats.values()))
    assert table.splitlines()[1].startswith("Q8_0") and "%" in table


def test_error_histogram_figure(minilm_weights) -> None:
    fig = quant.plot_error_histogram(minilm_weights, title="MiniLM")
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert [lbl.split()[0] for lbl in labels] == list(quant.TYPES)
    assert ax.get_yscale() == "log"


# ---------------------------------------------------------------- GGUF anatomy


def test_inspect_smollm2(smollm2_report: quant.GGUFReport) -> None:
    r = smollm2_report
    m = r.metadata
    assert m["architecture"] == "llama"
    assert (m["layers"], m["heads"], m["kv_heads"], m["embedding"]) == (30, 9, 3, 576)
    assert m["vocabulary"] == 49152 and m["context_length"] == 8192
    assert m["chat_template"] is True
    assert m["file_type"] == "Q4_1"
    assert r.type_counts() == {"Q4_1": 210, "Q8_0": 1, "F32": 61}
    assert 134_000_000 < r.n_weights < 135_000_000
    assert round(r.bits_per_weight, 2) == 5.74
    assert r.tensor_bytes < r.file_size == models.info("smollm2:135m").size
    assert 0 <= r.file_size - r.header_bytes - r.tensor_bytes < 32 * len(r.tensors)  # alignment only
    by_type = r.by_type()
    assert sum(v["bytes"] for v in by_type.values()) == r.tensor_bytes
    assert by_type["Q4_1"]["bits_per_weight"] == 5.0 and by_type["F32"]["bits_per_weight"] == 32.0
    q = next(t for t in r.tensors if t.name == "blk.0.attn_q.weight")
    assert q.shape == (576, 576) and q.ggml_type == "Q4_1" and q.n_bytes == 576 * 576 * 5 // 8
    text = r.table(limit=3) + "\n" + r.summary()
    assert "TOTAL" in text and "more tensors" in text and "Q4_1" in text


def test_inspect_gemma() -> None:
    r = quant.inspect(models.path("gemma3:270m"))
    m = r.metadata
    assert m["architecture"] == "gemma3"
    assert (m["layers"], m["heads"], m["kv_heads"]) == (18, 4, 1)
    assert m["chat_template"] is False  # a base model: no chat template in the file
    assert m["context_length"] == 32768
    assert {"Q5_0", "Q8_0", "F32"} <= set(r.type_counts())
    assert round(r.bits_per_weight, 2) == 7.36


def test_inspect_refuses_what_is_not_gguf(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="labkit.models.path"):
        quant.inspect(tmp_path / "missing.gguf")
    bogus = tmp_path / "notes.gguf"
    bogus.write_text("not a model")
    with pytest.raises(ValueError, match="not a GGUF file|cannot be read as GGUF"):
        quant.inspect(bogus)
