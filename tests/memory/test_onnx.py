"""The ONNX int8 build of the embedding model answers like the torch model it was built from."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from veri.memory import onnx
from veri.memory.embeddings import EmbedderUnavailable, LocalEmbedder

TEXTS = [
    "Maya: I usually charge 1,500 for a dedicated YouTube video",
    "lena: can u deliver by march 20?? 🙏",
    "",
    "Le tournage est reporté à jeudi",
    "x" * 5000,  # longer than the model reads: truncated, not an error
]


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.mark.skipif(not onnx.is_built(), reason="the ONNX model is built by `make install`")
def test_onnx_vectors_match_the_torch_model_in_order() -> None:
    fast, reference = onnx.OnnxEmbedder(), LocalEmbedder()
    vectors = fast.embed(TEXTS)
    expected = reference.embed(TEXTS)
    assert len(vectors) == len(TEXTS) and all(len(v) == fast.dimensions for v in vectors)
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-4) for v in vectors)
    assert min(_cosine(a, b) for a, b in zip(vectors, expected, strict=True)) > 0.97
    # The order of the answers is the order of the texts, whatever the batching does.
    again = fast.embed(list(reversed(TEXTS)))
    assert min(_cosine(a, b) for a, b in zip(again, reversed(vectors), strict=True)) > 0.9999
    assert fast.embed([]) == []


def test_a_missing_model_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(EmbedderUnavailable, match="build-onnx"):
        onnx.OnnxEmbedder(tmp_path).embed(["hello"])
