"""The engine: build an index from a corpus folder, open it, search it, answer questions from it."""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from retrieval import __version__
from retrieval.answer import AnswerModel, collect_candidates, select_answer
from retrieval.bm25 import BM25
from retrieval.chunking import ChunkerConfig, annotate_documents, chunk_documents
from retrieval.dense import KINDS as DENSE_KINDS
from retrieval.dense import DenseIndex, choose_index_spec
from retrieval.encoders import DEFAULT_MODEL_NAME, EMBEDDING_DIM, OnnxEncoder
from retrieval.fusion import FusionMode, fuse
from retrieval.ingest import INGEST_RULES_VERSION, IngestReport, iter_corpus_files, load_corpus
from retrieval.reader import ReaderMissing
from retrieval.reader_answer import (
    best_dense_cosine, best_keyword_coverage, claimed_values, most_confident_first, reader_rows, select_reader_answer,
    sentence_missing,
)
from retrieval.store import (
    FORMAT_VERSION,
    IndexCorrupt,
    IndexIncompatible,
    atomic_index_dir,
    build_lock,
    corpus_changed,
    corpus_fingerprint,
    read_stat_cache,
    read_manifest,
    verify_files,
    write_stat_cache,
    write_manifest,
)
from retrieval.subject import Subject, asked_subject
from retrieval.tokenize import TOKENIZER_RULES_VERSION, TokenizerConfig
from retrieval.types import Answer, AnswerValue, Citation, Hit, Passage
from retrieval.values import MONEY_MARK, ScoredValue, expand_money_scales

__all__ = [
    "BuildConfig", "Engine", "SearchConfig", "conflicting_values", "likely_enough", "measure_kind", "values_agree",
]

ProgressFactory = Callable[[str, int], Callable[[int], None]]


# The least weight a question keyword has (``Engine.idf``): positive, and far below any idf of a real corpus.
MIN_KEYWORD_WEIGHT = 1e-3


