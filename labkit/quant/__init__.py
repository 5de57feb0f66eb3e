"""Quantization from the inside, then on a whole model.

* :mod:`~labkit.quant.anatomy` — what is in a GGUF file: ``inspect(path)``;
* :mod:`~labkit.quant.blocks` — Q8_0, Q4_0 and Q4_1 written out in numpy, byte for byte;
* :mod:`~labkit.quant.errors` — what it costs: error statistics, histograms;
* :mod:`~labkit.quant.ladder` — one model from F16 down to Q2_K with llama.cpp's own
  quantizer, every level measured (size, speed, perplexity, KL, top-1 agreement);
* :mod:`~labkit.quant.report` — the ladder's tables and plots;
* :mod:`~labkit.quant.projection` — what the levels mean for 7B to 70B models.

The names used most are re-exported here (``labkit.quant.inspect(path)``).
Introduced in notebooks/03_llamacpp.
"""

from labkit import lazy_submodules
from labkit.quant.anatomy import GGUFReport, TensorRow, inspect
from labkit.quant.blocks import (
    BLOCK_SIZE,
    TYPES,
    bits_per_weight,
    dequantize,
    dequantize_q4_0,
    dequantize_q4_1,
    dequantize_q8_0,
    explain_bits_per_weight,
    quantize,
    quantize_q4_0,
    quantize_q4_1,
    quantize_q8_0,
    roundtrip,
)
from labkit.quant.errors import (
    ErrorStats,
    compare_types,
    course_tensor,
    error_stats,
    format_stats,
    minilm_tensor,
    plot_error_histogram,
)

__all__ = [
    "BLOCK_SIZE", "TYPES", "TensorRow", "GGUFReport", "inspect", "bits_per_weight", "explain_bits_per_weight",
    "quantize", "dequantize", "roundtrip", "quantize_q8_0", "dequantize_q8_0", "quantize_q4_0",
    "dequantize_q4_0", "quantize_q4_1", "dequantize_q4_1", "ErrorStats", "error_stats", "compare_types",
    "format_stats", "plot_error_histogram", "course_tensor", "minilm_tensor",
]

__getattr__ = lazy_submodules(__name__, {"anatomy", "blocks", "errors", "ladder", "projection", "report"})
