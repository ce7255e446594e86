from __future__ import annotations

import pytest

from retrieval.tokenize import (
    ENGLISH_STOPWORDS,
    TOKENIZER_RULES_VERSION,
    TokenizerConfig,
    tokenize,
    tokenize_many,
)

PLAIN = TokenizerConfig(stopwords="none", stemmer="none")


def test_config_defaults_and_validation() -> None:
    cfg = TokenizerConfig()
    assert (cfg.lowercase, cfg.stopwords, cfg.stemmer) == (True, "english", "light")
    with pytest.raises(ValueError, match="stopwords"):
        TokenizerConfig(stopwords="french")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="stemmer"):
        TokenizerConfig(stemmer="porter")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lowercase"):
        TokenizerConfig(lowercase="yes")  # type: ignore[arg-type]
    assert cfg.rules == TOKENIZER_RULES_VERSION == 4
    for bad in (0, 5, True, "2"):
        with pytest.raises(ValueError, match="rules"):
            TokenizerConfig(rules=bad)  # type: ignore[arg-type]


def test_config_is_frozen_and_round_trips() -> None:
    cfg = TokenizerConfig(lowercase=False, stopwords="none", stemmer="none")
    with pytest.raises(AttributeError):
        cfg.lowercase = True  # type: ignore[misc]
    assert TokenizerConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError):
        TokenizerConfig.from_dict({"lowercase": True, "bogus": 1})
    # saved before rules were versioned: the rules of that time, not today's
    assert TokenizerConfig.from_dict({"lowercase": True, "stopwords": "english", "stemmer": "light"}).rules == 1
    assert TokenizerConfig.from_dict(TokenizerConfig().to_dict()).rules == 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The U.S. and the U.N. said", ["usa", "un", "said"]),
        ("US officials told us", ["usa", "official", "told", "us"]),  # capitals: the country; else the pronoun
        ("u.s. troops in the USA", ["usa", "troop", "usa"]),
        ("ended in the U.S", ["ended", "usa"]),  # last full stop missing
        ("U.S.-led talks", ["usa", "led", "talk"]),
        ("J.R.R. Tolkien, e.g. at 5 p.m.", ["jrr", "tolkien", "eg", "5", "pm"]),
        ("Washington, D.C., is", ["washington", "dc"]),
        ("3.5 U.S. dollars", ["3.5", "usa", "dollar"]),  # numbers are not acronyms
        ("plus.U.S. status.quo a.bc", ["plus", "u", "status", "quo", "bc"]),  # not inside longer words
    ],
)
def test_rules_2_acronyms(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("They won't say who won", ["say", "won"]),  # the contraction leaves no "won" behind
        ("They WON\u2019T say", ["say"]),
        ("won'tx wont", ["won", "tx", "wont"]),  # not a contraction
    ],
)
def test_rules_3_wont(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected
    assert "won" in tokenize(text, TokenizerConfig(rules=2))  # what indexes built under rules 2 keep


@pytest.mark.parametrize(
    ("with_marks", "without"),
    [
        ("Zürich", "Zurich"),
        ("São Paulo", "Sao Paulo"),
        ("Łódź", "Lodz"),
        ("Straße", "Strasse"),
        ("Nguyễn Tấn Dũng", "Nguyen Tan Dung"),  # stacked marks
        ("Ilham Əliyev", "Ilham Aliyev"),
        ("Français", "Francais"),
        ("e\u0301te\u0301", "ete"),  # decomposed input
        ("Søren Kierkegaard's", "Soren Kierkegaard"),
    ],
)
def test_rules_4_fold_latin_accents(with_marks: str, without: str) -> None:
    assert tokenize(with_marks) == tokenize(without)
    assert tokenize(with_marks, TokenizerConfig(rules=3)) != tokenize(without, TokenizerConfig(rules=3))


@pytest.mark.parametrize("text", ["Москва и Київ", "Ἀθῆναι", "हिन्दी भाषा", "한국어", "ガイド", "ภาษาไทย", "العربية"])
def test_rules_4_leave_other_scripts_alone(text: str) -> None:
    # their marks are letters or vowels (Devanagari, Thai) or not Latin diacritics (Greek, Cyrillic)
    assert tokenize(text) == tokenize(text, TokenizerConfig(rules=3))


def test_rules_1_kept_for_older_indexes() -> None:
    old = TokenizerConfig(rules=1)
    assert tokenize("The U.S. and the U.N. said", old) == ["u", "u", "n", "said"]
    assert tokenize("US officials told us", old) == ["us", "official", "told", "us"]


def test_stopword_list() -> None:
    assert 150 <= len(ENGLISH_STOPWORDS) <= 200
    assert {"the", "and", "of", "is", "a"} <= ENGLISH_STOPWORDS
    assert all(w == w.lower() for w in ENGLISH_STOPWORDS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2,000 people", ["2000", "people"]),
        ("3.5 percent", ["3.5", "percent"]),
        ("1,234,567.89", ["1234567.89"]),
        ("in 1998, 12 were", ["in", "1998", "12", "were"]),
        ("3.5kg", ["3.5", "kg"]),
        ("the end.", ["the", "end"]),
    ],
)
def test_numbers(text: str, expected: list[str]) -> None:
    assert tokenize(text, PLAIN) == expected


