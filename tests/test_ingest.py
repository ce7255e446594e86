from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.ingest import (
    CorpusError,
    IngestReport,
    find_content_spans,
    guess_title,
    load_corpus,
    paragraph_spans,
    split_rough_sentences,
    wrap_width,
)


def _content(text: str) -> str:
    return " | ".join(text[a:b] for a, b in find_content_spans(text))


def test_seed_boilerplate_is_dropped_and_offsets_point_into_the_original(seeds_dir: Path) -> None:
    docs = {d.doc_id: d for d in load_corpus(seeds_dir)}
    assert len(docs) == 5
    for doc in docs.values():
        original = (seeds_dir / doc.source).read_text(encoding="utf-8")
        assert doc.text == original
        kept = " ".join(original[a:b] for a, b in doc.content_spans)
        for furniture in ("Your support", "Join our commenting forum", "Exit mobile version", "Source: http",
                          "Latest News", "Advertisement\n", "Spread the love", "Close this search box"):
            assert furniture not in kept, (doc.doc_id, furniture)
    independent = docs["000_962b6d648c5af0e4"]
    kept = " ".join(independent.text[a:b] for a, b in independent.content_spans)
    assert "The Independent is trusted" not in kept
    assert "Azerbaijan's president on Wednesday hailed" in kept  # glued to the appeal in the original line
    assert "Moscow deployed about 2,000 peacekeeping troops" in kept


def test_titles_skip_datelines(seeds_dir: Path) -> None:
    docs = {d.doc_id: d for d in load_corpus(seeds_dir)}
    assert docs["001_44ea67f2eb9612b6"].title == "Azerbaijan claims victory after Karabakh separatists surrender"
    assert docs["003_7eacf7dc17d8c290"].title.startswith("Azerbaijan says it has retaken")


def test_general_rules_on_unseen_furniture() -> None:
    text = (
        "Big storm hits the coastal town of Exampleville overnight\n"
        "Home | News | Sport | Weather\n"
        "Subscribe to our newsletter and never miss a story from us.\n"
        "The storm destroyed 40 houses in Exampleville on Monday, officials said.\n"
        "• Share\n"
        "Read more: https://example.com/storm\n"
        "\"We lost everything,\" said a resident who asked not to be named.\n"
    )
    content = _content(text)
    assert "destroyed 40 houses" in content
    assert "We lost everything" in content  # first person inside a quote is reporting, not an appeal
    assert "newsletter" not in content and "Home | News" not in content and "Share" not in content
    assert "example.com" not in content


_NEWSLETTER_BLOCK = (
    "Tens of thousands of people marched through Valencia on Saturday to demand the regional leader's resignation.\n"
    "Sign up to This is Europe\n"
    "Free weekly newsletter\n"
    "The most pressing stories and debates for Europeans from identity to economics to the environment\n"
    "Privacy Notice: Newsletters may contain info about charities, online ads, and content funded by outside "
    "parties. For more information see our Privacy Policy. We use Google reCaptcha to protect our website.\n"
    "after newsletter promotion\n"
    "The Spanish government has approved an aid package worth 10.6bn euros for those affected.\n"
)


def test_a_newsletter_notice_goes_whole() -> None:
    """A paragraph that mostly addresses the reader goes whole; the prose around the block stays, and so does the
    block's unpunctuated tagline (a rule for taglines also took leads that lack their last full stop)."""
    content = _content(_NEWSLETTER_BLOCK)
    assert "marched through Valencia" in content and "aid package" in content
    assert "Privacy Notice" not in content and "most pressing stories" in content


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        # one appeal sentence in three is not a notice: the paragraph's other sentences stay
        ("The army said 40 soldiers died. Officials gave no figure. Read our live coverage of the war here.\n",
         ("40 soldiers died", "Officials gave no figure")),
        # punctuated prose between a subheading and an appeal is the article's, not the appeal's
        ("Rescue efforts\nSoldiers searched the ravine for the missing on Tuesday, officials said.\n"
         "Please support our journalism by donating today, we need your help to keep going.\n",
         ("searched the ravine",)),
        # an unpunctuated line with furniture on both sides is left to the furniture rule (kept at this length)
        ("Share\nThe most pressing stories and debates for Europeans from identity to economics to the environment\n"
         "Advertisement\n", ("most pressing stories",)),
    ],
)
def test_prose_next_to_an_appeal_stays(text: str, kept: tuple[str, ...]) -> None:
    content = _content(text)
    assert all(k in content for k in kept), content
    assert "our" not in content.split() and "we" not in content.split()


