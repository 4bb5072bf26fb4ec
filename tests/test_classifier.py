"""The FAQ classifier (issue 11): features, training, the cache, abbreviations through the normaliser."""

from __future__ import annotations

import math
from array import array
from pathlib import Path

from bot.content import load_content
from bot.faq.classifier import (
    ACCENT_WEIGHT,
    LANE_BITS,
    OUT_OF_SCOPE,
    SQUARE_FIXED,
    Classifier,
    _weighted,
    data_hash,
    featurize,
    wrap,
)
from bot.faq.normalize import compile_abbreviations, expand_abbreviations, tokenize

CONTENT = Path(__file__).resolve().parent.parent / "content"
NO_ABBREVIATIONS = compile_abbreviations({})

TOY = {
    "passcode": ["quen passcode", "passcode bi khoa", "doi ma 6 so", "nhap sai passcode nhieu lan"],
    "password": ["quen mat khau dang nhap", "dat lai mat khau", "doi mat khau vneid", "mat khau sai"],
    OUT_OF_SCOPE: ["gia lua hom nay", "thoi tiet ngay mai", "ket qua xo so", "quen mat khau zalo"],
}


def test_features_are_folded_char_and_word_ngrams_with_a_weaker_accent_signal() -> None:
    feats = featurize("Quên mật khẩu", NO_ABBREVIATIONS)
    assert "w:quen" in feats and "b:quen mat" in feats and "c: qu" in feats and "c:khau " in feats
    assert feats["a:quên"] < feats["w:quen"]
    assert {k for k in featurize("quen mat khau", NO_ABBREVIATIONS)} == {k for k in feats if not k.startswith("a:")}


def test_a_toy_model_separates_its_classes_and_the_out_of_scope_class() -> None:
    model = Classifier.train(TOY, NO_ABBREVIATIONS)
    assert model.predict("toi quen passcode roi").label == "passcode"
    assert model.predict("quen mat khau dang nhap vneid").label == "password"
    assert model.predict("thoi tiet hom nay the nao").label == OUT_OF_SCOPE
    probs = model.predict("quen passcode", k=3).ranked
    assert abs(sum(p for _c, p in probs) - 1.0) < 1e-6


def test_the_model_is_cached_by_a_hash_of_its_data() -> None:
    key = data_hash(TOY, {})
    first = Classifier.train(TOY, NO_ABBREVIATIONS, cache_key=key)
    assert Classifier.train(TOY, NO_ABBREVIATIONS, cache_key=key) is first
    changed = {**TOY, "passcode": [*TOY["passcode"], "ma passcode"]}
    assert data_hash(changed, {}) != key


def test_residents_abbreviations_expand_before_the_classifier() -> None:
    table = compile_abbreviations(load_content(CONTENT).abbreviations)
    for typed, expected in (("lltp", "lý lịch tư pháp"), ("đdđt", "định danh điện tử"), ("cccd", "căn cước"),
                            ("bhyt", "bảo hiểm y tế"), ("vnied", "vneid"), ("đk", "đăng ký"), ("ko", "không")):
        assert expected in " ".join(expand_abbreviations(tokenize(typed), table)), typed


def test_training_is_deterministic_and_the_packed_rows_hold_the_weights() -> None:
    first, second = Classifier.train(TOY, NO_ABBREVIATIONS), Classifier.train(TOY, NO_ABBREVIATIONS)
    assert (first.weights == second.weights).all() and first.bias == second.bias
    assert first._packed == second._packed
    # The packed integer of a row is sum(round(w × value × 2^bits) << lane), negative lanes included.
    fixed, n = 1.0 / first._unfixed, len(first.labels)
    assert (first.weights < 0).any()
    for i, f in enumerate(first.features):
        value = first.idf[f] * (ACCENT_WEIGHT if f.startswith("a:") else 1.0)
        expected = round(value * value * SQUARE_FIXED) << (LANE_BITS * n)
        for c, w in enumerate(array("f", (float(w) * value for w in first.weights[i]))):
            expected += round(w * fixed) << (LANE_BITS * c)
        assert first._packed[f[0]][f[2:]] == expected, f


