"""Vietnamese normalisation: NFC, folding, syllables, tone keys, abbreviations; survives any input."""

from __future__ import annotations

import random
import unicodedata

import pytest

from bot.faq.normalize import (
    compile_abbreviations,
    expand_abbreviations,
    fold,
    has_marks,
    is_filler,
    normalize,
    tokenize,
    tone_key,
)

ABBREVIATIONS = {
    "dk": "đăng ký",
    "đk": "đăng ký",
    "mk": "mật khẩu",
    "ko": "không",
    "ca": "công an",
    "vn-id": "vneid",
    "sdt": "số điện thoại",
}


def test_normalize_composes_lowercases_and_collapses_spaces() -> None:
    decomposed = unicodedata.normalize("NFD", "ĐĂNG  KÝ\tMỨC 2\n")
    assert normalize(decomposed) == "đăng ký mức 2"
    assert normalize(decomposed) == unicodedata.normalize("NFC", normalize(decomposed))


def test_normalize_strips_invisible_and_control_characters() -> None:
    assert normalize("vne\u200bid\u00ad\ufeff ok\x00\x07") == "vneid ok"
    assert normalize("a\u2028b\u00a0c") == "a b c"


def test_normalize_keeps_vietnamese_marks() -> None:
    assert normalize("Mã OTP") == "mã otp"
    assert normalize("Mã") != normalize("Má")


def test_fold_removes_every_mark_and_d_bar() -> None:
    assert fold("Đăng ký định danh điện tử") == "dang ky dinh danh dien tu"
    assert fold("ĐỊNH DANH") == "dinh danh"
    assert fold("thẻ căn cước") == "the can cuoc"


def test_tokenize_syllables_numbers_and_punctuation() -> None:
    assert tokenize("Đăng ký mức2, ở đâu???") == ["đăng", "ký", "mức", "2", "ở", "đâu"]
    assert tokenize("Đề án 06 (06/01/2022)") == ["đề", "án", "6", "6", "1", "2022"]
    assert tokenize("<b>vneid</b> & co") == ["b", "vneid", "b", "co"]


def test_tone_key_separates_tones_but_not_tone_placement() -> None:
    assert tone_key("hoà") == tone_key("hòa")
    assert tone_key("thuỷ") == tone_key("thủy")
    assert tone_key("mã") != tone_key("má")
    assert tone_key("mâ") != tone_key("ma")
    assert tone_key("vneid") == "vneid"


def test_has_marks_and_fillers() -> None:
    assert has_marks("đk") and has_marks("mã") and not has_marks("ma")
    assert is_filler("ạ") and is_filler("nhé") and is_filler("ok")
    assert not is_filler("mã") and not is_filler("otp")


def test_expand_abbreviations() -> None:
    assert expand_abbreviations(tokenize("dk mk ko dc"), ABBREVIATIONS) == [
        "đăng",
        "ký",
        "mật",
        "khẩu",
        "không",
        "dc",
    ]
    assert expand_abbreviations(tokenize("đk vn-id"), ABBREVIATIONS) == ["đăng", "ký", "vneid"]
    assert expand_abbreviations(tokenize("DK"), compile_abbreviations(ABBREVIATIONS)) == ["đăng", "ký"]


def test_abbreviations_do_not_touch_words_typed_with_marks() -> None:
    # "ca" (no marks) may be "công an"; "cá" in "cá nhân" never is.
    assert expand_abbreviations(tokenize("dữ liệu cá nhân"), ABBREVIATIONS) == ["dữ", "liệu", "cá", "nhân"]
    assert expand_abbreviations(tokenize("goi ca xa"), ABBREVIATIONS) == ["goi", "công", "an", "xa"]


def test_expand_with_no_abbreviations() -> None:
    assert expand_abbreviations(["a", "b"], {}) == ["a", "b"]
    assert expand_abbreviations([], ABBREVIATIONS) == []


NASTY = [
    "",
    " ",
    "\n\n\t",
    "😀😀😀",
    "👍🏽‍🔥",
    "a" + "\u0301" * 200,
    "\u0301\u0323\u0309",
    "<script>alert('x')</script><b>đăng ký</b>&amp;&lt;",
    "\x00\x01\x1f\x7f",
    "\ud800 lone surrogate",
    "đ" * 4000,
    "dang ky " * 600,
    "ＦＵＬＬＷＩＤＴＨ ﬁ",
    "١٢٣ 中文 русский",
]


@pytest.mark.parametrize("text", NASTY)
def test_any_input_is_survived(text: str) -> None:
    for fn in (normalize, fold):
        assert isinstance(fn(text), str)
    tokens = tokenize(text)
    assert all(tokens)
    assert isinstance(expand_abbreviations(tokens, ABBREVIATIONS), list)
    assert all(isinstance(tone_key(t), str) for t in tokens)


def test_random_unicode_never_raises() -> None:
    rng = random.Random(20261126)
    alphabet = (
        "aăâbcdđeêghiklmnoôơpqrstuưvxyAĂÂĐ 0123456789.,!?<>&\"'\n\t\u0300\u0301\u0303\u0309\u0323\u200b\u200d\ufeff😀🇻🇳"
    )
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        folded = fold(text)
        assert folded == folded.strip()
        assert "  " not in folded
        for token in tokenize(text):
            assert token == token.strip() and token