_PAGE_WITH_CREDITS = (
    "We use cookies to improve your experience on our site. By continuing to browse, you agree to our use of cookies.\n"
    "Home | News | World | Business | Sport | Weather\n"
    "Wildfire destroys 300 homes in Greek island village\n"
    "FILE - Firefighters battle a blaze near the village of Vati on the island of Rhodes, Greece, July 23, 2023. "
    "(AP Photo/Petros Giannakouris, File)\n"
    "A wildfire fanned by strong winds destroyed about 300 homes on the Greek island of Evia on Wednesday.\n"
    "Rescue workers evacuate residents in Limni on Wednesday afternoon near the harbour. Photo: Marco Rossi/Reuters\n"
    "Copyright 2024 The Associated Press. All rights reserved. This material may not be published or broadcast.\n"
)


def test_captions_with_their_credit_and_copyright_notices_are_furniture() -> None:
    """A caption's facts are its picture's (a file photo from another day answered "when?" with July 23, 2023)."""
    title, span = guess_title(_PAGE_WITH_CREDITS)
    assert title == "Wildfire destroys 300 homes in Greek island village"  # not the cookie notice, not the menu
    content = " | ".join(_PAGE_WITH_CREDITS[a:b] for a, b in find_content_spans(_PAGE_WITH_CREDITS, span))
    assert "destroyed about 300 homes" in content and "Wildfire destroys" in content
    for gone in ("cookies", "Home | News", "July 23, 2023", "Marco Rossi", "Associated Press"):
        assert gone not in content, gone


@pytest.mark.parametrize(
    "paragraph",
    [
        "Copyright law protects the expression of ideas, not the ideas themselves, in most of the world.",
        "The photo, taken in 1936, shows the crowd in front of the stadium before the opening ceremony.",
        "Turnout was 64% (up from 58%), the commission said on Monday in its final report of the count.",
        "The board said on Monday that all rights reserved for the founders had lapsed in 2019 after the sale.",
        "Copyright 1976 legislation still governs most of the disputes, the judge said on Tuesday in her ruling.",
        "© 2024 was a record year for the company, which sold 2 million cars in Europe and Asia.",
        "Investigators now have one question about the photo: who was behind the camera on that night?",
        "Protesters held up the picture: a smiling boy, 12, killed in the strike on Sunday!",
        "Shares of the company rose 4% after its results beat forecasts (the photo-sharing app)",
    ],
)
def test_prose_that_looks_like_a_notice_or_a_credit_stays(paragraph: str) -> None:
    assert find_content_spans(paragraph) == ((0, len(paragraph)),)
    assert guess_title(paragraph)[0] == paragraph


_INTERVIEW = (
    "A conversation with glaciologist Ingrid Holm about the Jostedal glacier\n"
    "Ingrid Holm has spent 25 years measuring the retreat of the Jostedal glacier in western Norway.\n"
    "What did your latest measurements show?\n"
    "The glacier lost 42 metres of length last year. That is the biggest retreat since we started measuring.\n"
    "Why is it retreating so fast?\n"
    "Mostly because summers are warmer. We also had very little snow in the winter of 2022.\n"
    "How do you take the measurements?\n"
    "We walk to the front of the glacier every October with a GPS receiver.\n"
)


@pytest.mark.parametrize("labelled", [False, True])
def test_an_interview_keeps_its_questions_and_first_person_answers(labelled: bool) -> None:
    """Questions put to "you" and answers in the first person are the interview, not a publisher's appeal (its
    answers were dropped, and "how many metres did the glacier lose?" abstained)."""
    text = _INTERVIEW
    if labelled:
        lines = text.splitlines()
        text = "\n".join(lines[:2] + [("Q: " if k % 2 == 0 else "A: ") + line for k, line in enumerate(lines[2:])])
    content = _content(text)
    for kept in ("lost 42 metres", "since we started measuring", "We also had very little snow",
                 "How do you take the measurements?", "We walk to the front"):
        assert kept in content, kept


def test_one_question_to_the_reader_is_a_prompt_not_an_interview() -> None:
    text = (
        "Storm closes schools across the county for a second day on Tuesday\n"
        "Schools across the county stayed closed on Tuesday after the storm brought down power lines.\n"
        "Were you affected by the storm?\n"
        "We would like to hear from you. Send us your photos and stories via our form.\n"
    )
    content = _content(text)
    assert "stayed closed on Tuesday" in content
    assert "hear from you" not in content and "Send us" not in content


