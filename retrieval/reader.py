"""The trained span reader at query time: onnxruntime + tokenizers, no torch.

Each passage is paired with the question ([CLS] question [SEP] passage [SEP]), cut into strided windows, and the
model's start/end logits give the best span per window; the [CLS] logits give the window's "no answer" score.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.ingest import paragraph_spans

__all__ = ["ReaderMissing", "ReaderSpan", "SpanReader", "bundled_reader_paths", "trim_span"]

MAX_LEN = 256
STRIDE = 128
MAX_ANSWER_TOKENS = 30
# The question must leave room for the passage in a 256-token window; longer questions are cut for the reader.
MAX_QUESTION_TOKENS = 64


_OPENERS = {"(": ")", "[": "]", "\u201c": "\u201d", '"': '"'}
_CLOSERS = {close: open_ for open_, close in _OPENERS.items()}


def _unmatched(span: str, mark: str, partner: str) -> bool:
    """Whether ``mark`` (an opener at the start of ``span`` or a closer at its end) has no partner inside it: "(a) (b"
    opens with a bracket it closes."""
    if mark == partner:  # straight quotes pair up by count
        return span.count(mark) % 2 == 1
    depth = 0
    for ch in span if mark in _OPENERS else reversed(span):
        depth += (ch == mark) - (ch == partner)
        if depth == 0:
            return False
    return True


_INSIDE_CLOSER = frozenset(".,!?")  # punctuation that sits inside a closing quote: "... groups.\u201d"
_CUT_ABBREVIATION = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")  # "p.m", "U.S": an abbreviation short of its last "."
# Abbreviations whose full stop is part of a name that often ends a sentence ("Apple Inc.", "Main St.").
_NAME_ABBREVIATIONS = frozenset({"Inc", "Ltd", "Co", "Corp", "Bros", "Jr", "Sr", "St"})


class ReaderMissing(RuntimeError):
    """The trained reader was asked for (``answerer="reader"``) but is not installed or has no fitted settings."""


def _owns_full_stop(word: str) -> bool:
    """Whether ``word``'s final "." belongs to it: an initial ("J."), an abbreviation ("U.S.", "p.m.", "Inc."); not a
    figure's ("7.5%.", "$1.2bn."), whose inner "." is a decimal point."""
    core = word[:-1].lstrip("".join(_OPENERS))
    return len(word) <= 2 or bool(_CUT_ABBREVIATION.fullmatch(core)) or core in _NAME_ABBREVIATIONS


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """``text[start:end]`` without edge punctuation that belongs to the sentence, not the answer: a trailing comma
    or full stop (not an abbreviation's: "p.m.", "U.S."), a closing quote or bracket it never opened, an opening one
    it never closes. Wordpiece spans often take these along ("Azerbaijan's internal affair\".") and as often stop
    one token short of an abbreviation's last full stop ("1 p.m" for "1 p.m."), which is put back, or of the quote
    they opened inside ("mistaken them for \u201cillegal groups" for "... groups.\u201d"), which is closed. A span
    never splits a letter from its combining marks: the tokenizer strips accents, so in decomposed (NFD) text its
    offsets stop before a final "\u0301" ("Socie\u0301te" for "Socie\u0301te\u0301")."""
    while end < len(text) and unicodedata.combining(text[end]):
        end += 1
    while 0 < start < end and unicodedata.combining(text[start]):
        start -= 1
    words = text[start:end].split()
    if (
        words and end < len(text) and text[end] == "."
        and (end + 1 == len(text) or not text[end + 1].isalnum())  # "U.S" in "U.S.A." is not cut short
        and _CUT_ABBREVIATION.fullmatch(words[-1].lstrip("".join(_OPENERS)))
    ):
        end += 1
    while True:
        while end > start and text[end - 1].isspace():
            end -= 1
        while start < end and text[start].isspace():
            start += 1
        if end <= start:
            return start, start
        span = text[start:end]
        first, last, last_word = span[0], span[-1], span.split()[-1]
        if last in ",;:" or (last == "." and not _owns_full_stop(last_word)):
            end -= 1
        elif last in _CLOSERS and _unmatched(span, last, _CLOSERS[last]):
            end -= 1
        elif first in _OPENERS and _unmatched(span, first, _OPENERS[first]):
            start += 1
        else:
            return start, _close_inner_quote(text, start, end)