def test_a_questions_known_features_are_the_union_of_its_syllables_and_pairs() -> None:
    """_rows looks features up per syllable and per pair of neighbours (and keeps them); the result must be
    exactly the known features `featurize` finds in the whole text, each once."""
    model = Classifier.train(TOY, NO_ABBREVIATIONS)
    texts = ["quen passcode", "Quên mật khẩu VNeID", "a b c d", "o a passcode i u", "x", "ma 6 so", "quen ma ma",
             "nhap sai passcode nhieu lan a", "doi mat khau o a", "passcode " * 50, "mật khẩu mat khau mật"]
    for _ in range(2):  # the second time from the kept features
        for text in texts:
            names = [f for f in featurize(text, NO_ABBREVIATIONS) if f in model.idf]
            expected = [model._packed[f[0]][f[2:]] for f in names]
            rows = model._rows(expand_abbreviations(tokenize(text), NO_ABBREVIATIONS))
            assert len(rows) == len(expected) and sum(rows) == sum(expected), text
    assert model._syllable_cache and model._pair_cache


def reference(model: Classifier, text: str) -> dict[str, float]:
    """The model's probabilities computed in floats, feature by feature, without the packed rows."""
    names, values = _weighted(featurize(text, model.abbreviations), model.idf)
    row = {f: i for i, f in enumerate(model.features)}
    scores = [b + sum(float(model.weights[row[f], c]) * v for f, v in zip(names, values, strict=True))
              for c, b in enumerate(model.bias)]
    top = max(scores)
    exps = [math.exp(x - top) for x in scores]
    return {label: e / sum(exps) for label, e in zip(model.labels, exps, strict=True)}


def test_the_packed_sum_gives_the_float_probabilities_in_one_integer_or_in_chunks() -> None:
    model = Classifier.train(TOY, NO_ABBREVIATIONS)
    texts = ["quen passcode", "Quên mật khẩu VNeID thì làm sao ạ", "gia lua", "zzz", "passcode " * 300]
    for chunk in (model._chunk, 7, 1):  # one integer; chunks of 7 features; one feature at a time
        model._chunk = chunk
        for text in texts:
            expected = reference(model, text)
            got = dict(model.predict(text, k=len(model.labels)).ranked)
            assert all(abs(got[c] - p) < 1e-4 for c, p in expected.items()), (chunk, text)


STORY = ["chao can bo", "toi nam nay 70 tuoi roi", "nha toi o thon xa", "con toi di lam an xa", "mat kem lam"]


def test_wrap_keeps_every_example_and_adds_one_wrapped_copy_except_for_plain_labels() -> None:
    wrapped = wrap(TOY, STORY, plain={OUT_OF_SCOPE})
    assert wrapped == wrap(TOY, STORY, plain={OUT_OF_SCOPE})  # deterministic
    assert wrapped[OUT_OF_SCOPE] == TOY[OUT_OF_SCOPE]
    for label in ("passcode", "password"):
        originals, copies = wrapped[label][:len(TOY[label])], wrapped[label][len(TOY[label]):]
        assert originals == TOY[label] and len(copies) == len(TOY[label])
        for text, copy in zip(TOY[label], copies, strict=True):
            assert text in copy and copy != text and any(phrase in copy for phrase in STORY)


def test_examples_learnt_inside_a_story_make_a_long_message_surer() -> None:
    """A resident's story around the question dilutes its features; the wrapped copies teach the model that
    the story points nowhere (issue 11: long messages were the least often answered)."""
    long_message = "chao can bo, toi nam nay 70 tuoi roi, nha toi o thon xa, con toi di lam an xa, toi quen passcode"
    plain = Classifier.train(TOY, NO_ABBREVIATIONS).predict(long_message)
    taught = Classifier.train(TOY, NO_ABBREVIATIONS, context=STORY).predict(long_message)
    assert taught.label == "passcode"
    assert taught.probability > plain.probability + 0.05, (plain.ranked, taught.ranked)
    assert data_hash(TOY, {}, STORY) != data_hash(TOY, {})