def test_reader_prompts_are_not_an_interview_and_furniture_stays_furniture() -> None:
    """Two questions to the reader followed by appeals are prompts: the appeals go. In an interview, furniture
    after a question is still furniture."""
    prompts = (
        "Rescue teams searched for the missing on Wednesday, the regional government said.\n"
        "Have you been affected by the floods in Spain?\n"
        "We would like to hear from you. Share your photos and videos with us using our form.\n"
        "Can you spare a minute to support our journalism?\n"
        "We rely on readers like you to keep our reporting free. Please give what you can today.\n"
    )
    content = _content(prompts)
    assert "searched for the missing" in content
    assert "hear from you" not in content and "readers like you" not in content
    interview = _INTERVIEW.replace("How do you take the measurements?\n", "How do you take the measurements?\n"
                                   "Advertisement\n") + "Copyright 2024 The Associated Press. All rights reserved.\n"
    content = _content(interview)
    assert "lost 42 metres" in content and "Advertisement" not in content and "Associated Press" not in content


def test_half_a_paragraph_in_the_first_person_keeps_its_other_half() -> None:
    text = ("The minister resigned on Friday after the report was published, officials said. Speaking to reporters, "
            "she said: We did everything we could. We will cooperate with the inquiry. The inquiry will report in "
            "March.\n")
    content = _content(text)
    assert "The minister resigned on Friday" in content and "The inquiry will report in March." in content


@pytest.mark.parametrize("headline", ["What we know about the deadly floods in Valencia",
                                      "Everything you need to know about the new tax rules"])
def test_a_headline_may_say_we_or_you(headline: str) -> None:
    text = headline + "\nThe floods killed more than 200 people in the Valencia region last week, officials said.\n"
    title, span = guess_title(text)
    assert title == headline
    assert text[find_content_spans(text, span)[0][0] :].startswith(headline)  # kept as content, as a title is


def _wrapped(text: str, width: int, between: str) -> str:
    import textwrap

    return between.join(textwrap.fill(line, width) for line in text.splitlines() if line.strip())


@pytest.mark.parametrize("width", [60, 72, 80, 100])
@pytest.mark.parametrize("between", ["\n", "\n\n"])  # paragraphs with or without a blank line between them
def test_hard_wrapped_articles_keep_their_content(seeds_dir: Path, width: int, between: str) -> None:
    """Wrapped lines are short and unpunctuated, the shape of page furniture; read line by line, four fifths of a
    wrapped article was dropped. Read as the paragraphs the wrapping broke, it keeps what the unwrapped file keeps."""
    for path in sorted(seeds_dir.glob("*.txt")):
        original = path.read_text(encoding="utf-8")
        wrapped = _wrapped(original, width, between)
        assert wrap_width(original) is None  # one paragraph a line: nothing to join
        assert wrap_width(wrapped) is not None and wrap_width(wrapped) <= width
        kept = sum(b - a for a, b in find_content_spans(wrapped, guess_title(wrapped)[1]))
        kept_unwrapped = sum(b - a for a, b in find_content_spans(original, guess_title(original)[1]))
        assert kept >= 0.95 * kept_unwrapped, (path.name, kept, kept_unwrapped)


def test_paragraph_spans_join_only_what_wrapping_broke() -> None:
    paragraph = ("Both sides said talks on reintegrating the breakaway territory into the rest of Azerbaijan would "
                 "be held on Thursday in the city of Yevlakh, officials in Baku and Stepanakert told reporters.")
    text = _wrapped(paragraph, 40, "") + "\n- a list item\nShort last line.\n"
    spans = [text[a:b] for a, b in paragraph_spans(text)]
    assert [" ".join(s.split()) for s in spans] == [paragraph, "- a list item",
                                                    "Short last line."]
    assert paragraph_spans("one line\ntwo lines\n") == [(0, 8), (9, 18)]  # too few lines to call it wrapped