@dataclass(frozen=True)
class BuildConfig:
    """Everything that shapes an index; recorded in its manifest."""

    chunker: ChunkerConfig = field(default_factory=ChunkerConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    bm25_k1: float = 1.5
    bm25_b: float = 0.75
    bm25_epsilon: float = 0.25
    sentence_vectors: bool = True
    batch_size: int = 64
    index_type: str = "auto"  # "auto": choose_index_spec(passages, target_recall); or a DenseIndex kind
    target_recall: float = 0.95

    def __post_init__(self) -> None:
        if not isinstance(self.chunker, ChunkerConfig) or not isinstance(self.tokenizer, TokenizerConfig):
            raise TypeError("chunker and tokenizer must be ChunkerConfig and TokenizerConfig instances")
        if not (_is_number(self.bm25_k1) and self.bm25_k1 >= 0 and _is_number(self.bm25_b) and 0 <= self.bm25_b <= 1
                and _is_number(self.bm25_epsilon) and self.bm25_epsilon >= 0):
            raise ValueError("bm25_k1 and bm25_epsilon must be numbers >= 0 and bm25_b a number in [0, 1]")
        if not isinstance(self.sentence_vectors, bool):
            raise ValueError("sentence_vectors must be True or False")
        if not _is_int(self.batch_size) or self.batch_size < 1:
            raise ValueError("batch_size must be an int >= 1")
        if self.index_type != "auto" and self.index_type not in DENSE_KINDS:
            raise ValueError(f"index_type must be 'auto' or one of {', '.join(DENSE_KINDS)}")
        if not 0.0 < self.target_recall <= 1.0:
            raise ValueError("target_recall must be in (0, 1]")

    def to_json(self) -> dict[str, Any]:
        return {
            "chunker": self.chunker.to_json(),
            "tokenizer": asdict(self.tokenizer),
            "bm25": {"k1": self.bm25_k1, "b": self.bm25_b, "epsilon": self.bm25_epsilon},
            "sentence_vectors": self.sentence_vectors,
            "ingest_rules": INGEST_RULES_VERSION,
            "index_type": self.index_type,
            "target_recall": self.target_recall,
        }


ANSWERERS = ("auto", "reader", "heuristic")
# another source's figure must be at least this share as likely as the answer to be reported (eval/conflict_probe.py),
# on the confidence's fitted scale, before ReaderSettings.prior_shift
CONFLICT_MIN_RATIO = 0.2
# ... and its sentence may lack no question word much rarer than any the answer's sentence lacks (the rarest missing
# word's IDF over the question's rarest word's, ``reader_answer.sentence_missing``, may exceed the answer's by at
# most this): "30,000 died in the 1990s war" is another fact for a question about the 2020 war
CONFLICT_MAX_EXTRA_MISSING = 0.5


@dataclass(frozen=True)
class SearchConfig:
    """Query-time settings (defaults measured on SQuAD and SciFact, see README).

    ``answerer``: "reader" (the trained span reader), "heuristic" (typed candidates and a fitted scorer), or "auto"
    (the reader when its model and fitted settings are installed). ``conflict_min_ratio``: another source's figure
    is reported as disagreeing only when it is at least this share as likely as the answer, before the reader's
    prior shift (see ``likely_enough``; ``eval/conflict_probe.py`` measures the choice).
    """

    fusion: FusionMode = FusionMode.CONVEX
    alpha: float = 0.5
    rrf_k: int = 60
    depth: int = 100
    answerer: str = "auto"
    conflict_min_ratio: float = CONFLICT_MIN_RATIO

    def __post_init__(self) -> None:
        try:  # a mode's name ("rrf") is as good as the member; anything else fails here, not at the first ask
            object.__setattr__(self, "fusion", FusionMode(self.fusion))
        except ValueError:
            raise ValueError(f"fusion must be one of {', '.join(m.value for m in FusionMode)}, got {self.fusion!r}") from None
        if not (_is_int(self.depth) and _is_int(self.rrf_k)):
            raise ValueError("depth and rrf_k must be ints")
        if not _is_number(self.alpha) or not _is_number(self.conflict_min_ratio):
            raise ValueError("alpha and conflict_min_ratio must be numbers")
        if self.answerer not in ANSWERERS:
            raise ValueError("answerer must be 'auto', 'reader' or 'heuristic'")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError("alpha must be in [0, 1]")
        if self.depth < 1 or self.rrf_k < 1:
            raise ValueError("depth and rrf_k must be >= 1")
        if not 0.0 <= self.conflict_min_ratio <= 1.0:
            raise ValueError("conflict_min_ratio must be in [0, 1]")


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and math.isfinite(value)


def _check_k(k: Any) -> int:
    if not _is_int(k) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    return int(k)


def _check_questions(questions: Any) -> list[str]:
    """A list of non-blank questions; one-line errors for the mistakes an integrator makes (a bare str searches
    each character, None fails deep inside the encoder, a blank question matches arbitrary passages)."""
    if isinstance(questions, (str, bytes)):
        raise TypeError("expected a sequence of questions, not a single str (use search() or ask() for one)")
    out = list(questions)
    for q in out:
        if not isinstance(q, str):
            raise TypeError(f"a question must be a str, got {type(q).__name__}")
        if not q.strip():
            raise ValueError("a question is empty")
    return out


def _noop_progress(_label: str, _total: int) -> Callable[[int], None]:
    return lambda _n: None


def _corpus_files(corpus: Path) -> dict[str, Path]:
    if corpus.is_file():
        return {corpus.name: corpus}
    return {p.relative_to(corpus).as_posix(): p for p in iter_corpus_files(corpus)}


class Engine:
    """A built index, opened for questions. Use :meth:`build` or :meth:`open`; both return an Engine."""

    def __init__(
        self,
        directory: Path,
        manifest: dict[str, Any],
        passages: list[Passage],
        titles: dict[str, str],
        bm25: BM25,
        dense: DenseIndex,
        sentence_vectors: np.ndarray | None,
        answer_model: AnswerModel,
        search_config: SearchConfig,
    ) -> None:
        self.directory = directory  # the version folder the files were read from
        self.opened_as = directory  # the path ``open`` was given (a link that a rebuild moves to a new version)
        self.manifest = manifest
        self.passages = passages
        self.titles = titles
        self.bm25 = bm25
        self.dense = dense
        self.sentence_vectors = sentence_vectors
        self.answer_model = answer_model
        self.search_config = search_config
        self._encoder: OnnxEncoder | None = None
        self._reader: Any = None
        self._by_doc: dict[str, list[int]] | None = None
        self._sentence_offsets = np.cumsum([0] + [len(p.sentences) for p in passages])
        self._idf: dict[str, float] | None = None
        self._idf_scale: float | None = None

    # ---- building -------------------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        corpus: str | Path,
        index_dir: str | Path,
        config: BuildConfig | None = None,
        progress: ProgressFactory | None = None,
        encoder: Any = None,
        report: IngestReport | None = None,
    ) -> Engine:
        """Read ``corpus``, build every part of the index in a temporary directory, then swap it in atomically.

        A second build of the same ``index_dir`` waits for the first (a warning is logged while it waits).
        """
        import logging

        from retrieval.encoders import OnnxBuildEncoder, bundled_model_dir, export_onnx, file_sha256
        from retrieval.ingest import CorpusError

        config = config or BuildConfig()
        progress = progress or _noop_progress
        corpus, index_dir = Path(corpus), Path(index_dir)
        report = report if report is not None else IngestReport()

        def _waiting() -> None:
            logging.getLogger(__name__).warning(
                "another build of %s is running; waiting for it to finish", index_dir
            )

        with build_lock(index_dir, on_wait=_waiting):
            files = _corpus_files(corpus) if corpus.exists() else {}
            # before ingest reads them: a file edited during the build is then stale at the next ask, not hidden
            fingerprint = corpus_fingerprint(files)
            documents = load_corpus(corpus, report)
            annotations = annotate_documents(documents, config.chunker, progress("Reading sentences", len(documents)))
            passages = chunk_documents(documents, annotations, config.chunker)
            if not passages:
                raise CorpusError(
                    f"nothing to index in {corpus}: the {len(documents)} document(s) read hold no sentence of content"
                )
            model_dir = bundled_model_dir()
            # ONNX Runtime on a graph fused for this machine, batches by token budget (batch_size rows of 64 tokens):
            # ~2.5x sentence-transformers' passages/s with the same vectors (cosine >= 0.9999; ask-engine bench)
            encoder = encoder or OnnxBuildEncoder(model_dir, token_budget=config.batch_size * 64)
            texts = [p.text for p in passages]
            vectors = encoder.encode(texts, progress("Embedding passages", len(texts)))
            sentence_texts = [p.text[s - p.start : e - p.start] for p in passages for s, e in p.sentences]
            sent_vectors = (
                encoder.encode(sentence_texts, progress("Embedding sentences", len(sentence_texts)))
                if config.sentence_vectors
                else None
            )
            bm25 = BM25(k1=config.bm25_k1, b=config.bm25_b, epsilon=config.bm25_epsilon, tokenizer=config.tokenizer)
            bm25.add(texts)
            spec = (
                choose_index_spec(len(passages), config.target_recall)
                if config.index_type == "auto"
                else {"kind": config.index_type}
            )
            dense = DenseIndex(EMBEDDING_DIM, **spec)
            dense.add(vectors)
            with atomic_index_dir(index_dir) as tmp:
                with open(tmp / "passages.jsonl", "w", encoding="utf-8") as fh:
                    for p in passages:
                        fh.write(json.dumps(p.to_json(), ensure_ascii=False) + "\n")
                docs_meta = [{"doc_id": d.doc_id, "title": d.title, "source": d.source} for d in documents]
                (tmp / "documents.json").write_text(json.dumps(docs_meta, ensure_ascii=False, indent=1))
                bm25.save(tmp)
                dense.save(tmp)
                if sent_vectors is not None:
                    np.save(tmp / "sentence_vectors.npy", sent_vectors.astype(np.float16), allow_pickle=False)
                export_onnx(model_dir, tmp)
                manifest = {
                    "format_version": FORMAT_VERSION,
                    "package_version": __version__,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "model": {
                        "name": DEFAULT_MODEL_NAME,
                        "sha256": file_sha256(model_dir / "model.safetensors"),
                        "dim": EMBEDDING_DIM,
                    },
                    "build": config.to_json(),
                    "dense": dense.spec,
                    "corpus": {
                        "path": str(corpus.resolve()),
                        "files": fingerprint,
                        "skipped": [{"file": f, "reason": r} for f, r in report.skipped],
                    },
                    "counts": {
                        "documents": len(documents),
                        "passages": len(passages),
                        "sentences": len(sentence_texts),
                    },
                }
                write_manifest(tmp, manifest)
                cls.open(tmp)  # the new version must open before it replaces the old one
        return cls.open(index_dir)

    # ---- opening --------------------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        index_dir: str | Path,
        answer_model: AnswerModel | None = None,
        search_config: SearchConfig | None = None,
    ) -> Engine:
        """Open a built index, verifying every file's checksum before it is parsed."""
        link = Path(index_dir)
        directory = link.resolve()  # one resolution: a concurrent rebuild flips the link, not our files
        manifest = read_manifest(directory)
        from retrieval.bm25 import INDEX_FILES as BM25_FILES

        # Every file this method (or the query encoder) reads must be listed and match its checksum.
        required = {"passages.jsonl", "documents.json", "dense.faiss", "dense_params.json", "encoder.onnx",
                    "tokenizer.json", *BM25_FILES}
        if (directory / "sentence_vectors.npy").exists() or (directory / "sentence_vectors.npy").is_symlink():
            required.add("sentence_vectors.npy")
        verify_files(directory, manifest, sorted(set(manifest["files"]) | required))
        model, corpus_meta = manifest.get("model"), manifest.get("corpus")
        if not (
            isinstance(model, dict) and isinstance(manifest.get("build"), dict) and isinstance(corpus_meta, dict)
            and isinstance(corpus_meta.get("files"), dict)
            and all(isinstance(v, dict) for v in corpus_meta["files"].values())
        ):
            raise IndexCorrupt(f"{directory / 'manifest.json'} is not an ask-engine manifest (missing sections)")
        if model.get("dim") != EMBEDDING_DIM or model.get("name") != DEFAULT_MODEL_NAME:
            raise IndexIncompatible(
                f"index at {link} was built with another embedding model ({model.get('name')}, dim "
                f"{model.get('dim')}; this ask-engine uses {DEFAULT_MODEL_NAME}, dim {EMBEDDING_DIM})"
            )
        try:
            passages = [
                Passage.from_json(json.loads(line))
                # lines end at "\n" only: passage text may hold U+2028 / U+2029 / NEL, which splitlines() cuts at
                for line in (directory / "passages.jsonl").read_text(encoding="utf-8").split("\n") if line.strip()
            ]
            docs_meta = json.loads((directory / "documents.json").read_text(encoding="utf-8"))
            titles = {d["doc_id"]: d["title"] for d in docs_meta}
            bm25 = BM25.load(directory, mmap=False)
            dense = DenseIndex.load(directory)
            sv_path = directory / "sentence_vectors.npy"
            sentence_vectors = np.load(sv_path, allow_pickle=False) if sv_path.exists() else None
        except (ValueError, KeyError, TypeError, IndexError, AttributeError, RuntimeError, OSError) as exc:
            raise IndexCorrupt(f"index at {link} cannot be read ({type(exc).__name__}: {exc})") from None
        if len(passages) != len(dense) or len(passages) != len(bm25):
            raise IndexCorrupt(f"index at {link} is inconsistent (passage counts differ)")
        engine = cls(
            directory, manifest, passages, titles, bm25, dense, sentence_vectors,
            answer_model or AnswerModel.default(), search_config or SearchConfig(),
        )
        engine.opened_as = link
        if sentence_vectors is not None and len(sentence_vectors) != int(engine._sentence_offsets[-1]):
            raise IndexCorrupt(f"index at {link} is inconsistent (sentence vectors)")
        # Load the query encoder now, from the version just verified: a later rebuild may remove this version.
        engine.encoder  # noqa: B018
        return engine

    def passage_ids_of(self, doc_id: str) -> list[int]:
        """Ids of one document's passages, in order."""
        if self._by_doc is None:
            by_doc: dict[str, list[int]] = {}
            for p in self.passages:
                by_doc.setdefault(p.doc_id, []).append(p.passage_id)
            self._by_doc = by_doc
        return self._by_doc.get(doc_id, [])

    def rebuild_reason(self, corpus: str | Path) -> str | None:
        """Why this index should be rebuilt for ``corpus`` (changed files, older content rules), or None."""
        if self.manifest.get("build", {}).get("ingest_rules") != INGEST_RULES_VERSION:
            return "the index was built with older content rules"
        if self.tokenizer.rules != TOKENIZER_RULES_VERSION:
            return "the index was built with older tokenizer rules"
        if self.corpus_is_stale(corpus):
            return "the corpus changed"
        return None

    def corpus_is_stale(self, corpus: str | Path) -> bool:
        """True when ``corpus`` differs from what this index was built from (files added, removed or edited)."""
        corpus = Path(corpus)
        recorded = self.manifest.get("corpus", {}).get("files", {})
        if not corpus.exists():
            return True
        verified = read_stat_cache(self.directory)
        before = dict(verified)
        changed = corpus_changed(recorded, _corpus_files(corpus), verified)
        if verified != before:
            write_stat_cache(self.directory, verified)
        return changed

    # ---- searching ------------------------------------------------------------------------------------------

    @property
    def encoder(self) -> OnnxEncoder:
        if self._encoder is None:
            self._encoder = OnnxEncoder(self.directory / "encoder.onnx", self.directory / "tokenizer.json")
        return self._encoder

    @property
    def tokenizer(self) -> TokenizerConfig:
        return self.bm25.tokenizer

    @property
    def idf(self) -> dict[str, float]:
        """Each term's BM25 idf as a keyword weight, at least ``MIN_KEYWORD_WEIGHT``. BM25's idf is negative for a
        term in more than half the passages, and in a corpus of one or two passages that is every term: the
        question's words would weigh nothing (or less), and a one-article corpus would read as off topic for every
        question. Elsewhere the floor lifts only a term in exactly half the passages (idf 0); rank_bm25's epsilon rule
        lifts negative idf to a share of the mean, positive in any real corpus (no term of the seeds' or SQuAD's
        indexes is below the floor)."""
        if self._idf is None:
            self._idf = {t: max(v, MIN_KEYWORD_WEIGHT) for t, v in self.bm25.idf_map().items()}
        return self._idf

    @property
    def idf_scale(self) -> float:
        """The largest idf of the vocabulary: scales candidate rarity to [0, 1] whatever the corpus size."""
        if self._idf_scale is None:
            self._idf_scale = max(self.idf.values(), default=1.0) or 1.0
        return self._idf_scale

    def encode(self, questions: Sequence[str]) -> np.ndarray:
        """Unit query vectors, one row per question (the encoder the index was built with)."""
        if isinstance(questions, (str, bytes)):
            raise TypeError("encode() takes a sequence of questions, not a single str")
        return self.encoder.encode(list(questions))

    def search(
        self, question: str, k: int = 10, mode: FusionMode | str | None = None, timings: dict[str, float] | None = None
    ) -> list[Hit]:
        """Hybrid search: BM25 and dense top-``depth`` fused into the top ``k`` passages."""
        return self.search_batch([question], k, mode, timings)[0]

    def search_batch(
        self,
        questions: Sequence[str],
        k: int = 10,
        mode: FusionMode | str | None = None,
        timings: dict[str, float] | None = None,
        query_vectors: np.ndarray | None = None,
    ) -> list[list[Hit]]:
        """Search many questions at once (dense search is batched); ``query_vectors``: their vectors, when the
        caller has encoded them already (one row per question)."""
        cfg = self.search_config
        questions = _check_questions(questions)
        k = _check_k(k)
        mode = FusionMode(mode) if mode is not None else cfg.fusion
        timings = timings if timings is not None else {}
        if not questions:
            timings.update(encode_ms=0.0, bm25_ms=0.0, dense_ms=0.0, fusion_ms=0.0)
            return []
        if query_vectors is not None:
            query_vectors = np.atleast_2d(query_vectors)  # one question's vector may come as one row or as a vector
            if len(query_vectors) != len(questions):
                raise ValueError(f"query_vectors has {len(query_vectors)} rows for {len(questions)} questions")
        questions = [clean_text(q) for q in questions]
        t0 = time.perf_counter()
        qv = query_vectors if query_vectors is not None else self.encode(questions)
        t1 = time.perf_counter()
        bm = self.bm25.search_batch(list(questions), cfg.depth)
        t2 = time.perf_counter()
        dscores, dids = self.dense.search(qv, cfg.depth)
        t3 = time.perf_counter()
        results = []
        for (b_ids, b_scores), d_ids, d_scores in zip(bm, dids, dscores):
            fused = fuse((b_ids, b_scores), (d_ids, d_scores), mode, k=k, rrf_k=cfg.rrf_k, alpha=cfg.alpha)
            results.append([self._hit(f.item_id, f.score, r, f) for r, f in enumerate(fused, start=1)])
        t4 = time.perf_counter()
        timings.update(
            encode_ms=(t1 - t0) * 1e3, bm25_ms=(t2 - t1) * 1e3, dense_ms=(t3 - t2) * 1e3, fusion_ms=(t4 - t3) * 1e3
        )
        return results

    def _hit(self, pid: int, score: float, rank: int, f: Any) -> Hit:
        p = self.passages[pid]
        return Hit(
            passage=p, score=float(score), rank=rank,
            bm25_score=f.bm25_score, bm25_rank=f.bm25_rank, dense_score=f.dense_score, dense_rank=f.dense_rank,
            title=self.titles.get(p.doc_id, p.doc_id),
        )

    def sentence_cosines(self, query_vector: np.ndarray, hits: Sequence[Hit]) -> list[list[float]]:
        """Cosine of the question to every sentence of each hit (from stored vectors; passage score if absent)."""
        out = []
        for h in hits:
            pid = h.passage.passage_id
            a, b = int(self._sentence_offsets[pid]), int(self._sentence_offsets[pid + 1])
            if self.sentence_vectors is not None and b > a:
                out.append((self.sentence_vectors[a:b].astype(np.float32) @ query_vector).tolist())
            else:
                out.append([h.dense_score or 0.0] * (b - a))
        return out

    # ---- answering ------------------------------------------------------------------------------------------

    def ask(self, question: str, k: int = 10, mode: FusionMode | str | None = None) -> Answer:
        """Answer from the top ``k`` passages, or abstain (``Answer.text is None``) when the corpus does not say."""
        (question,) = _check_questions([question])
        k = _check_k(k)
        question = clean_text(question)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        qv = self.encode([question])
        hits = self.search_batch([question], k, mode, timings, query_vectors=qv)[0]
        timings["encode_ms"] = (time.perf_counter() - t0) * 1e3 - sum(
            timings[x] for x in ("bm25_ms", "dense_ms", "fusion_ms")
        )
        t1 = time.perf_counter()
        answer = self.answer_from_hits(question, hits, qv[0])
        timings["answer_ms"] = (time.perf_counter() - t1) * 1e3
        timings["total_ms"] = (time.perf_counter() - t0) * 1e3
        answer.timings = timings
        return answer

    @property
    def reader(self) -> Any:
        """The trained span reader (loaded on first use), or None when not installed or not selected."""
        mode = self.search_config.answerer
        if mode == "heuristic":
            return None
        if self.answer_model.reader is None:
            if mode == "reader":
                raise ReaderMissing("the answerer settings have no fitted reader settings (answerer=\"reader\")")
            return None
        if self._reader is None:
            from retrieval.reader import SpanReader, bundled_reader_paths

            paths = bundled_reader_paths()
            if paths is None:
                if mode == "reader":
                    raise ReaderMissing("no trained reader is installed (retrieval/data/reader-int8.onnx)")
                return None
            self._reader = SpanReader(*paths)
        return self._reader

    def _reader_values(
        self, question: str, hits: Sequence[Hit], query_vector: np.ndarray, subject: Subject | None = None,
    ) -> tuple[list[ScoredValue], Any, set[tuple[str, str]]]:
        """The reader's pooled values, its settings, and the values some passage gives as its own answer (its best
        span, preferred to "no answer"): what conflict reporting may cite as another source's answer. ``subject``:
        what a "who/what is <name>?" question asks about (``asked_subject`` over the passages read)."""
        settings = self.answer_model.reader
        assert settings is not None
        read = list(hits[: settings.passages])
        if subject is not None:  # "Who is Pashinyan?" read as "Who is Nikol Pashinyan?"
            question = subject.question
        spans = self.reader.read(question, [h.passage.text for h in read], top_n=20)
        # stored sentence vectors only: sentence_cosines' passage-score fallback is not what the weight was fitted on
        use_cosines = settings.sentence_weight > 0 and self.sentence_vectors is not None
        cosines = self.sentence_cosines(query_vector, read) if use_cosines else None
        rows = reader_rows(question, read, spans, self.idf, self.tokenizer, cosines, subject=subject)
        values = select_reader_answer(rows, settings)
        return values, settings, claimed_values(values, read, spans)

    def _sentence_cosine(self, passage: Passage, sentence_start: int, query_vector: np.ndarray) -> float | None:
        if self.sentence_vectors is None:
            return None
        for i, (a, _b) in enumerate(passage.sentences):
            if a == sentence_start:
                row = int(self._sentence_offsets[passage.passage_id]) + i
                return float(self.sentence_vectors[row].astype(np.float32) @ query_vector)
        return None

    def supporting_citations(
        self, question: str, value: AnswerValue, query_vector: np.ndarray, depth: int = 30, ratio: float = 0.8
    ) -> list[Citation]:
        """Other statements of the answer's value: index-time candidates with the same normalised value, in the
        top ``depth`` passages, whose sentence is at least ``ratio`` times as similar to the question as the
        answer's own sentence. This is how "2,000" gets cited from every article that gives it."""
        from retrieval.values import normalize_value

        own = [
            cos for c in value.citations
            if (cos := self._sentence_cosine(self.passages[c.passage_id], c.sentence_start, query_vector)) is not None
        ]
        if not own:
            return []
        floor = ratio * max(own)
        seen = {(c.doc_id, c.start) for c in value.citations}
        out = []
        for hit in self.search_batch([question], depth, query_vectors=query_vector[None, :])[0]:
            p = hit.passage
            for cand in p.candidates:
                text = p.text[cand.start - p.start : cand.end - p.start]
                if (p.doc_id, cand.start) in seen or normalize_value(text) != value.normalized:
                    continue
                s0, s1 = next(((a, b) for a, b in p.sentences if a <= cand.start < b), (p.start, p.end))
                cos = self._sentence_cosine(p, s0, query_vector)
                if cos is None or cos < floor:
                    continue
                seen.add((p.doc_id, cand.start))
                out.append(Citation(p.doc_id, hit.title, cand.start, cand.end, text, p.passage_id,
                                    p.text[s0 - p.start : s1 - p.start], s0, s1))
        return out

    def fitted_scale(self) -> Callable[[float], float] | None:
        """What maps the reader's shown confidences back to its fitted curve's scale (``ReaderSettings.prior_shift``),
        where the conflict floor applies; None for the heuristic answerer, whose scale is the fitted one."""
        settings = self.answer_model.reader
        return settings.fitted_confidence if self.reader is not None and settings is not None else None

    def answer_from_hits(self, question: str, hits: Sequence[Hit], query_vector: np.ndarray) -> Answer:
        from retrieval.question import analyze_question

        asserted: set[tuple[str, str]] | None = None  # the reader's claims; the heuristic path makes none
        # The off-topic gate and its exception, fitted with the reader's settings; it measures retrieval, not the
        # reader, so either answerer uses it (none without fitted settings).
        gate = self.answer_model.reader
        min_cosine, min_coverage = (gate.min_question_cosine, gate.min_question_coverage) if gate is not None else (0.0, 1.0)
        subject = None
        if self.reader is not None and hits:
            analysis = analyze_question(question, self.tokenizer)
            subject = asked_subject(question, hits[: self.answer_model.reader.passages])
            values, calib, asserted = self._reader_values(question, hits, query_vector, subject)
        else:
            analysis, rows = collect_candidates(
                question, hits, self.sentence_cosines(query_vector, hits), self.idf, self.tokenizer, self.idf_scale
            )
            values, calib = select_answer(rows, self.answer_model), self.answer_model
        best_cosine = best_dense_cosine(hits, default=min_cosine)
        alternatives = [
            AnswerValue(v.text, v.key, calib.value_confidence(v, best_cosine), [m.citation for m in v.mentions])
            for v in values[:5]
        ]
        if asserted is not None:
            alternatives = most_confident_first(alternatives)
        # a question about a named subject the passages name is on topic: "what does CSTO stand for?" shares only
        # "CSTO" with the corpus, and "stand" weighed as an unseen word stopped it
        off_topic = subject is None and best_cosine < min_cosine and (
            best_keyword_coverage(analysis.keywords, hits, self.idf, self.tokenizer, self.idf_scale) <= min_coverage
        )
        if not values:  # said as off topic when the gate says so: nothing to read is not the corpus's silence
            return Answer(question, None, 0.0, hits=list(hits), question_type=analysis.qtype,
                          abstain_reason="off_topic" if off_topic else "no_candidate")
        best = alternatives[0]
        if off_topic or best.score < calib.threshold:
            return Answer(
                question, None, best.score, alternatives=alternatives, hits=list(hits), question_type=analysis.qtype,
                abstain_reason="off_topic" if off_topic else "low_confidence",
            )
        citations = _one_per_sentence(best.citations + self.supporting_citations(question, best, query_vector))
        missing = None
        if asserted is not None:  # the reader's values: how much of the question each one's sentences lack
            missing = sentence_missing(values[:5], analysis.content_keywords, self.idf, self.tokenizer)
        return Answer(
            question, best.text, best.score, citations=citations,
            alternatives=alternatives, hits=list(hits), question_type=analysis.qtype,
            conflicts=conflicting_values(best, alternatives[1:], analysis.qtype, asserted,
                                         self.search_config.conflict_min_ratio, self.fitted_scale(),
                                         missing),
        )