def test_possessive_dropped() -> None:
    assert tokenize("Azerbaijan's capital", PLAIN) == ["azerbaijan", "capital"]
    assert tokenize("Azerbaijan\u2019s capital", PLAIN) == ["azerbaijan", "capital"]
    assert tokenize("AZERBAIJAN'S", TokenizerConfig(lowercase=False, stemmer="none")) == [
        "AZERBAIJAN"
    ]


def test_lowercase_and_stopwords() -> None:
    assert tokenize("The Cat and THE Hat") == ["cat", "hat"]
    assert tokenize("The Cat", TokenizerConfig(stopwords="none", stemmer="none")) == [
        "the",
        "cat",
    ]
    # Stopwords are matched case-insensitively even without lowercasing.
    assert tokenize("The Cat", TokenizerConfig(lowercase=False, stemmer="none")) == ["Cat"]


def test_other_scripts_are_words() -> None:
    assert tokenize("Москва столица", PLAIN) == ["москва", "столица"]
    assert tokenize("東京 タワー", PLAIN) == ["東京", "タワー"]
    # Combining marks stay inside the word (Devanagari vowel signs, accents).
    assert tokenize("हिन्दी भाषा", PLAIN) == ["हिन्दी", "भाषा"]
    assert tokenize("cafe\u0301", PLAIN) == tokenize("café", PLAIN) == ["cafe"]  # rules 4 fold Latin accents
    rules_3 = TokenizerConfig(stopwords="none", stemmer="none", rules=3)
    assert tokenize("cafe\u0301", rules_3) == tokenize("café", rules_3) == ["café"]


def test_punctuation_and_underscores_split() -> None:
    assert tokenize("state-of-the-art e-mail snake_case", PLAIN) == [
        "state", "of", "the", "art", "e", "mail", "snake", "case",
    ]


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("studies", "study"),
        ("classes", "class"),
        ("boxes", "box"),
        ("buzzes", "buzz"),
        ("churches", "church"),
        ("wishes", "wish"),
        ("cats", "cat"),
        ("proteins", "protein"),
        ("glass", "glass"),
        ("virus", "virus"),
        ("analysis", "analysis"),
        ("gas", "gas"),
        ("cells", "cell"),
        ("cell", "cell"),
        ("diseases", "disease"),
        ("doses", "dose"),
        ("sizes", "size"),
    ],
)
def test_light_stemmer(word: str, stem: str) -> None:
    assert tokenize(word, TokenizerConfig(stopwords="none")) == [stem]


def test_stemmer_none_keeps_plurals() -> None:
    assert tokenize("studies cats", TokenizerConfig(stemmer="none")) == ["studies", "cats"]


def test_default_pipeline() -> None:
    assert tokenize("What are the effects of 2,000 mg doses on Azerbaijan's children?") == [
        "effect", "2000", "mg", "dose", "azerbaijan", "children",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\x00\x01\x02\n\t\r",
        "\ud800 lone surrogate \udfff",
        "emoji 😀👍🏽❤️ \ufe0f",
        "'s ’s ' ’",
        ",,,...,1,,2..3",
        "_" * 100,
        "\u0301\u0302 marks alone",
        "İstanbul ǅ ß ﬁ",
        "9" * 10_000,
        "1," * 5_000,
    ],
)
def test_weird_input_never_raises(text: str) -> None:
    for cfg in (None, PLAIN, TokenizerConfig(lowercase=False)):
        out = tokenize(text, cfg)
        assert isinstance(out, list)
        assert all(isinstance(t, str) and t for t in out)


def test_large_text() -> None:
    text = "Azerbaijan's 2,000 studies of 3.5 cats. " * 25_000  # ~1 MB
    out = tokenize(text)
    assert len(out) == 5 * 25_000
    assert out[:5] == ["azerbaijan", "2000", "study", "3.5", "cat"]


def test_tokenize_many() -> None:
    cfg = TokenizerConfig(stemmer="none")
    assert tokenize_many(["The cats", "", "dogs"], cfg) == [["cats"], [], ["dogs"]]
    assert tokenize_many([]) == []
