"""Block quantization written out in numpy: Q8_0, Q4_0 and Q4_1, byte for byte as llama.cpp stores them.

The results are identical to the reference in gguf-py (tests/test_quant.py checks it), so a
learner can read *exactly* what a quantized file holds. Introduced in notebooks/03_llamacpp.
"""

from __future__ import annotations

import numpy as np

#
# All three formats cut a row of weights into blocks of 32 and store, per block, one or two
# float16 numbers (the scale `d`, and for Q4_1 the minimum `m`) plus one small integer per
# weight. Reconstruction is `w ≈ d * q` (Q8_0), `w ≈ d * (q - 8)` (Q4_0), `w ≈ d * q + m` (Q4_1).
#
# Each step below mirrors ggml's reference C code (ggml-quants.c, quantize_row_*_ref)
# and gguf-py's numpy port of it, including float32 arithmetic and the rounding rules,
# which is why the bytes come out identical.

BLOCK_SIZE = 32
TYPES = ("Q8_0", "Q4_1", "Q4_0")

# bytes per block of 32 weights, spelled out
_BLOCK_BYTES = {
    "Q8_0": 2 + 32,  # fp16 scale + 32 int8
    "Q4_1": 2 + 2 + 16,  # fp16 scale + fp16 min + 32 nibbles (two per byte)
    "Q4_0": 2 + 16,  # fp16 scale + 32 nibbles
}


def bits_per_weight(qtype: str) -> float:
    """Bits per weight of a ggml block type, from its block layout (Q8_0 -> 8.5, Q4_0 -> 4.5).

    Introduced in notebooks/03_llamacpp.
    """
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    try:
        block, nbytes = GGML_QUANT_SIZES[GGMLQuantizationType[qtype.upper()]]
    except KeyError:
        raise ValueError(f"Unknown ggml type {qtype!r}; try one of Q8_0, Q4_0, Q4_1, Q6_K, Q4_K, F16.") from None
    return 8 * nbytes / block


def explain_bits_per_weight(qtype: str) -> str:
    """One sentence of arithmetic: why a block type costs what it costs.

    Introduced in notebooks/03_llamacpp.
    """
    qtype = qtype.upper()
    parts = {
        "Q8_0": ("32 weights x 8 bits", 32 * 8, "one fp16 scale (16 bits)", 16),
        "Q4_0": ("32 weights x 4 bits", 32 * 4, "one fp16 scale (16 bits)", 16),
        "Q4_1": ("32 weights x 4 bits", 32 * 4, "an fp16 scale and an fp16 minimum (32 bits)", 32),
    }
    if qtype not in parts:
        return f"{qtype}: {bits_per_weight(qtype):g} bits per weight (from gguf-py's block sizes)."
    what, bits, extra, extra_bits = parts[qtype]
    total = bits + extra_bits
    return (
        f"{qtype}: {what} = {bits} bits, plus {extra} = {total} bits per block of 32 "
        f"= {total // 8} bytes -> {total}/32 = {total / 32:g} bits per weight."
    )


