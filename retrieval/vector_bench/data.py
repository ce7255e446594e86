"""Real benchmark data: SQuAD/SciFact texts, their embeddings cached as ``.npy`` blocks, SciFact passage chunks.

Kept apart from the synthetic vectors so that reading data files and running the model live in one place.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.vector_bench.config import DEFAULT_DATA

__all__ = [
    "cached_prefix",
    "embed_cached",
    "load_real_texts",
    "scifact_chunks",
]

def _squad(path: Path) -> tuple[list[str], list[str]]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    contexts = [p["context"] for a in data for p in a["paragraphs"]]
    questions = [q["question"] for a in data for p in a["paragraphs"] for q in p["qas"]]
    return contexts, questions


def load_real_texts(data_dir: Path, seed: int = 0) -> tuple[list[str], list[str]]:
    """(passages, queries): deduplicated, shuffled with ``seed`` so any prefix mixes SQuAD and SciFact.

    Passages are the SQuAD paragraphs and SciFact abstracts (~25.5k) first, then the sentences of those same texts
    (``split_rough_sentences``, at least 6 words, ~145k), shuffled apart: real vectors as far as the benchmark's
    100k row, where synthetic ones used to fill three quarters, while the first 25.5k stay the whole texts (and
    their cached vectors). Queries equal to a passage are dropped, so the query set is held apart
    from the database.
    """
    from retrieval.bench_bm25 import load_beir_corpus, load_beir_queries
    from retrieval.ingest import split_rough_sentences

    data_dir = Path(data_dir)
    passages: list[str] = []
    queries: list[str] = []
    for name in ("squad/train-v1.1.json", "squad/dev-v1.1.visible.json"):
        if (data_dir / name).is_file():
            c, q = _squad(data_dir / name)
            passages += c
            queries += q
    if (data_dir / "scifact/corpus.jsonl").is_file():
        passages += load_beir_corpus(data_dir / "scifact/corpus.jsonl")[1]
    if (data_dir / "scifact/queries.jsonl").is_file():
        queries += load_beir_queries(data_dir / "scifact/queries.jsonl")[1]
    passages = [p.strip() for p in dict.fromkeys(passages) if p.strip()]
    known = set(passages)
    queries = [q.strip() for q in dict.fromkeys(queries) if q.strip() and q.strip() not in known]
    if not passages or not queries:
        raise FileNotFoundError(f"no SQuAD/SciFact passages and questions under {data_dir}")
    rng = np.random.default_rng(seed)
    passages = [passages[i] for i in rng.permutation(len(passages))]
    queries = [queries[i] for i in rng.permutation(len(queries))]
    parts = (p[a:b].strip() for p in passages for a, b in split_rough_sentences(p))
    asked = set(queries)
    extra = [t for t in dict.fromkeys(parts) if len(t.split()) >= 6 and t not in known and t not in asked]
    return passages + [extra[i] for i in np.random.default_rng(seed + 1).permutation(len(extra))], queries


def _onnx_encoder(cache_dir: Path, threads: int | None = None) -> Any:
    """The bundled model exported once to ONNX under ``cache_dir/onnx/<model hash>``."""
    from retrieval.encoders import OnnxEncoder, bundled_model_dir, export_onnx, file_sha256

    model_dir = bundled_model_dir()
    target = cache_dir / "onnx" / file_sha256(model_dir / "model.safetensors")[:16]
    if not (target / "encoder.onnx").is_file():
        tmp = target.with_name(target.name + f".tmp{os.getpid()}")
        tmp.mkdir(parents=True, exist_ok=True)
        export_onnx(model_dir, tmp)
        tmp.replace(target)
    return OnnxEncoder(target / "encoder.onnx", target / "tokenizer.json", threads=threads)


def embed_cached(
    texts: Sequence[str],
    cache_dir: Path,
    encoder_factory: Callable[[], Any] | None = None,
    tag: str | None = None,
    block: int = 2048,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Embed ``texts`` in blocks, each cached as ``<sha256(tag, texts)>.npy``: computed once, reused by any prefix.

    ``tag`` names the model and encoder (default: the bundled model's hash and the ONNX encoder).
    """
    from retrieval.encoders import EMBEDDING_DIM

    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tag = tag or _default_tag()
    factory = encoder_factory or (lambda: _onnx_encoder(cache_dir.parent))
    encoder = None
    out = np.empty((len(texts), EMBEDDING_DIM), dtype=np.float32)
    for start in range(0, len(texts), block):
        chunk = list(texts[start : start + block])
        path = _block_path(cache_dir, tag, chunk)
        vecs = np.load(path, allow_pickle=False) if path.is_file() else None
        if vecs is None or vecs.shape != (len(chunk), EMBEDDING_DIM):
            encoder = encoder or factory()
            vecs = encoder.encode(chunk, progress).astype(np.float32)
            tmp = path.with_suffix(f".tmp{os.getpid()}.npy")
            np.save(tmp, vecs, allow_pickle=False)
            tmp.replace(path)
        elif progress is not None:
            progress(len(chunk))
        out[start : start + len(chunk)] = vecs
    return out


def _default_tag() -> str:
    from retrieval.encoders import MAX_SEQ_LENGTH, bundled_model_dir, file_sha256

    return f"onnx|{file_sha256(bundled_model_dir() / 'model.safetensors')}|{MAX_SEQ_LENGTH}"


def _block_path(cache_dir: Path, tag: str, chunk: Sequence[str]) -> Path:
    digest = hashlib.sha256(tag.encode())
    for t in chunk:
        digest.update(b"\x00" + t.encode("utf-8"))
    return Path(cache_dir) / f"{digest.hexdigest()[:32]}.npy"


def cached_prefix(texts: Sequence[str], cache_dir: Path, tag: str | None = None, block: int = 2048) -> np.ndarray:
    """The vectors :func:`embed_cached` already holds for the longest block-aligned prefix of ``texts`` (no model)."""
    from retrieval.encoders import EMBEDDING_DIM

    tag = tag or _default_tag()
    parts = []
    for start in range(0, len(texts), block):
        chunk = list(texts[start : start + block])
        path = _block_path(Path(cache_dir), tag, chunk)
        vecs = np.load(path, allow_pickle=False) if path.is_file() else None
        if vecs is None or vecs.shape != (len(chunk), EMBEDDING_DIM):
            break
        parts.append(vecs.astype(np.float32, copy=False))
    return np.vstack(parts) if parts else np.zeros((0, EMBEDDING_DIM), dtype=np.float32)


def scifact_chunks(
    data_dir: str | Path = DEFAULT_DATA, n: int = 1000, seed: int = 0, max_words: int = 100
) -> list[str]:
    """``n`` real passages: SciFact abstracts (title + abstract) packed into whole sentences of at most ``max_words``
    words, as the engine's chunker packs them (a longer single sentence stays whole), sampled with ``seed``."""
    from retrieval.bench_bm25 import load_beir_corpus
    from retrieval.ingest import split_rough_sentences

    chunks: list[str] = []
    for doc in load_beir_corpus(Path(data_dir) / "scifact/corpus.jsonl")[1]:
        current: list[str] = []
        words = 0
        for a, b in split_rough_sentences(doc):
            sentence = doc[a:b]
            w = len(sentence.split())
            if current and words + w > max_words:
                chunks.append(" ".join(current))
                current, words = [], 0
            current.append(sentence)
            words += w
        if current:
            chunks.append(" ".join(current))
    rng = np.random.default_rng(seed)
    return [chunks[i] for i in rng.choice(len(chunks), min(n, len(chunks)), replace=False)]
