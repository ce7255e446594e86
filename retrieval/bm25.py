"""BM25 (Okapi) lexical scorer over precomputed postings, pure numpy.

Scores equal ``rank_bm25.BM25Okapi`` (same idf floor, same avgdl) but every
per-document term weight is computed once at index time, so a query is one
``np.bincount`` over the postings of its terms instead of a Python loop over
all documents. scipy is deliberately not imported: it is slow to import and
this module sits on the query path.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from retrieval.tokenize import TokenizerConfig, tokenize

__all__ = ["BM25", "FORMAT_VERSION", "INDEX_FILES"]

FORMAT_VERSION = 1

_INDPTR = "bm25_indptr.npy"
_DOC_IDS = "bm25_doc_ids.npy"
_WEIGHTS = "bm25_weights.npy"
_DOC_LENGTHS = "bm25_doc_lengths.npy"
_VOCAB = "bm25_vocab.json"
_PARAMS = "bm25_params.json"

#: Every file :meth:`BM25.save` writes, in write order.
INDEX_FILES: tuple[str, ...] = (_INDPTR, _DOC_IDS, _WEIGHTS, _DOC_LENGTHS, _VOCAB, _PARAMS)

_EMPTY_IDS = np.empty(0, dtype=np.int64)
_EMPTY_SCORES = np.empty(0, dtype=np.float64)


class BM25:
    """Okapi BM25 over a growing set of documents.

    The index is term-major CSR: the postings of term ``t`` are
    ``doc_ids[indptr[t]:indptr[t+1]]`` with precomputed ``weights`` (idf times
    the saturated, length-normalised tf). Weights are float64 so scores agree
    with rank_bm25 to well below 1e-6.
    """

    def __init__(
        self,
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
        tokenizer: TokenizerConfig | None = None,
    ) -> None:
        k1, b, epsilon = float(k1), float(b), float(epsilon)
        # `not x >= 0` also rejects NaN.
        if not k1 >= 0 or k1 == float("inf"):
            raise ValueError(f"k1 must be a finite number >= 0, got {k1}")
        if not 0.0 <= b <= 1.0:
            raise ValueError(f"b must be in [0, 1], got {b}")
        if not epsilon >= 0 or epsilon == float("inf"):
            raise ValueError(f"epsilon must be a finite number >= 0, got {epsilon}")
        if tokenizer is not None and not isinstance(tokenizer, TokenizerConfig):
            raise ValueError(f"tokenizer must be a TokenizerConfig, got {type(tokenizer).__name__}")
        self._k1 = k1
        self._b = b
        self._epsilon = epsilon
        self._tokenizer = tokenizer if tokenizer is not None else TokenizerConfig()

        self._vocab: dict[str, int] = {}
        self._indptr = np.zeros(1, dtype=np.int64)
        self._doc_ids = np.empty(0, dtype=np.int32)
        self._weights = np.empty(0, dtype=np.float64)
        self._doc_lengths = np.empty(0, dtype=np.int32)
        self._avgdl = 0.0
        # Raw term frequencies, parallel to _doc_ids; needed to re-weight on
        # add(). None for an index loaded from disk (read-only).
        self._tfs: np.ndarray | None = np.empty(0, dtype=np.int32)

    # -- parameters -------------------------------------------------------

    @property
    def k1(self) -> float:
        return self._k1

    @property
    def b(self) -> float:
        return self._b

    @property
    def epsilon(self) -> float:
        return self._epsilon

    @property
    def tokenizer(self) -> TokenizerConfig:
        """The config used for documents and (string) queries alike."""
        return self._tokenizer

    @property
    def avgdl(self) -> float:
        """Mean document length in tokens, as rank_bm25 computes it."""
        return self._avgdl

    @property
    def vocabulary_size(self) -> int:
        return len(self._vocab)

    def __len__(self) -> int:
        return int(self._doc_lengths.shape[0])

    def __repr__(self) -> str:
        return (
            f"BM25(k1={self._k1}, b={self._b}, epsilon={self._epsilon}, "
            f"docs={len(self)}, vocabulary={self.vocabulary_size})"
        )

    # -- indexing ---------------------------------------------------------

    def add(self, texts: Sequence[str]) -> None:
        """Tokenise and index ``texts``; document ids continue from ``len(self)``."""
        if isinstance(texts, str):
            raise ValueError("add() takes a sequence of texts, not a single str")
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):  # tokenize(None) is [], which would index an empty document silently
                raise TypeError(f"text {i} is a {type(t).__name__}, expected a str")
        cfg = self._tokenizer
        self.add_tokens([tokenize(t, cfg) for t in texts])

    def add_tokens(self, docs: Sequence[Sequence[str]]) -> None:
        """Index pre-tokenised documents (the caller owns tokenisation)."""
        if isinstance(docs, str):
            raise ValueError("add_tokens() takes a sequence of token lists, not a str")
        if self._tfs is None:
            raise RuntimeError(
                "this index was loaded from disk and is read-only; rebuild it from texts to add"
            )
        docs = list(docs)
        if not docs:
            return
        n_old = len(self)
        vocab = self._vocab
        term_ids: list[int] = []
        doc_ids: list[int] = []
        tfs: list[int] = []
        lengths: list[int] = []
        for offset, doc in enumerate(docs):
            if isinstance(doc, str):
                raise ValueError(f"document {n_old + offset} is a str, expected a token list")
            counts = Counter(doc)
            lengths.append(sum(counts.values()))
            d = n_old + offset
            for term, tf in counts.items():
                tid = vocab.get(term)
                if tid is None:
                    tid = vocab[term] = len(vocab)
                term_ids.append(tid)
                doc_ids.append(d)
                tfs.append(tf)

        n_total = n_old + len(docs)
        if n_total > np.iinfo(np.int32).max:
            raise ValueError("too many documents for int32 doc ids")

        # Old postings are (term, doc)-ordered and new docs have larger ids, so a
        # stable sort by term alone gives (term, doc) order for the union.
        old_terms = np.repeat(
            np.arange(self._indptr.shape[0] - 1, dtype=np.int64), np.diff(self._indptr)
        )
        all_terms = np.concatenate([old_terms, np.asarray(term_ids, dtype=np.int64)])
        all_docs = np.concatenate([self._doc_ids, np.asarray(doc_ids, dtype=np.int32)])
        all_tfs = np.concatenate([self._tfs, np.asarray(tfs, dtype=np.int32)])
        order = np.argsort(all_terms, kind="stable")
        all_terms = all_terms[order]
        self._doc_ids = np.ascontiguousarray(all_docs[order])
        self._tfs = np.ascontiguousarray(all_tfs[order])
        self._doc_lengths = np.concatenate(
            [self._doc_lengths, np.asarray(lengths, dtype=np.int32)]
        )
        df = np.bincount(all_terms, minlength=len(vocab))
        self._indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(df, out=self._indptr[1:])
        self._reweight(df)

    def _reweight(self, df: np.ndarray) -> None:
        """Recompute idf and all posting weights (N and avgdl changed)."""
        n_docs = len(self)
        # rank_bm25: avgdl = total tokens / number of docs.
        self._avgdl = int(self._doc_lengths.sum(dtype=np.int64)) / n_docs
        idf = self._idf(df.astype(np.float64), n_docs)
        if self._doc_ids.shape[0] == 0:
            self._weights = np.empty(0, dtype=np.float64)
            return
        k1, b = self._k1, self._b
        tf = self._tfs.astype(np.float64)
        dl = self._doc_lengths[self._doc_ids].astype(np.float64)
        # Same operation order as rank_bm25.BM25Okapi.get_scores.
        norm = tf + k1 * (1 - b + b * dl / self._avgdl)
        term_idf = np.repeat(idf, np.diff(self._indptr))
        self._weights = term_idf * (tf * (k1 + 1) / norm)

    def _idf(self, df: np.ndarray, n_docs: int) -> np.ndarray:
        """rank_bm25's idf: negative values become epsilon * mean(raw idf)."""
        if df.shape[0] == 0:
            return df
        idf = np.log(n_docs - df + 0.5) - np.log(df + 0.5)
        average_idf = float(idf.sum()) / idf.shape[0]
        idf[idf < 0] = self._epsilon * average_idf
        return idf

    def idf_map(self) -> dict[str, float]:
        """Each vocabulary term's idf (as used in scoring): the answerer weighs question keywords with it."""
        df = np.diff(np.asarray(self._indptr)).astype(np.float64)
        idf = self._idf(df, len(self)) if len(self) else df
        return {term: float(idf[tid]) for term, tid in self._vocab.items()}

    # -- querying ---------------------------------------------------------

    def _query_postings(self, query: str | Sequence[str]) -> tuple[np.ndarray, np.ndarray] | None:
        """Doc ids and multiplicity-weighted weights of the query's known terms."""
        if isinstance(query, (bytes, bytearray)) or query is None:
            raise TypeError(f"a query is a str or a sequence of tokens, got {type(query).__name__}")
        tokens = tokenize(query, self._tokenizer) if isinstance(query, str) else query
        vocab = self._vocab
        counts: dict[int, int] = {}
        for tok in tokens:
            tid = vocab.get(tok)
            if tid is not None:
                counts[tid] = counts.get(tid, 0) + 1
        if not counts:
            return None
        indptr, doc_ids, weights = self._indptr, self._doc_ids, self._weights
        if len(counts) == 1:
            ((tid, mult),) = counts.items()
            lo, hi = int(indptr[tid]), int(indptr[tid + 1])
            w = weights[lo:hi]
            return doc_ids[lo:hi], (w * mult if mult != 1 else w)
        id_parts = []
        w_parts = []
        for tid, mult in counts.items():
            lo, hi = int(indptr[tid]), int(indptr[tid + 1])
            id_parts.append(doc_ids[lo:hi])
            w = weights[lo:hi]
            w_parts.append(w * mult if mult != 1 else w)
        return np.concatenate(id_parts), np.concatenate(w_parts)

    def get_scores(self, query: str | Sequence[str]) -> np.ndarray:
        """BM25 score of every document (float64, length ``len(self)``).

        A str is tokenised with the index's config; a sequence is taken as tokens.
        """
        n = len(self)
        postings = self._query_postings(query)
        if postings is None:
            return np.zeros(n, dtype=np.float64)
        ids, w = postings
        return np.bincount(ids, weights=w, minlength=n)

    def search(self, query: str | Sequence[str], k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (doc indices int64, scores) best first; ties go to the lower index.

        Only documents containing at least one query term are returned, so there
        may be fewer than ``k`` results, and none when no query term is known.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"k must be an int, got {type(k).__name__}")
        n = len(self)
        if k <= 0 or n == 0:
            return _EMPTY_IDS.copy(), _EMPTY_SCORES.copy()
        postings = self._query_postings(query)
        if postings is None:
            return _EMPTY_IDS.copy(), _EMPTY_SCORES.copy()
        ids, w = postings
        scores = np.bincount(ids, weights=w, minlength=n)
        matched = np.zeros(n, dtype=bool)
        matched[ids] = True
        cand = np.flatnonzero(matched)
        if cand.shape[0] > k:
            cand_scores = scores[cand]
            part = np.argpartition(cand_scores, cand.shape[0] - k)[cand.shape[0] - k :]
            # Keep every candidate tied with the k-th best, so the tie-break
            # below (not argpartition's arbitrary choice) decides who is in.
            cand = cand[cand_scores >= cand_scores[part].min()]
        cand_scores = scores[cand]
        order = np.lexsort((cand, -cand_scores))[:k]
        return cand[order].astype(np.int64, copy=False), cand_scores[order]

    def search_batch(
        self, queries: Sequence[str | Sequence[str]], k: int = 10
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`search` for each query, in order."""
        if isinstance(queries, str):
            raise ValueError("search_batch() takes a sequence of queries, not a single str")
        return [self.search(q, k) for q in queries]

    # -- persistence ------------------------------------------------------

    def save(self, directory: str | Path) -> list[str]:
        """Write the index into an existing ``directory``; returns the file names.

        Files are written to a temporary name and renamed, so overwriting the
        directory an index was memory-mapped from is safe.
        """
        directory = Path(directory)
        if not directory.is_dir():
            raise FileNotFoundError(f"not an existing directory: {directory}")
        params = {
            "format_version": FORMAT_VERSION,
            "k1": self._k1,
            "b": self._b,
            "epsilon": self._epsilon,
            "tokenizer": self._tokenizer.to_dict(),
            "num_docs": len(self),
            "vocabulary_size": self.vocabulary_size,
            "num_postings": int(self._doc_ids.shape[0]),
            "avgdl": self._avgdl,
        }
        arrays = {
            _INDPTR: np.asarray(self._indptr, dtype=np.int64),
            _DOC_IDS: np.asarray(self._doc_ids, dtype=np.int32),
            _WEIGHTS: np.asarray(self._weights, dtype=np.float64),
            _DOC_LENGTHS: np.asarray(self._doc_lengths, dtype=np.int32),
        }
        for name, arr in arrays.items():
            tmp = directory / (name + ".tmp")
            with open(tmp, "wb") as fh:
                np.save(fh, arr, allow_pickle=False)
            os.replace(tmp, directory / name)
        # Vocabulary as a list: position == term id.
        terms = [""] * len(self._vocab)
        for term, tid in self._vocab.items():
            terms[tid] = term
        for name, obj in ((_VOCAB, terms), (_PARAMS, params)):
            tmp = directory / (name + ".tmp")
            tmp.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, directory / name)
        return list(INDEX_FILES)

    @classmethod
    def load(cls, directory: str | Path, mmap: bool = True) -> BM25:
        """Load an index written by :meth:`save` (read-only: no further ``add``).

        With ``mmap`` the postings stay on disk and are paged in on demand.
        """
        directory = Path(directory)
        missing = [name for name in INDEX_FILES if not (directory / name).is_file()]
        if missing:
            raise ValueError(f"BM25 index at {directory} is missing {', '.join(missing)}")
        try:
            params = json.loads((directory / _PARAMS).read_text(encoding="utf-8"))
            terms = json.loads((directory / _VOCAB).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"BM25 index at {directory}: unreadable JSON ({exc})") from exc
        if not isinstance(params, dict):
            raise ValueError(f"BM25 index at {directory}: {_PARAMS} is not an object")
        version = params.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"BM25 index at {directory}: format version {version!r}, expected {FORMAT_VERSION}"
            )
        try:
            model = cls(
                k1=params["k1"],
                b=params["b"],
                epsilon=params["epsilon"],
                tokenizer=TokenizerConfig.from_dict(params["tokenizer"]),
            )
            num_docs = int(params["num_docs"])
            avgdl = float(params["avgdl"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"BM25 index at {directory}: bad {_PARAMS} ({exc!r})") from exc
        if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
            raise ValueError(f"BM25 index at {directory}: {_VOCAB} is not a list of strings")
        vocab = {term: i for i, term in enumerate(terms)}
        if len(vocab) != len(terms):
            raise ValueError(f"BM25 index at {directory}: duplicate terms in {_VOCAB}")

        mode = "r" if mmap else None
        arrays: dict[str, np.ndarray] = {}
        expected = {
            _INDPTR: np.int64,
            _DOC_IDS: np.int32,
            _WEIGHTS: np.float64,
            _DOC_LENGTHS: np.int32,
        }
        for name, dtype in expected.items():
            try:
                arr = np.load(directory / name, allow_pickle=False, mmap_mode=mode)
            except (OSError, ValueError) as exc:
                raise ValueError(f"BM25 index at {directory}: cannot read {name} ({exc})") from exc
            if arr.ndim != 1 or arr.dtype != dtype:
                raise ValueError(
                    f"BM25 index at {directory}: {name} should be 1-d {np.dtype(dtype)}, "
                    f"got {arr.ndim}-d {arr.dtype}"
                )
            arrays[name] = arr
        indptr, doc_ids = arrays[_INDPTR], arrays[_DOC_IDS]
        weights, doc_lengths = arrays[_WEIGHTS], arrays[_DOC_LENGTHS]

        def bad(msg: str) -> ValueError:
            return ValueError(f"BM25 index at {directory}: inconsistent files: {msg}")

        if indptr.shape[0] != len(terms) + 1:
            raise bad(f"{indptr.shape[0]} indptr entries for {len(terms)} terms")
        if doc_lengths.shape[0] != num_docs:
            raise bad(f"{doc_lengths.shape[0]} doc lengths for num_docs={num_docs}")
        if doc_ids.shape[0] != weights.shape[0]:
            raise bad(f"{doc_ids.shape[0]} doc ids but {weights.shape[0]} weights")
        if int(indptr[0]) != 0 or int(indptr[-1]) != doc_ids.shape[0]:
            raise bad(f"indptr spans [{int(indptr[0])}, {int(indptr[-1])}], "
                      f"postings hold {doc_ids.shape[0]}")
        if "num_postings" in params and int(params["num_postings"]) != doc_ids.shape[0]:
            raise bad(f"{doc_ids.shape[0]} postings, params say {params['num_postings']}")
        if indptr.shape[0] > 1 and bool(np.any(np.diff(indptr) < 0)):
            raise bad("indptr is not non-decreasing")
        if doc_ids.shape[0] and not mmap:
            # O(postings); skipped for mmap so loading stays cheap.
            if int(doc_ids.min()) < 0 or int(doc_ids.max()) >= num_docs:
                raise bad("doc ids out of range")

        model._vocab = vocab
        model._indptr = indptr
        model._doc_ids = doc_ids
        model._weights = weights
        model._doc_lengths = doc_lengths
        model._avgdl = avgdl
        model._tfs = None
        return model

    def params(self) -> dict[str, Any]:
        """Parameters and sizes, for logging."""
        return {
            "k1": self._k1,
            "b": self._b,
            "epsilon": self._epsilon,
            "tokenizer": self._tokenizer.to_dict(),
            "num_docs": len(self),
            "vocabulary_size": self.vocabulary_size,
            "avgdl": self._avgdl,
        }
