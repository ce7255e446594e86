"""Format detection and loading for seeds JSONL, SQuAD JSON and BEIR folders (tiny fixtures + real files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.evaluation.datasets import (
    DatasetFormatError,
    EvalDataset,
    dataset_fingerprint,
    detect_format,
    load_dataset,
)

# --------------------------------------------------------------------------- fixture writers


def write_seeds(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


SEEDS = [
    {"id": "q1", "question": "Who won?", "answers": ["Broncos", "Denver Broncos"], "docs": ["000_a.txt"]},
    {"id": "q2", "question": "Is there an answer?", "answers": [], "docs": []},
    {"id": "q3", "question": "Where?", "answers": ["Santa Clara"], "docs": ["000_a.txt", "001_b.txt"]},
]


def squad_obj(v2: bool = False) -> dict:
    qas_1 = [
        {
            "id": "s1",
            "question": "Which team won Super Bowl 50?",
            "answers": [
                {"text": "Denver Broncos", "answer_start": 0},
                {"text": "Denver Broncos", "answer_start": 0},
                {"text": "Broncos", "answer_start": 7},
            ],
        }
    ]
    if v2:
        qas_1.append({"id": "s2", "question": "Which team lost Super Bowl 51?", "answers": [], "is_impossible": True})
    return {
        "version": "v2.0" if v2 else "1.1",
        "data": [
            {
                "title": "Super_Bowl_50",
                "paragraphs": [
                    {"context": "Denver Broncos won Super Bowl 50.", "qas": qas_1},
                    {
                        "context": "The game was played in Santa Clara.",
                        "qas": [{"id": "s3", "question": "Where?", "answers": [{"text": "Santa Clara", "answer_start": 23}]}],
                    },
                ],
            },
            {
                "title": "Old Town",  # spaces kept in the doc id
                "paragraphs": [{"context": "A quiet place.", "qas": [{"id": "s4", "question": "What?", "answers": [{"text": "quiet place", "answer_start": 2}]}]}],
            },
        ],
    }


def write_squad(path: Path, v2: bool = False) -> Path:
    path.write_text(json.dumps(squad_obj(v2)), encoding="utf-8")
    return path


def write_beir(root: Path, splits: dict[str, str]) -> Path:
    (root / "qrels").mkdir(parents=True)
    corpus = [
        {"_id": "d1", "title": "T1", "text": "first abstract"},
        {"_id": "d2", "title": "", "text": "second abstract"},
        {"_id": "d3", "title": "T3", "text": "third abstract"},
    ]
    queries = [
        {"_id": "q9", "text": "not judged", "metadata": {}},
        {"_id": "q1", "text": "claim one", "metadata": {}},
        {"_id": "q2", "text": "claim two", "metadata": {}},
    ]
    (root / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus), encoding="utf-8")
    (root / "queries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in queries), encoding="utf-8")
    for name, body in splits.items():
        (root / "qrels" / f"{name}.tsv").write_text("query-id\tcorpus-id\tscore\n" + body, encoding="utf-8")
    return root


# --------------------------------------------------------------------------- detection


def test_detect_each_format(tmp_path: Path) -> None:
    assert detect_format(write_seeds(tmp_path / "q.jsonl", SEEDS)) == "seeds"
    assert detect_format(write_squad(tmp_path / "dev.json")) == "squad"
    assert detect_format(write_beir(tmp_path / "beir", {"test": "q1\td1\t1\n"})) == "beir"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("other.json", json.dumps({"data": [{"title": "no paragraphs"}]})),
        ("list.json", json.dumps([1, 2, 3])),
        ("broken.json", "{not json"),
        ("other.jsonl", json.dumps({"query": "x"}) + "\n"),
        ("empty.jsonl", ""),
        ("notes.txt", "hello"),
    ],
)
def test_detect_rejects_other_files(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DatasetFormatError) as info:
        detect_format(path)
    message = str(info.value)
    assert "\n" not in message
    assert "expected" in message or "not valid JSON" in message


def test_detect_rejects_plain_folder_and_missing_path(tmp_path: Path) -> None:
    (tmp_path / "corpus.jsonl").write_text("", encoding="utf-8")  # no queries.jsonl / qrels/
    with pytest.raises(DatasetFormatError, match="BEIR"):
        detect_format(tmp_path)
    with pytest.raises(DatasetFormatError, match="no such"):
        detect_format(tmp_path / "missing.json")
    assert issubclass(DatasetFormatError, ValueError)


# --------------------------------------------------------------------------- seeds


def test_load_seeds(tmp_path: Path) -> None:
    ds = load_dataset(write_seeds(tmp_path / "seed_questions.jsonl", SEEDS))
    assert isinstance(ds, EvalDataset)
    assert (ds.name, ds.kind, ds.documents) == ("seed_questions", "seeds", None)
    assert [q.qid for q in ds.questions] == ["q1", "q2", "q3"]
    q1, q2, q3 = ds.questions
    assert q1.answers == ["Broncos", "Denver Broncos"] and q1.answerable and q1.has_answers_field
    assert not q2.answerable
    assert q3.doc_ids == ["000_a.txt", "001_b.txt"]
    assert q3.relevance == {"000_a.txt": 1, "001_b.txt": 1}
    assert [q.qid for q in load_dataset(tmp_path / "seed_questions.jsonl", limit=2).questions] == ["q1", "q2"]


@pytest.mark.parametrize(
    ("bad_line", "fragment"),
    [
        ("{broken", "invalid JSON"),
        (json.dumps({"id": "x", "question": "", "answers": [], "docs": []}), "'question'"),
        (json.dumps({"id": "x", "question": "Q?", "answers": "Paris", "docs": []}), "'answers'"),
        (json.dumps({"id": "x", "question": "Q?", "answers": []}), "'docs'"),
        (json.dumps({"question": "Q?", "answers": [], "docs": []}), "'id'"),
        (json.dumps({"id": "q1", "question": "Q?", "answers": [], "docs": []}), "duplicate"),
        (json.dumps(["not", "an", "object"]), "object"),
    ],
)
def test_seeds_bad_line_names_line_number(tmp_path: Path, bad_line: str, fragment: str) -> None:
    path = tmp_path / "q.jsonl"
    good = json.dumps(SEEDS[0])
    path.write_text(f"{good}\n\n{bad_line}\n", encoding="utf-8")  # blank line 2 is skipped; bad line is 3
    with pytest.raises(DatasetFormatError, match=fragment) as info:
        load_dataset(path)
    assert ":3:" in str(info.value)


# --------------------------------------------------------------------------- SQuAD


def test_load_squad_v1(tmp_path: Path) -> None:
    ds = load_dataset(write_squad(tmp_path / "dev-v1.1.json"))
    assert (ds.name, ds.kind) == ("dev-v1.1", "squad")
    assert ds.documents is not None
    assert [d.doc_id for d in ds.documents] == ["Super_Bowl_50_0", "Super_Bowl_50_1", "Old Town_0"]
    assert ds.documents[1].title == "Super_Bowl_50"
    assert ds.documents[1].text == "The game was played in Santa Clara."
    q = ds.questions[0]
    assert q.answers == ["Denver Broncos", "Broncos"]  # unique, in order
    assert q.doc_ids == ["Super_Bowl_50_0"] and q.relevance == {"Super_Bowl_50_0": 1}
    assert [q.qid for q in ds.questions] == ["s1", "s3", "s4"]
    assert ds.questions[2].doc_ids == ["Old Town_0"]
    limited = load_dataset(tmp_path / "dev-v1.1.json", limit=1)
    assert len(limited.questions) == 1 and limited.documents is not None and len(limited.documents) == 3


def test_load_squad_v2_unanswerable(tmp_path: Path) -> None:
    ds = load_dataset(write_squad(tmp_path / "dev-v2.0.json", v2=True))
    by_id = {q.qid: q for q in ds.questions}
    assert by_id["s2"].answers == [] and not by_id["s2"].answerable
    assert by_id["s2"].doc_ids == ["Super_Bowl_50_0"]
    assert by_id["s1"].answerable


def test_split_only_for_beir(tmp_path: Path) -> None:
    with pytest.raises(DatasetFormatError, match="split"):
        load_dataset(write_squad(tmp_path / "dev.json"), split="test")


# --------------------------------------------------------------------------- BEIR


def test_load_beir_default_test_split(tmp_path: Path) -> None:
    root = write_beir(
        tmp_path / "mini",
        {"test": "q2\td3\t2\nq1\td1\t1\nq2\td2\t0\n", "train": "q9\td2\t1\n"},
    )
    ds = load_dataset(root)
    assert (ds.name, ds.kind, ds.split) == ("mini", "beir", "test")
    assert ds.documents is not None and [d.doc_id for d in ds.documents] == ["d1", "d2", "d3"]
    assert ds.documents[0].title == "T1" and ds.documents[0].text == "first abstract"
    # only judged queries, in queries.jsonl order
    assert [q.qid for q in ds.questions] == ["q1", "q2"]
    q2 = ds.questions[1]
    assert q2.question == "claim two"
    assert q2.relevance == {"d3": 2, "d2": 0}
    assert q2.doc_ids == ["d3"]  # only rel > 0
    assert q2.answers == [] and not q2.has_answers_field
    assert [q.qid for q in load_dataset(root, split="train").questions] == ["q9"]


def test_beir_split_selection(tmp_path: Path) -> None:
    single = write_beir(tmp_path / "single", {"dev": "q1\td1\t1\n"})
    assert load_dataset(single).split == "dev"
    many = write_beir(tmp_path / "many", {"dev": "q1\td1\t1\n", "train": "q2\td2\t1\n"})
    with pytest.raises(DatasetFormatError, match="dev, train"):
        load_dataset(many)
    with pytest.raises(DatasetFormatError, match="available: dev, train"):
        load_dataset(many, split="test")


def test_beir_bad_qrels(tmp_path: Path) -> None:
    unknown = write_beir(tmp_path / "unknown", {"test": "qX\td1\t1\n"})
    with pytest.raises(DatasetFormatError, match="unknown quer"):
        load_dataset(unknown)
    bad_score = write_beir(tmp_path / "score", {"test": "q1\td1\thigh\n"})
    with pytest.raises(DatasetFormatError, match=":2:"):
        load_dataset(bad_score)


def test_beir_without_judgements_or_with_a_query_twice_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetFormatError, match="judges no query"):
        load_dataset(write_beir(tmp_path / "empty", {"test": ""}))
    twice = write_beir(tmp_path / "twice", {"test": "q1\td1\t1\n"})
    with (twice / "queries.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"_id": "q1", "text": "claim one again"}) + "\n")
    with pytest.raises(DatasetFormatError, match="'q1' twice"):
        load_dataset(twice)


def test_squad_question_ids_are_unique(tmp_path: Path) -> None:
    obj = squad_obj()
    para = obj["data"][0]["paragraphs"][0]
    para["qas"].append(dict(para["qas"][0]))
    path = tmp_path / "dup.json"
    path.write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(DatasetFormatError, match="duplicate question id"):
        load_dataset(path)


def test_a_byte_order_mark_is_accepted_and_other_encodings_are_named(tmp_path: Path) -> None:
    squad = tmp_path / "bom.json"
    squad.write_text("\ufeff" + json.dumps(squad_obj()), encoding="utf-8")
    seeds = tmp_path / "bom.jsonl"
    seeds.write_text('\ufeff{"id": "q1", "question": "Where?", "answers": ["Yevlakh"], "docs": ["d"]}\n',
                     encoding="utf-8")
    beir = write_beir(tmp_path / "beir", {"test": "q1\td1\t1\n"})
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        (beir / name).write_bytes(b"\xef\xbb\xbf" + (beir / name).read_bytes())
    assert load_dataset(squad).questions and load_dataset(seeds).questions[0].qid == "q1"
    assert [q.qid for q in load_dataset(beir).questions] == ["q1"]
    utf16 = tmp_path / "utf16.jsonl"
    utf16.write_text('{"id": "q1", "question": "Where?", "answers": [], "docs": []}\n', encoding="utf-16")
    with pytest.raises(DatasetFormatError, match="not UTF-8 text"):
        load_dataset(utf16)
    (beir / "queries.jsonl").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(DatasetFormatError, match="not UTF-8 text"):
        load_dataset(beir)


# --------------------------------------------------------------------------- fingerprint


def test_dataset_fingerprint(tmp_path: Path) -> None:
    f = write_squad(tmp_path / "a.json")
    fp = dataset_fingerprint(f)
    assert len(fp) == 16 and all(c in "0123456789abcdef" for c in fp)
    assert dataset_fingerprint(f) == fp
    f.write_text(f.read_text(encoding="utf-8") + " ", encoding="utf-8")
    assert dataset_fingerprint(f) != fp

    root = write_beir(tmp_path / "b", {"test": "q1\td1\t1\n"})
    fp_dir = dataset_fingerprint(root)
    (root / "qrels" / "test.tsv").rename(root / "qrels" / "dev.tsv")  # same bytes, other name
    assert dataset_fingerprint(root) != fp_dir


# --------------------------------------------------------------------------- real files (skipped when absent)

BENCH = Path(__file__).resolve().parents[2] / ".." / "shared" / "bench-data"
SQUAD_V1 = BENCH / "squad" / "dev-v1.1.visible.json"
SQUAD_V2 = BENCH / "squad" / "dev-v2.0.visible.json"
SCIFACT = BENCH / "scifact"


@pytest.mark.skipif(not SQUAD_V1.is_file(), reason="shared SQuAD v1.1 dev not present")
def test_real_squad_v1(bench_data: Path) -> None:
    ds = load_dataset(bench_data / "squad" / "dev-v1.1.visible.json")
    assert detect_format(SQUAD_V1) == "squad"
    assert ds.documents is not None and len(ds.documents) == 1469
    assert len(ds.questions) == 7753
    assert all(q.answerable for q in ds.questions)
    assert len({d.doc_id for d in ds.documents}) == 1469


@pytest.mark.skipif(not SQUAD_V2.is_file(), reason="shared SQuAD v2.0 dev not present")
def test_real_squad_v2(bench_data: Path) -> None:
    ds = load_dataset(bench_data / "squad" / "dev-v2.0.visible.json")
    assert len(ds.questions) == 7982
    assert ds.documents is not None and len(ds.documents) == 786
    assert sum(not q.answerable for q in ds.questions) > 0


@pytest.mark.skipif(not SCIFACT.is_dir(), reason="shared SciFact not present")
def test_real_scifact_train(bench_data: Path) -> None:
    ds = load_dataset(bench_data / "scifact", split="train")
    assert detect_format(SCIFACT) == "beir"
    assert ds.split == "train"
    assert len(ds.questions) == 809
    assert ds.documents is not None and len(ds.documents) == 5183
    assert sum(len(q.relevance) for q in ds.questions) == 919
    assert len(load_dataset(SCIFACT, split="train", limit=10).questions) == 10
