"""Load the three benchmark formats (seed questions JSONL, SQuAD JSON, BEIR folder) into one shape.

Evaluation code then never branches on the file format: every question carries its gold answers (if the
format has any), the documents that hold them, and graded relevance for retrieval metrics.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from retrieval.evaluation.metrics import real_golds

__all__ = [
    "ARTICLE_PARTS",
    "DatasetFormatError",
    "DatasetKind",
    "EvalDocument",
    "EvalQuestion",
    "EvalDataset",
    "detect_format",
    "load_dataset",
    "READER_PARTS",
    "article_half",
    "article_part",
    "dataset_fingerprint",
    "questions_of_articles",
    "subset_by_articles",
]

DatasetKind = Literal["seeds", "squad", "beir"]


class DatasetFormatError(ValueError):
    """The path is not one of the supported formats, or a record in it is malformed (one-line message)."""


@dataclass(frozen=True)
class EvalDocument:
    """One retrievable unit: a SQuAD paragraph or a BEIR corpus entry."""

    doc_id: str
    title: str
    text: str


@dataclass
class EvalQuestion:
    """A question with its gold answers, gold documents and graded relevance (qrels)."""

    qid: str
    question: str
    answers: list[str]
    doc_ids: list[str]
    relevance: dict[str, int]
    has_answers_field: bool = True  # False for BEIR: no answer strings, so `answerable` means nothing there

    @property
    def answerable(self) -> bool:
        """True when gold answers exist (ones that survive SQuAD normalisation: not a lone "."); only meaningful
        when has_answers_field."""
        return bool(real_golds(self.answers))


@dataclass
class EvalDataset:
    """Questions plus, for SQuAD and BEIR, the corpus they are asked over (seeds: corpus is a separate folder)."""

    name: str
    kind: DatasetKind
    questions: list[EvalQuestion]
    documents: list[EvalDocument] | None = None
    split: str | None = None  # the BEIR qrels split that was loaded; None for the other kinds


# --------------------------------------------------------------------------- detection


def _is_beir_dir(path: Path) -> bool:
    return (path / "corpus.jsonl").is_file() and (path / "queries.jsonl").is_file() and (path / "qrels").is_dir()


def _read_json(path: Path) -> Any:
    try:
        with path.open("r", encoding="utf-8-sig") as fh:
            return json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetFormatError(f"{path}: not valid JSON ({exc})") from None


def _looks_like_squad(obj: Any) -> bool:
    data = obj.get("data") if isinstance(obj, dict) else None
    return (
        isinstance(data, list)
        and bool(data)
        and all(isinstance(a, dict) and isinstance(a.get("paragraphs"), list) for a in data)
    )


def _first_jsonl_object(path: Path) -> Any:
    with _text_errors(path), path.open("r", encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, start=1):
            if line.strip():
                try:
                    return json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DatasetFormatError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
    return None


@contextmanager
def _text_errors(path: Path) -> Iterator[None]:
    """A file that is not UTF-8 text (Latin-1, UTF-16, binary) is a one-line DatasetFormatError."""
    try:
        yield
    except UnicodeDecodeError:
        raise DatasetFormatError(f"{path}: not UTF-8 text") from None


def _detect(path: Path) -> tuple[DatasetKind, Any]:
    """Format plus the parsed SQuAD object when it had to be read anyway (so it is parsed only once)."""
    expected = (
        "expected a BEIR folder (corpus.jsonl, queries.jsonl, qrels/), a SQuAD .json (top-level 'data' list of "
        "articles with 'paragraphs') or a seeds .jsonl (objects with 'question' and 'answers')"
    )
    if not path.exists():
        raise DatasetFormatError(f"{path}: no such file or folder; {expected}")
    if path.is_dir():
        if _is_beir_dir(path):
            return "beir", None
        raise DatasetFormatError(f"{path}: folder is not BEIR; {expected}")
    suffix = path.suffix.lower()
    if suffix == ".json":
        obj = _read_json(path)
        if _looks_like_squad(obj):
            return "squad", obj
        raise DatasetFormatError(f"{path}: JSON is not SQuAD; {expected}")
    if suffix == ".jsonl":
        first = _first_jsonl_object(path)
        if isinstance(first, dict) and "question" in first and "answers" in first:
            return "seeds", None
        raise DatasetFormatError(f"{path}: first JSONL record lacks 'question'/'answers'; {expected}")
    raise DatasetFormatError(f"{path}: unsupported file type {suffix or '(none)'}; {expected}")


def detect_format(path: Path) -> DatasetKind:
    """Which loader applies to path; DatasetFormatError when none does."""
    return _detect(Path(path))[0]


# --------------------------------------------------------------------------- seeds JSONL


def _str_list(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _load_seeds(path: Path) -> list[EvalQuestion]:
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    with _text_errors(path), path.open("r", encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetFormatError(f"{where}: invalid JSON ({exc.msg})") from None
            if not isinstance(rec, dict):
                raise DatasetFormatError(f"{where}: expected a JSON object")
            qid = rec.get("id")
            if isinstance(qid, bool) or not isinstance(qid, (str, int)) or str(qid) == "":
                raise DatasetFormatError(f"{where}: 'id' must be a non-empty string")
            qid = str(qid)
            if qid in seen:
                raise DatasetFormatError(f"{where}: duplicate id {qid!r}")
            question = rec.get("question")
            if not isinstance(question, str) or not question.strip():
                raise DatasetFormatError(f"{where}: 'question' must be a non-empty string")
            answers = _str_list(rec.get("answers"))
            if answers is None:
                raise DatasetFormatError(f"{where}: 'answers' must be a list of strings")
            docs = _str_list(rec.get("docs"))
            if docs is None:
                raise DatasetFormatError(f"{where}: 'docs' must be a list of strings")
            seen.add(qid)
            docs = list(dict.fromkeys(docs))
            questions.append(
                EvalQuestion(
                    qid=qid,
                    question=question,
                    answers=list(dict.fromkeys(answers)),
                    doc_ids=docs,
                    relevance={d: 1 for d in docs},
                )
            )
    return questions


# --------------------------------------------------------------------------- SQuAD


def _load_squad(path: Path, obj: Any) -> tuple[list[EvalQuestion], list[EvalDocument]]:
    documents: list[EvalDocument] = []
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    for a_idx, article in enumerate(obj["data"]):
        title = article.get("title")
        if not isinstance(title, str):
            raise DatasetFormatError(f"{path}: article {a_idx} has no string 'title'")
        for p_idx, para in enumerate(article["paragraphs"]):
            context = para.get("context") if isinstance(para, dict) else None
            if not isinstance(context, str):
                raise DatasetFormatError(f"{path}: {title!r} paragraph {p_idx} has no string 'context'")
            doc_id = f"{title}_{p_idx}"
            documents.append(EvalDocument(doc_id=doc_id, title=title, text=context))
            for qa in para.get("qas", []):
                if not isinstance(qa, dict) or "id" not in qa or not isinstance(qa.get("question"), str):
                    raise DatasetFormatError(f"{path}: bad question in {doc_id!r}: needs 'id' and 'question'")
                if str(qa["id"]) in seen:
                    raise DatasetFormatError(f"{path}: duplicate question id {str(qa['id'])!r}")
                seen.add(str(qa["id"]))
                if qa.get("is_impossible", False):
                    answers: list[str] = []
                else:
                    raw = qa.get("answers", [])
                    if not isinstance(raw, list) or not all(
                        isinstance(a, dict) and isinstance(a.get("text"), str) for a in raw
                    ):
                        raise DatasetFormatError(f"{path}: question {qa['id']!r} has malformed 'answers'")
                    answers = list(dict.fromkeys(a["text"] for a in raw))
                questions.append(
                    EvalQuestion(
                        qid=str(qa["id"]),
                        question=qa["question"],
                        answers=answers,
                        doc_ids=[doc_id],
                        relevance={doc_id: 1},
                    )
                )
    return questions, documents


# --------------------------------------------------------------------------- BEIR


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with _text_errors(path), path.open("r", encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetFormatError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
            if not isinstance(rec, dict) or "_id" not in rec:
                raise DatasetFormatError(f"{path}:{lineno}: expected an object with '_id'")
            out.append(rec)
    return out


def _pick_split(path: Path, split: str | None) -> str:
    """Requested split, else "test", else the only one; errors list what exists."""
    available = sorted(p.stem for p in (path / "qrels").glob("*.tsv"))
    if split is not None:
        if split in available:
            return split
        raise DatasetFormatError(f"{path}: no qrels split {split!r}; available: {', '.join(available) or 'none'}")
    if "test" in available:
        return "test"
    if len(available) == 1:
        return available[0]
    raise DatasetFormatError(
        f"{path}: choose a split; available: {', '.join(available) or 'none (qrels/ has no .tsv)'}"
    )


def _read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with _text_errors(path), path.open("r", encoding="utf-8-sig", newline="") as fh:
        for lineno, row in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
            if not row or not "".join(row).strip():
                continue
            if lineno == 1 and row[0].strip().lower() in {"query-id", "query_id", "qid"}:
                continue
            if len(row) < 3:
                raise DatasetFormatError(f"{path}:{lineno}: expected query-id, corpus-id, score")
            try:
                score = int(row[2])
            except ValueError:
                raise DatasetFormatError(f"{path}:{lineno}: score {row[2]!r} is not an integer") from None
            qrels.setdefault(row[0].strip(), {})[row[1].strip()] = score
    return qrels


def _load_beir(path: Path, split: str) -> tuple[list[EvalQuestion], list[EvalDocument]]:
    documents = [
        EvalDocument(doc_id=str(r["_id"]), title=str(r.get("title") or ""), text=str(r.get("text") or ""))
        for r in _read_jsonl(path / "corpus.jsonl")
    ]
    qrels = _read_qrels(path / "qrels" / f"{split}.tsv")
    if not qrels:
        raise DatasetFormatError(f"{path}: qrels/{split}.tsv judges no query: nothing to evaluate")
    texts: dict[str, str] = {}
    for r in _read_jsonl(path / "queries.jsonl"):
        if str(r["_id"]) in texts:
            raise DatasetFormatError(f"{path}: queries.jsonl has the id {str(r['_id'])!r} twice")
        texts[str(r["_id"])] = str(r.get("text") or "")
    missing = [q for q in qrels if q not in texts]
    if missing:
        raise DatasetFormatError(f"{path}: qrels/{split}.tsv names {len(missing)} unknown queries, e.g. {missing[0]!r}")
    questions = [
        EvalQuestion(
            qid=qid,
            question=text,
            answers=[],
            doc_ids=[d for d, rel in qrels[qid].items() if rel > 0],
            relevance=dict(qrels[qid]),
            has_answers_field=False,
        )
        for qid, text in texts.items()
        if qid in qrels
    ]
    return questions, documents


# --------------------------------------------------------------------------- entry points


def load_dataset(path: Path | str, split: str | None = None, limit: int | None = None) -> EvalDataset:
    """Detect the format and load it; `limit` keeps the first N questions (the corpus stays whole)."""
    path = Path(path)
    kind, parsed = _detect(path)
    if split is not None and kind != "beir":
        raise DatasetFormatError(f"{path}: split={split!r} applies only to BEIR folders, this is {kind}")
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0")
    documents: list[EvalDocument] | None
    chosen: str | None = None
    if kind == "seeds":
        questions, documents = _load_seeds(path), None
    elif kind == "squad":
        questions, documents = _load_squad(path, parsed)
    else:
        chosen = _pick_split(path, split)
        questions, documents = _load_beir(path, chosen)
    if limit is not None:
        questions = questions[:limit]
    name = path.name if path.is_dir() else path.stem
    return EvalDataset(name=name, kind=kind, questions=questions, documents=documents, split=chosen)


def dataset_fingerprint(path: Path) -> str:
    """First 16 hex of sha256 over the bytes (folders: every file's relative path and bytes, sorted) - cache key."""
    path = Path(path)
    h = hashlib.sha256()
    if path.is_dir():
        files = sorted((p for p in path.rglob("*") if p.is_file()), key=lambda p: p.relative_to(path).as_posix())
        for p in files:
            rel = p.relative_to(path).as_posix().encode("utf-8")
            h.update(len(rel).to_bytes(8, "little") + rel)
            h.update(p.stat().st_size.to_bytes(8, "little"))
            _hash_file(h, p)
    else:
        _hash_file(h, path)
    return h.hexdigest()[:16]


def _hash_file(h: Any, path: Path) -> None:
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)