def _blocks(x: np.ndarray) -> np.ndarray:
    """Reshape float weights (..., n) into float32 blocks of 32, checking the row length."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 0 or x.shape[-1] % BLOCK_SIZE:
        raise ValueError(
            f"The last dimension ({x.shape[-1] if x.ndim else 'scalar'}) must be a multiple of "
            f"{BLOCK_SIZE}: blocks never cross a row. Slice or pad the weights first."
        )
    return x.reshape(-1, BLOCK_SIZE)


def _byte_shape(shape: tuple[int, ...], qtype: str) -> tuple[int, ...]:
    return (*shape[:-1], shape[-1] // BLOCK_SIZE * _BLOCK_BYTES[qtype])


def _byte_blocks(data: np.ndarray, qtype: str) -> np.ndarray:
    data = np.asarray(data).view(np.uint8)
    size = _BLOCK_BYTES[qtype]
    if data.shape[-1] % size:
        raise ValueError(f"{qtype} data must have a multiple of {size} bytes per row, got {data.shape[-1]}.")
    return data.reshape(-1, size)


def _float_shape(shape: tuple[int, ...], qtype: str) -> tuple[int, ...]:
    return (*shape[:-1], shape[-1] // _BLOCK_BYTES[qtype] * BLOCK_SIZE)


def _inverse(d: np.ndarray) -> np.ndarray:
    """1/d, with 0 where d == 0 (an all-zero block), in float32 like ggml."""
    with np.errstate(divide="ignore"):
        return np.where(d == 0, np.float32(0), np.float32(1) / d).astype(np.float32)


def _round_half_away(x: np.ndarray) -> np.ndarray:
    """C's roundf: halves go away from zero (numpy's np.round sends them to the even number).

    Written as whole part + floor(2 * fraction) rather than floor(|x| + 0.5), because in
    float32 0.49999997 + 0.5 rounds up to 1.0 and would give the wrong answer.
    """
    a = np.abs(x)
    whole = np.floor(a)
    return np.sign(x) * (whole + np.floor(2 * (a - whole)))


def _fp16_bytes(v: np.ndarray) -> np.ndarray:
    """float32 column -> its float16 value as 2 little-endian bytes per block."""
    return v.astype("<f2").view(np.uint8)


def _pack_nibbles(q: np.ndarray) -> np.ndarray:
    """32 values 0..15 -> 16 bytes: weight j in the low nibble, weight j+16 in the high one."""
    return (q[:, :16] | (q[:, 16:] << 4)).astype(np.uint8)


def _unpack_nibbles(packed: np.ndarray) -> np.ndarray:
    return np.concatenate([packed & 0x0F, packed >> 4], axis=1)


def quantize_q8_0(x: np.ndarray) -> np.ndarray:
    """Q8_0: per block, d = max|w| / 127 and q = round(w / d) as int8; 34 bytes per 32 weights.

    Introduced in notebooks/03_llamacpp.
    """
    shape = np.shape(x)
    b = _blocks(x)
    d = np.abs(b).max(axis=1, keepdims=True) / np.float32(127)
    q = _round_half_away(b * _inverse(d))
    out = np.concatenate([_fp16_bytes(d), q.astype(np.int8).view(np.uint8)], axis=1)
    return out.reshape(_byte_shape(shape, "Q8_0"))


def dequantize_q8_0(data: np.ndarray) -> np.ndarray:
    """Q8_0 bytes back to float32: w = d * q.

    Introduced in notebooks/03_llamacpp.
    """
    shape = np.shape(data)
    b = _byte_blocks(data, "Q8_0")
    d = b[:, :2].copy().view("<f2").astype(np.float32)
    q = b[:, 2:].view(np.int8).astype(np.float32)
    return (d * q).reshape(_float_shape(shape, "Q8_0"))


def quantize_q4_0(x: np.ndarray) -> np.ndarray:
    """Q4_0: symmetric 4 bits. d = (the weight of largest magnitude) / -8, q = w/d + 8 in 0..15.

    Using the *signed* extreme maps it exactly to -8, the one level that has no positive twin.
    Introduced in notebooks/03_llamacpp.
    """
    shape = np.shape(x)
    b = _blocks(x)
    extreme = np.take_along_axis(b, np.abs(b).argmax(axis=1, keepdims=True), axis=1)
    d = extreme / np.float32(-8)
    q = np.trunc(b * _inverse(d) + np.float32(8.5)).clip(0, 15).astype(np.uint8)
    out = np.concatenate([_fp16_bytes(d), _pack_nibbles(q)], axis=1)
    return out.reshape(_byte_shape(shape, "Q4_0"))


def dequantize_q4_0(data: np.ndarray) -> np.ndarray:
    """Q4_0 bytes back to float32: w = d * (q - 8).

    Introduced in notebooks/03_llamacpp.
    """
    shape = np.shape(data)
    b = _byte_blocks(data, "Q4_0")
    d = b[:, :2].copy().view("<f2").astype(np.float32)
    q = _unpack_nibbles(b[:, 2:]).astype(np.float32) - 8
    return (d * q).reshape(_float_shape(shape, "Q4_0"))


def quantize_q4_1(x: np.ndarray) -> np.ndarray:
    """Q4_1: asymmetric 4 bits. m = min(w), d = (max - min) / 15, q = round((w - m) / d) in 0..15.

    The extra fp16 minimum lets the 16 levels cover [min, max] exactly, even when a block
    is not centred on zero: better accuracy for 0.5 more bits per weight than Q4_0.
    Introduced in notebooks/03_llamacpp.
    """
    shape = np.shape(x)
    b = _blocks(x)
    lo = b.min(axis=1, keepdims=True)
    hi = b.max(axis=1, keepdims=True)
    d = (hi - lo) / np.float32(15)
    q = np.trunc((b - lo) * _inverse(d) + np.float32(0.5)).clip(0, 15).astype(np.uint8)
    out = np.concatenate([_fp16_bytes(d), _fp16_bytes(lo), _pack_nibbles(q)], axis=1)
    return out.reshape(_byte_shape(shape, "Q4_1"))


def dequantize_q4_1(data: np.ndarray) -> np.ndarray:
    """Q4_1 bytes back to float32: w = d * q + m.

    Introduced in notebooks/03_llamacpp.
    """
    shape = np.shape(data)
    b = _byte_blocks(data, "Q4_1")
    d = b[:, 0:2].copy().view("<f2").astype(np.float32)
    m = b[:, 2:4].copy().view("<f2").astype(np.float32)
    q = _unpack_nibbles(b[:, 4:]).astype(np.float32)
    return (d * q + m).reshape(_float_shape(shape, "Q4_1"))


_QUANTIZERS = {"Q8_0": quantize_q8_0, "Q4_0": quantize_q4_0, "Q4_1": quantize_q4_1}
_DEQUANTIZERS = {"Q8_0": dequantize_q8_0, "Q4_0": dequantize_q4_0, "Q4_1": dequantize_q4_1}


def _check_type(qtype: str) -> str:
    q = qtype.upper()
    if q not in _QUANTIZERS:
        raise ValueError(f"Unknown block type {qtype!r}: this module implements {', '.join(TYPES)}.")
    return q


def quantize(x: np.ndarray, qtype: str) -> np.ndarray:
    """Quantize float weights (last dimension a multiple of 32) to the bytes ggml stores.

    Same input and output shapes as `gguf.quants.quantize`. Introduced in notebooks/03_llamacpp.
    """
    return _QUANTIZERS[_check_type(qtype)](x)


def dequantize(data: np.ndarray, qtype: str) -> np.ndarray:
    """Turn quantized bytes back into float32 weights. Introduced in notebooks/03_llamacpp."""
    return _DEQUANTIZERS[_check_type(qtype)](data)


def roundtrip(x: np.ndarray, qtype: str) -> np.ndarray:
    """Quantize then dequantize: the weights as the model will see them after quantization.

    Introduced in notebooks/03_llamacpp.
    """
    return dequantize(quantize(x, qtype), qtype)