def test_paragraph_spans_keep_headings_rules_tables_and_list_items_apart() -> None:
    body = ("Both sides said talks on reintegrating the breakaway territory into the rest of Azerbaijan would be held "
            "on Thursday in the city of Yevlakh, officials in Baku and Stepanakert told reporters late on Wednesday.")
    wrapped = _wrapped(body + "\n" + body, 44, "\n")
    heads = ("## Talks on reintegration will be held in Yevlakh on Thursday", "Talks in Yevlakh\n=========", "-----")
    for head in heads:
        text = head + "\n" + wrapped + "\n"
        spans = [" ".join(text[a:b].split()) for a, b in paragraph_spans(text)]
        assert " ".join(head.split()) not in " ".join(spans[1:]), head  # the heading is never joined to the body
    rows = [("Azerbaijan", 10), ("Armenia", 20), ("Russia", 3)] * 3
    table = "\n".join(f"| {name:<30} | {n:>6} |" for name, n in rows)
    assert len(paragraph_spans(wrapped + "\n" + table)) >= 9
    items = wrapped + "\n- first item of a list\n- second item\n"
    assert [" ".join(items[a:b].split()) for a, b in paragraph_spans(items)][-2:] == ["- first item of a list",
                                                                                   "- second item"]


def test_paragraph_spans_join_across_no_break_spaces_and_dashes_and_balanced_wrapping() -> None:
    sentence = ("Azerbaijan said its forces had taken positions near Stepanakert in the contested region – a claim the "
                "separatists denied – and that talks in\u00a0Nagorno-Karabakh would follow on Thursday.")
    for width in range(46, 80, 2):
        one = _wrapped(sentence, width, "")
        tight = "\n".join([one] * 4)  # no blank lines: joined only where the next word did not fit
        assert all(" ".join(tight[a:b].split()).endswith("Thursday.") for a, b in paragraph_spans(tight))
        assert len(paragraph_spans("\n\n".join([one] * 4))) == 4  # blank lines: every run of lines is one
    # balanced wrapping (GNU fmt aims short of the width): lines end early, blank lines still set paragraphs apart
    uneven = "\n\n".join(_wrapped(sentence + " " + sentence, width, "") for width in (66, 72, 64, 72, 68))
    assert len(paragraph_spans(uneven)) == 5


def test_text_written_a_sentence_a_line_is_not_wrapped(seeds_dir: Path) -> None:
    import random

    sentences = [s for path in sorted(seeds_dir.glob("*.txt")) for s in
                 (lambda t: [t[a:b] for a, b in split_rough_sentences(t)])(path.read_text(encoding="utf-8"))
                 if 40 < len(s) < 120]
    rng = random.Random(0)
    assert all(wrap_width("\n".join(rng.sample(sentences, rng.randint(4, 10)))) is None for _ in range(300))


def test_rough_sentences_split_glued_text() -> None:
    text = "It makes all the difference.Azerbaijan said Mr. Smith left. Then 2 more came."
    sents = [text[a:b] for a, b in split_rough_sentences(text)]
    assert sents == ["It makes all the difference.", "Azerbaijan said Mr. Smith left.", "Then 2 more came."]


def test_guess_title_falls_back_to_first_line() -> None:
    assert guess_title("Short\n\nbody")[0] == "Short"
    assert guess_title("")[0] == ""


BODY = ("Civil disobedience is the active refusal of a citizen to obey certain laws of a government. It has been "
        "used in many nonviolent resistance movements.\n")
FIRST_LINE_OF_BODY = BODY[:60]  # what the headline rule falls back to: the body's first paragraph


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Civil disobedience\n\n" + BODY, "Civil disobedience"),  # short, and named again in the prose below
        ("# Civil disobedience\n\n" + BODY, "Civil disobedience"),  # a Markdown heading, whatever its length
        ("## Civil disobedience in many movements ##\n" + BODY, "Civil disobedience in many movements"),
        ("# C#\n\n" + BODY, "C#"),  # a closing run of hashes needs a space before it
    ],
)
def test_short_titles_above_body_prose(text: str, title: str) -> None:
    got, span = guess_title(text)
    assert got == title
    assert span is not None and span[0] == 0
    assert find_content_spans(text, span)[0][0] == 0  # the title line is kept as content, as a headline is


@pytest.mark.parametrize(
    "first",
    [
        "Advertisement",  # furniture the prose below never names
        "By Reuters",  # a byline
        "12 March 2024",  # a dateline
        "Civil disobedience.",  # a sentence
        "civil disobedience",  # not capitalised like a title
        "Civil disobedience\n\nMenu",  # no prose right under it
    ],
)
def test_short_first_lines_that_are_not_titles(first: str) -> None:
    text = first + "\n\n" + BODY
    assert guess_title(text)[0].startswith(FIRST_LINE_OF_BODY)