def _close_inner_quote(text: str, start: int, end: int) -> int:
    """``end`` moved past the closing mark (and a "." / "," / "!" / "?" just inside it) of a quote or bracket the span
    opened inside but stopped short of; unchanged when that mark does not follow at once."""
    span = text[start:end]
    for opener, closer in _OPENERS.items():
        still_open = _unmatched(span, opener, closer) if opener == closer else span.rfind(opener) > span.rfind(closer)
        if opener not in span[1:] or not still_open:
            continue
        tail = end + 1 if text[end : end + 1] in _INSIDE_CLOSER else end
        if text[tail : tail + 1] == closer:
            return tail + 1
    return end


@dataclass(frozen=True)
class ReaderSpan:
    """A span of ``contexts[context_index]`` with its start+end logit score and the window's no-answer score."""

    context_index: int
    start: int
    end: int
    text: str
    score: float
    null_score: float


def bundled_reader_paths() -> tuple[Path, Path] | None:
    """The shipped int8 reader and its tokenizer, or None when this install has none."""
    from importlib import resources

    base = Path(str(resources.files("retrieval").joinpath("data")))
    model, tok = base / "reader-int8.onnx", base / "reader-tokenizer.json"
    return (model, tok) if model.is_file() and tok.is_file() else None


class SpanReader:
    """Extractive reader over ONNX start/end logits."""

    def __init__(self, onnx_path: str | Path, tokenizer_path: str | Path, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.question_tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.question_tokenizer.no_padding()
        self.question_tokenizer.no_truncation()
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_LEN, stride=STRIDE, strategy="only_second")

    def _cut_question(self, question: str) -> str:
        question = question[:2_000]  # 64 tokens never need more characters than this, whatever the script
        offsets = self.question_tokenizer.encode(question, add_special_tokens=False).offsets
        return question[: offsets[MAX_QUESTION_TOKENS - 1][1]] if len(offsets) > MAX_QUESTION_TOKENS else question

    def _windows(self, question: str, contexts: Sequence[str]) -> list[tuple[int, object]]:
        out = []
        for ci, ctx in enumerate(contexts):
            enc = self.tokenizer.encode(question, ctx)
            out.append((ci, enc))
            out.extend((ci, ov) for ov in enc.overflowing)
        return out

    def read(self, question: str, contexts: Sequence[str], top_n: int = 3, per_window: int = 3) -> list[ReaderSpan]:
        """The best ``top_n`` spans over all contexts, best first (score = start logit + end logit).

        Each window gives its ``per_window`` best spans that are left with text after ``trim_span`` and stay inside
        one paragraph (a line, or the lines of hard-wrapped text that wrapping broke: ``ingest.paragraph_spans``, the
        rule ingest reads the article by): a candidate that fails either is replaced by the window's next best."""
        if not contexts or not question.strip():
            return []
        question = self._cut_question(question)
        windows = self._windows(question, contexts)
        width = max(len(w.ids) for _ci, w in windows)
        ids = np.zeros((len(windows), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for r, (_ci, w) in enumerate(windows):
            n = len(w.ids)
            ids[r, :n] = w.ids
            mask[r, :n] = 1
            types[r, :n] = w.type_ids
        starts, ends = self.session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        paragraphs = [paragraph_spans(ctx, starts_mid_line=True) for ctx in contexts]
        spans: list[ReaderSpan] = []
        for r, (ci, w) in enumerate(windows):
            seq = w.sequence_ids
            ctx_tokens = np.asarray([k for k, sid in enumerate(seq) if sid == 1])
            if ctx_tokens.size == 0:
                continue
            s_log, e_log = starts[r], ends[r]
            null = float(s_log[0] + e_log[0])
            top_s = ctx_tokens[np.argsort(-s_log[ctx_tokens])[:20]]
            top_e = ctx_tokens[np.argsort(-e_log[ctx_tokens])[:20]]
            found = []
            for a in top_s:
                for b in top_e:
                    if a <= b < a + MAX_ANSWER_TOKENS:
                        found.append((float(s_log[a] + e_log[b]), int(a), int(b)))
            found.sort(reverse=True)
            kept = 0
            for score, a, b in found:
                if kept == per_window:
                    break
                c0, c1 = trim_span(contexts[ci], w.offsets[a][0], w.offsets[b][1])
                if c1 <= c0 or not any(p0 <= c0 and c1 <= p1 for p0, p1 in paragraphs[ci]):  # in one paragraph
                    continue
                kept += 1
                spans.append(ReaderSpan(ci, c0, c1, contexts[ci][c0:c1], score, null))
        spans.sort(key=lambda s: -s.score)
        seen, unique = set(), []
        for s in spans:
            key = (s.context_index, s.start, s.end)
            if key not in seen:
                seen.add(key)
                unique.append(s)
        return unique[:top_n]