# the article parts whose unanswerable questions the reader may be trained on (see ``article_part``)
READER_PARTS = ("reader", "reader-b")
ARTICLE_PARTS = ("heldout", "calibration", *READER_PARTS)


def _title_bit(text: str) -> int:
    """A fixed pseudo-random bit of ``text`` (the lowest bit of its SHA-256)."""
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest(), 16) % 2


def article_half(title: str) -> str:
    """Deterministic split of SQuAD articles: 'calibration' (fitting thresholds) or 'heldout' (reporting)."""
    return "calibration" if _title_bit(title) == 0 else "heldout"


def article_part(title: str) -> str:
    """Split of SQuAD articles: 'heldout' (reporting only); 'reader' and 'reader-b' (the reader's real "no answer"
    training questions: stages 1-3 used 'reader' alone, two articles with 374 such questions; stage 5 adds
    'reader-b', half of the former calibration articles); 'calibration' (answerer weights, confidence curve and
    threshold). Only unanswerable questions are ever trained on."""
    if article_half(title) == "heldout":
        return "heldout"
    if _title_bit("reader:" + title) == 0:
        return "reader"
    return "reader-b" if _title_bit("fold:" + title) == 1 else "calibration"


def questions_of_articles(dataset: EvalDataset, keep: Callable[[str], bool]) -> EvalDataset:
    """The questions of the articles whose title ``keep`` accepts, over all of the dataset's documents: the corpus
    (and its cached index) stays whole, only what is scored changes."""
    if dataset.documents is None:
        raise DatasetFormatError("questions_of_articles needs a dataset with documents")
    titles = {d.doc_id: d.title for d in dataset.documents}
    questions = [q for q in dataset.questions if any(d in titles and keep(titles[d]) for d in q.doc_ids)]
    return EvalDataset(name=dataset.name, kind=dataset.kind, questions=questions, documents=dataset.documents,
                       split=dataset.split)


def subset_by_articles(dataset: EvalDataset, keep: Callable[[str], bool], name: str) -> EvalDataset:
    """The questions and documents of the articles whose title ``keep`` accepts."""
    if dataset.documents is None:
        raise DatasetFormatError("subset_by_articles needs a dataset with documents")
    docs = [d for d in dataset.documents if keep(d.title)]
    doc_ids = {d.doc_id for d in docs}
    questions = [q for q in dataset.questions if any(d in doc_ids for d in q.doc_ids)]
    return EvalDataset(name=name, kind=dataset.kind, questions=questions, documents=docs, split=dataset.split)