def test_bad_files_are_skipped_and_counted(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("A headline that has enough words\nThe body says something useful here today.\n")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 ol\xe9 \xff\xfe".encode("latin-1"))
    (tmp_path / "binary.md").write_bytes(b"\x00\x01\x02PNG")
    (tmp_path / "empty.txt").write_text("   \n")
    (tmp_path / "ignored.pdf").write_bytes(b"%PDF")
    (tmp_path / "docs.jsonl").write_text(
        json.dumps({"id": "j1", "title": "T", "text": "Body text of a JSON record with words."}) + "\n"
        + "not json\n"
        + json.dumps({"id": "j1", "text": "duplicate id"}) + "\n"
    )
    report = IngestReport()
    docs = load_corpus(tmp_path, report)
    assert sorted(d.doc_id for d in docs) == ["good", "j1"]
    reasons = dict(report.skipped)
    assert reasons["latin1.txt"] == "not UTF-8 text"
    assert reasons["binary.md"] == "not UTF-8 text"
    assert reasons["empty.txt"] == "empty file"
    assert "docs.jsonl:2" in reasons and "docs.jsonl:3" in reasons


def test_missing_and_empty_corpus_raise(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope")
    with pytest.raises(CorpusError, match="no usable"):
        load_corpus(tmp_path)


def test_symlink_out_of_corpus_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("A secret headline with many words\nSecret body text that must not be indexed here.\n")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ok.txt").write_text("A normal headline with many words\nNormal body text that is fine to index.\n")
    (corpus / "link.txt").symlink_to(outside)
    assert [d.doc_id for d in load_corpus(corpus)] == ["ok"]


@pytest.mark.parametrize(
    "sentence",
    [
        "The US imposed new sanctions on Russia on Tuesday, the Treasury Department said in a statement.",
        "'We will respond,' the minister said on Tuesday in the capital.",  # straight single quotes
        "'We don't know where they are,' a relative told reporters at the border crossing.",  # an apostrophe inside
        "«We will win», the commander told reporters in the capital on Monday.",
        "In 2023, 1,234,567 people (12.5%) voted; 2,345,678 (23.4%) did not, and 3,456 (0.1%) spoiled ballots.",
    ],
)
def test_news_sentences_are_content(sentence: str) -> None:
    """"US" is the country, quoted first person is a source speaking, and a sentence of figures is text."""
    assert find_content_spans(sentence) == ((0, len(sentence)),)


@pytest.mark.parametrize(
    "sentence",
    [
        "Please support our journalism by donating today, we need your help to keep going.",
        "At such a critical moment in US history, we need reporters on the ground.",
        "WE NEED YOUR SUPPORT TO KEEP OUR JOURNALISM FREE FOR EVERYONE TODAY.",
        "★★★★★ ★★★★ ★★★ ★★ ★ ———— ==== ++++ //// ★★★★★ ★★★★ ★★★ ★★ ★ ———— ==== ++++ ////",
    ],
)
def test_appeals_and_symbol_rows_are_still_dropped(sentence: str) -> None:
    assert find_content_spans(sentence) == ()


@pytest.mark.parametrize(
    "sentence",
    [
        "Here, we provide an overview of the mechanisms by which the pathway governs stem cell function.",
        "We describe recent findings that associate the signalling pathway with pathological conditions.",
        "Moreover, we will discuss future directions and questions that currently remain unanswered.",
        "Our results support a model in which the protein is degraded in lysosomes of aged liver cells.",
        "We spoke to residents of the village, who said the water had risen overnight.",
    ],
)
def test_first_person_without_an_appeal_is_content(sentence: str) -> None:
    """Ingest rules 8: an author's "we" (abstracts, first-person reporting) is content; rules 7 took it for a
    publisher's appeal and dropped 231 of SciFact's 5,183 abstracts whole."""
    assert find_content_spans(sentence) == ((0, len(sentence)),)


@pytest.mark.parametrize(
    "sentence",
    [
        "Every contribution, however big or small, helps us keep reporting without paywalls.",
        "Whether it's investigating the money or producing our latest documentary, we know how important it is.",
        "Read our live coverage of the war here.",
        "We use Google reCaptcha to protect our website.",
    ],
)
def test_first_person_with_an_appeal_is_dropped(sentence: str) -> None:
    assert find_content_spans(sentence) == ()


def test_an_abstract_written_in_the_first_person_is_kept_whole() -> None:
    abstract = (
        "Activin/Nodal growth factors control a broad range of biological processes, including early cell fate "
        "decisions. Here, we provide an overview of the mechanisms by which the pathway governs stem cell function. "
        "We describe recent findings that associate it with pathological conditions. Moreover, we will discuss "
        "future directions and questions that currently remain unanswered."
    )
    assert find_content_spans(abstract) == ((0, len(abstract)),)