_NUMERIC_VALUE = re.compile(r"\d")


def clean_text(text: str) -> str:
    """Replace lone surrogates (invalid Unicode the tokenizers reject) so any Python str can be asked."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def conflicting_values(
    best: AnswerValue, others: Sequence[AnswerValue], qtype: str, asserted: Collection[tuple[str, str]] | None = None,
    min_ratio: float = CONFLICT_MIN_RATIO, fitted_scale: Callable[[float], float] | None = None,
    missing: Mapping[str, float] | None = None,
) -> list[AnswerValue]:
    """Other figures that other articles give for the same count or date question.

    A value conflicts when the question asks for a number or a date, both values contain a number and do not
    agree (see ``values_agree``), it is at least ``min_ratio`` times as likely as the answer, and at least one
    article states it without stating the answer. ``asserted`` (the trained reader's view): (normalised value,
    document) pairs where the document's passage gives the value as its own answer, i.e. the reader prefers it to
    "no answer" there; when given, that article must be one that does not state the answer. A figure its own
    article does not offer as the answer is another fact ("30,000 died in the 1990s war" for a question about the
    2020 war), not another source's answer. ``fitted_scale`` maps a shown confidence back to the scale
    ``min_ratio`` was chosen on (see ``ReaderSettings.prior_shift``). ``missing``: how much of the question
    each value's sentences lack, by normalised value (``reader_answer.sentence_missing``); when given, a conflicting
    value's sentences may lack rarer question words than the answer's by at most ``CONFLICT_MAX_EXTRA_MISSING``.
    """
    if qtype not in ("count", "when") or not _NUMERIC_VALUE.search(best.text):
        return []
    best_docs = {c.doc_id for c in best.citations}
    out = []
    for v in others:
        sources = {c.doc_id for c in v.citations} - best_docs
        if asserted is not None:
            sources &= {doc for key, doc in asserted if key == v.normalized}
        likely = likely_enough(v.score, best.score, min_ratio, fitted_scale)
        if missing and missing.get(v.normalized, 0.0) - missing.get(best.normalized, 0.0) > CONFLICT_MAX_EXTRA_MISSING:
            continue  # its sentence is about something else
        if sources and likely and _NUMERIC_VALUE.search(v.text) and not values_agree(best.text, v.text):
            out.append(AnswerValue(v.text, v.normalized, v.score, _one_per_sentence(v.citations)))
    return out


def likely_enough(
    value_score: float, answer_score: float, min_ratio: float, fitted_scale: Callable[[float], float] | None = None,
) -> bool:
    """The conflict floor: another value is at least ``min_ratio`` times as likely as the answer, both compared on
    the scale the floor was chosen on (``fitted_scale`` maps a shown confidence there; None: they are on it)."""
    if fitted_scale is not None:
        value_score, answer_score = fitted_scale(value_score), fitted_scale(answer_score)
    return value_score >= min_ratio * answer_score


_MONTH = (r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b")
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_FIGURE = re.compile(r"(\d+(?:,\d{3})*(?:\.\d+)?)(?:\s*(thousand|million|billion|trillion)\b)?")
_DECADE = re.compile(r"\b(\d{3}0)s\b")
# Units whose figures convert, in metres and seconds: a source may give "30 km" where another gives "20 miles"
_UNIT_SCALES: dict[str, tuple[tuple[str, float], ...]] = {
    "length": (("km|kilomet(?:er|re)s?", 1000.0), ("miles?", 1609.344), ("met(?:er|re)s?", 1.0),
               ("ft|feet|foot", 0.3048), ("yards?", 0.9144), ("inch(?:es)?", 0.0254), ("cm", 0.01), ("mm", 0.001)),
    "duration": (("seconds?", 1.0), ("minutes?", 60.0), ("hours?", 3600.0), ("days?", 86400.0),
                 ("weeks?", 604800.0), ("months?", 2629800.0), ("years?", 31557600.0), ("decades?", 315576000.0),
                 ("centur(?:y|ies)", 3155760000.0)),
}


def _unit_word(pattern: str) -> re.Pattern[str]:
    """``pattern`` as a whole word, also right after a figure ("10km")."""
    return re.compile(rf"(?<![a-z])(?:{pattern})(?![a-z])")


_UNIT_WORDS = {kind: tuple((_unit_word(p), scale) for p, scale in units) for kind, units in _UNIT_SCALES.items()}
_UNITS = {kind: _unit_word("|".join(p for p, _ in units)) for kind, units in _UNIT_SCALES.items()}
# How far apart two conversions of one value may be: a converted length is rounded ("32 km (20 miles)" is 19.9
# miles); durations convert exactly but for a month's or a year's days ("30 days" and "1 month")
CONVERSION_TOLERANCE = {"length": 0.1, "duration": 0.02}
# A rate ("48 km per hour") or an area ("1,000 sq ft") is not the length or duration its unit names
_RATE_OR_AREA = re.compile(r"\bper\b|/|\b(?:an?|each)\s+(?:second|minute|hour|day|week|month|year)\b|\bsquare\b|"
                           r"\bsq\b|\bcubic\b|[\u00b2\u00b3]")
_MEASURES = (  # first match wins: what kind of quantity a figure is
    ("percent", re.compile(r"%|\bper ?cent")),
    ("money", MONEY_MARK),
    ("clock", re.compile(r"\b\d{1,2}:\d{2}\b")),
    # a month, or a bare year that no unit or noun follows ("1994", "the early 1990s"; not "1500 people")
    ("date", re.compile(rf"{_MONTH}|\b(?:1[0-9]|20)\d{{2}}s?\b(?![,.]?\d)(?!\s*[a-z])")),
    ("duration", _UNITS["duration"]),
    ("length", _UNITS["length"]),
)


def _in_base_unit(text: str, kind: str) -> tuple[float, float] | None:
    """(the figure in metres or seconds, its unit's scale) for a value with one figure and one unit of ``kind``;
    None for anything else (a range, "1 hour 30 minutes", a rate, an area), which then compares figure by figure."""
    t = text.lower()
    if _RATE_OR_AREA.search(t) or any(pattern.search(t) for other, pattern in _UNITS.items() if other != kind):
        return None
    figures = _FIGURE.findall(t)
    units = [scale for word, scale in _UNIT_WORDS[kind] for _ in word.finditer(t)]
    if len(figures) != 1 or len(units) != 1:
        return None
    number, scale_word = figures[0]
    return float(number.replace(",", "")) * _SCALES.get(scale_word, 1.0) * units[0], units[0]


def measure_kind(text: str) -> str:
    """What a figure measures, from its unit or format: percent, money, clock, date, duration, length or count."""
    t = text.lower()
    return next((kind for kind, pattern in _MEASURES if pattern.search(t)), "count")


def _figures(text: str) -> set[str]:
    """The numbers a value states, scale words folded in ("1 million" = "1,000,000"; beside a currency also "$40m",
    "£1.2bn"), and its months."""
    t = expand_money_scales(text.lower())
    out = {f"{float(n.replace(',', '')) * _SCALES.get(scale, 1.0):.15g}" for n, scale in _FIGURE.findall(t)}
    return out | {m[:3] for m in re.findall(_MONTH, t)}


def _is_bare_year(text: str) -> bool:
    """A four-digit figure read as a date for want of anything else: no month, no decade ("1800")."""
    t = text.lower()
    return measure_kind(t) == "date" and not re.search(_MONTH, t) and not _DECADE.search(t)


def values_agree(a: str, b: str) -> bool:
    """Two numeric answers do not disagree when they measure different things ("$40 million", "25 percent"),
    when one's figures are all among the other's ("3,100" and "3,100 civilians"; "2023" and "Sept 21, 2023": one
    is more specific), when they give one length or duration in different units, within the rounding of a
    conversion ("20 miles" and "32 km", "48 hours" and "2 days"), or when one names a decade the other's year
    falls in ("the early 1990s" and "1991")."""
    kind_a, kind_b = measure_kind(a), measure_kind(b)
    if {kind_a, kind_b} == {"date", "count"} and _is_bare_year(a if kind_a == "date" else b):
        kind_a = kind_b = "count"  # "1800" beside "2,600 residents" is a count; beside a date it is a year
    kinds = {kind_a, kind_b}
    if len(kinds) > 1 and not (kinds <= {"count", "money"} or kinds <= {"count", "percent"}):
        return True  # a span may drop its unit ("20,000" for "$20,000"), so a bare count still compares
    kind = next(iter(kinds)) if len(kinds) == 1 else None
    if kind in _UNIT_SCALES:  # one length or duration in other units ("20 miles", "32 km"; not "10 km", "10 miles")
        xa, xb = _in_base_unit(a, kind), _in_base_unit(b, kind)
        if xa and xb and xa[1] != xb[1]:
            return abs(xa[0] - xb[0]) <= CONVERSION_TOLERANCE[kind] * max(xa[0], xb[0])
    fa, fb = _figures(a), _figures(b)
    if fa and fb and (fa <= fb or fb <= fa):
        return True
    for x, figures in ((a, fb), (b, fa)):
        for decade in _DECADE.findall(x):
            if any(f.isdigit() and len(f) == 4 and f[:3] == decade[:3] for f in figures):
                return True
    return False


def _one_per_sentence(citations: Sequence[Any]) -> list[Any]:
    seen, out = set(), []
    for c in citations:
        key = (c.doc_id, c.sentence_start)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out
