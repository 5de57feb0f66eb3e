"""Turn one GGUF file into the other forms the course needs.

* :func:`dequantize_to_f16` expands a quantized GGUF into an F16 GGUF with
  gguf-py, keeping every metadata key. llama.cpp loads it like the original,
  and its quantizer can start the quantization ladder from it
  (notebooks/03_llamacpp).
* :func:`export_hf_folder` loads the GGUF through transformers' own GGUF
  reader (which dequantizes to float) and saves an ordinary Hugging Face
  folder, so ``HuggingFacePipeline.from_model_id`` can load it offline
  (notebooks/04_huggingface).

:func:`f16_path` and :func:`hf_dir` (``labkit.models.f16_path(name)``) make them once
and keep them in the store, keyed by the source file's hash.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import tempfile
from pathlib import Path

from labkit.models.catalog import ModelInfo
from labkit.models.files import building, is_verified, sha256, store_root
from labkit.models.locate import path
from labkit.models.registry import info
from labkit.system import jsonfile


def dequantize_to_f16(source: Path, target: Path, progress: bool = True) -> Path:
    """Write ``source`` to ``target`` with every quantized tensor as F16.

    Tensors that were F32 (norms, biases) stay F32, as llama.cpp expects;
    everything else is dequantized with ``gguf.quants.dequantize`` and stored
    as half floats. ``general.file_type`` is set to MOSTLY_F16.
    """
    import gguf
    import numpy as np
    from tqdm.auto import tqdm

    from labkit.models.gguf import reader as gguf_reader

    reader = gguf_reader(source)
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    writer = gguf.GGUFWriter(target, arch=arch, endianess=reader.endianess)

    for field in reader.fields.values():
        # GGUF.* are the reader's virtual fields; the writer adds the architecture itself.
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        value = field.contents()
        if field.name == gguf.Keys.General.FILE_TYPE:
            value = int(gguf.LlamaFileType.MOSTLY_F16)
        writer.add_key_value(field.name, value, value_type, sub_type=sub_type)

    keep_f32 = {gguf.GGMLQuantizationType.F32}
    converted: list[tuple[str, np.ndarray]] = []
    for tensor in tqdm(reader.tensors, desc=f"dequantizing {source.name}", disable=not progress, leave=False):
        values = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
        if tensor.tensor_type in keep_f32:
            array = np.asarray(values, dtype=np.float32)
        else:
            array = np.asarray(values, dtype=np.float16)
        converted.append((tensor.name, array))
        writer.add_tensor_info(tensor.name, array.shape, array.dtype, array.nbytes)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for _, array in converted:
        writer.write_tensor_data(array)
    writer.close()
    return target


def export_hf_folder(source: Path, target: Path) -> Path:
    """Save ``source`` (a GGUF file) as a Hugging Face folder in ``target``.

    transformers can read a GGUF directly (``gguf_file=``), but a model loaded
    that way refuses ``save_pretrained``. A fresh model built from the same
    config, with the loaded weights copied in, saves normally (float32
    safetensors), and the tokenizer converted from the GGUF vocabulary is
    saved next to it.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from labkit.system.logs import quiet_transformers

    quiet_transformers()
    folder, file_name = str(source.parent), source.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=file_name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=file_name, dtype=torch.float32)
    config = copy.deepcopy(loaded.config)
    # The loaded config remembers it came from a GGUF file; the export is plain float32,
    # so drop that note or transformers would treat the folder as a GGUF checkpoint.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    fresh.load_state_dict(loaded.state_dict())
    fresh.generation_config = loaded.generation_config
    target.mkdir(parents=True, exist_ok=True)
    fresh.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


def _derived_dir(entry: ModelInfo) -> Path:
    """Derived files are keyed by the source hash: a new source means new exports."""
    safe = re.sub(r"[^a-z0-9._-]", "-", entry.name)
    folder = store_root() / "derived" / f"{safe}-{entry.sha256[:16]}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def f16_path(name: str) -> Path:
    """An F16 GGUF of ``name``: the shipped file dequantized with gguf-py.

    Metadata is kept, so llama.cpp loads it like the original. It is the
    starting point of the quantization ladder (notebooks/03_llamacpp). Note:
    for a model shipped already quantized, this F16 file carries that
    quantization's error; expanding does not bring precision back.
    """
    source = path(name)
    entry = info(name)
    target = _derived_dir(entry) / (Path(entry.file_name).stem.split(".")[0] + ".F16.gguf")
    stamp_file = target.with_name(target.name + ".json")
    with building(target):
        stamp = jsonfile.read(stamp_file)
        if stamp and is_verified(target, stamp["sha256"], stamp["size"]):
            return target
        partial = target.with_name(target.name + ".partial")
        dequantize_to_f16(source, partial)
        partial.replace(target)
        jsonfile.write(stamp_file, {"sha256": sha256(target), "size": target.stat().st_size,
                                    "source_sha256": entry.sha256})
        return target


HF_EXPORT_VERSION = 2  # bump when export_hf_folder changes, so cached folders are rebuilt


def hf_dir(name: str) -> Path:
    """A Hugging Face model folder (config, tokenizer, safetensors) for ``name``.

    Exported once through transformers' GGUF loader and cached, so that
    ``HuggingFacePipeline.from_model_id(model_id=str(hf_dir(name)))`` works
    offline (notebooks/04_huggingface).
    """
    source = path(name)
    entry = info(name)
    target = _derived_dir(entry) / "hf"
    done = target / "labkit-export.json"
    stamp = {"source_sha256": entry.sha256, "model": entry.name, "export_version": HF_EXPORT_VERSION}
    with building(target):
        if done.exists() and json.loads(done.read_text()) == stamp:
            return target
        partial = Path(tempfile.mkdtemp(prefix="hf-", dir=target.parent))
        try:
            export_hf_folder(source, partial)
            (partial / "labkit-export.json").write_text(json.dumps(stamp, indent=2))
            if target.exists():
                shutil.rmtree(target)
            partial.replace(target)
        finally:
            if partial.exists():
                shutil.rmtree(partial, ignore_errors=True)
        return target
