"""The search index and the FAQ service on a small, fixed set of FAQs (independent of content/)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from bot.content import Content, Faq, Group, blank_commune, load_content
from bot.faq import index as index_module
from bot.faq import service as service_module
from bot.faq.index import FaqIndex, Match, trigrams
from bot.faq.normalize import compile_abbreviations
from bot.faq.service import FaqService


def faq(
    fid: str,
    title: str,
    questions: list[str],
    keywords: tuple[str, ...] = (),
    body: str = "",
    related: tuple[str, ...] = (),
    group: str = "g",
) -> Faq:
    return Faq(
        id=fid,
        title=title,
        group=group,
        questions=tuple(questions),
        keywords=tuple(keywords),
        related=tuple(related),
        as_of=date(2026, 11, 20),
        sources=("test",),
        body=body or title,
        path=Path(f"{fid}.md"),
        line=10,
    )


FAQS = [
    faq(
        "otp",
        "Không nhận được mã OTP",
        [
            "không nhận được mã OTP VNeID",
            "ko nhan duoc otp",
            "mã xác thực gửi về chậm",
            "otp hết hạn",
            "bấm gửi lại mã mà không thấy",
            "chờ mãi không có tin nhắn mã",
        ],
        ("otp", "mã xác thực"),
        related=("password", "missing-id", "phone"),
    ),
    faq(
        "password",
        "Quên mật khẩu VNeID",
        [
            "quên mật khẩu vneid",
            "quen mat khau dang nhap",
            "lấy lại mật khẩu",
            "đặt lại mật khẩu mới",
            "quên mk vneid",
            "không nhớ mật khẩu đăng nhập",
        ],
        ("quên mật khẩu",),
        related=("otp",),
    ),
    faq(
        "phone",
        "Đổi số điện thoại trên VNeID",
        [
            "đổi số điện thoại vneid",
            "doi so dien thoai",
            "thay số điện thoại mới",
            "mất sim cũ đổi số",
            "đổi sđt tài khoản định danh",
            "số điện thoại đăng ký bị sai",
        ],
        ("đổi số",),
        body="Gọi tổng đài 1900 0368 hoặc đến **công an xã**.",
    ),
    faq(
        "register",
        "Đăng ký định danh mức 2 ở đâu",
        [
            "đăng ký định danh mức 2 ở đâu",
            "dang ky dinh danh muc 2",
            "làm mức 2 mang gì",
            "dk muc 2 o dau",
            "làm định danh có mất tiền không",
            "làm mức 2 ở công an xã",
        ],
        ("mức 2", "đăng ký"),
        body="Đến công an xã, mang thẻ căn cước.",
    ),
    faq(
        "mother",
        "Má tôi già yếu có cần làm gì",
        [
            "má tôi già có phải làm không",
            "má già yếu đi lại khó",
            "người già yếu làm thế nào",
            "má tôi không đi được",
            "cho má làm ở nhà",
            "má tôi bị bệnh",
        ],
    ),
    faq(
        "code",
        "Mã số định danh cá nhân là gì",
        [
            "mã số định danh là gì",
            "mã định danh cá nhân xem ở đâu",
            "số định danh 12 số",
            "mã số trên thẻ",
            "tra mã số định danh",
            "mã cá nhân của tôi",
        ],
    ),
]
GROUPS = [Group("g", "Nhóm"), Group("empty", "Không có gì")]
ABBREVIATIONS = {"dk": "đăng ký", "mk": "mật khẩu", "ko": "không", "sdt": "số điện thoại", "vnied": "vneid"}


@pytest.fixture(scope="module")
def content() -> Content:
    return Content(
        commune=blank_commune(),
        faqs={f.id: f for f in FAQS},
        groups=GROUPS,
        abbreviations=ABBREVIATIONS,
        out_of_scope=("thoi tiet", "xo so", "xin viec"),
        templates={},
    )


@pytest.fixture(scope="module")
def index(content: Content) -> FaqIndex:
    return FaqIndex.build(content)


def top(index: FaqIndex, query: str) -> str | None:
    found = index.search(query, 1)
    return found[0].faq_id if found else None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Không nhận được mã OTP", "otp"),
        ("khong nhan duoc ma otp", "otp"),
        ("KHÔNG NHẬN ĐƯỢC OTP!!!", "otp"),
        ("quên mật khẩu", "password"),
        ("quen mk", "password"),  # abbreviation
        ("qen mat khau", "password"),  # typo
        ("quên mật khẩuu vnied", "password"),  # typo + abbreviation of a typo
        ("doi sdt", "phone"),
        ("đổi số đt khác", "phone"),
        ("dk dinh danh o dau", "register"),
        ("ĐĂNG KÝ MỨC 2", "register"),
    ],
)
def test_finds_the_right_faq(index: FaqIndex, query: str, expected: str) -> None:
    assert top(index, query) == expected


def test_accent_aware_when_marks_are_typed(index: FaqIndex) -> None:
    # Typed with marks, "má" (mother) and "mã" (code) are different words.
    assert top(index, "má") == "mother"
    assert top(index, "mã") in {"code", "otp"}  # both FAQs say "mã"
    assert top(index, "má tôi") == "mother"
    assert top(index, "mã số của tôi") == "code"
    mother = {m.faq_id: m.score for m in index.search("má của tôi", 6)}
    code = {m.faq_id: m.score for m in index.search("mã của tôi", 6)}
    assert mother["mother"] > code.get("mother", 0.0)
    assert code["code"] > mother.get("code", 0.0)
    # Without marks, both readings stay possible.
    assert {m.faq_id for m in index.search("ma", 3)} >= {"mother", "code"}


def test_old_and_new_tone_placement_match_alike(index: FaqIndex) -> None:
    assert index.search("mật khẩu bị quên hoà", 1)[0].score == pytest.approx(
        index.search("mật khẩu bị quên hòa", 1)[0].score
    )


def test_scores_are_calibrated_and_sorted(index: FaqIndex) -> None:
    found = index.search("quên mật khẩu vneid", 5)
    assert isinstance(found[0], Match)
    assert all(0.0 <= m.score <= 1.0 for m in found)
    assert [m.score for m in found] == sorted((m.score for m in found), reverse=True)
    assert found[0].score >= 0.8  # a question asked exactly as written
    assert index.search("hôm nay trời mưa to quá", 1) == [] or index.search("hôm nay trời mưa to quá", 1)[0].score < 0.3


def test_k_and_empty_queries(index: FaqIndex) -> None:
    assert len(index.search("mã", 2)) <= 2
    assert len(index.search("định danh", 10)) == len({m.faq_id for m in index.search("định danh", 10)})
    for query in ("", "   ", "😀", "???", "ạ nhé"):
        assert index.search(query, 3) == []


def test_field_weights_title_beats_body() -> None:
    faqs = [
        faq("in-title", "Khóa tài khoản", ["câu một", "câu hai", "câu ba", "câu bốn", "câu năm", "câu sáu"]),
        faq(
            "in-body",
            "Việc khác",
            ["hỏi một", "hỏi hai", "hỏi ba", "hỏi bốn", "hỏi năm", "hỏi sáu"],
            body="Nội dung có nhắc khóa tài khoản một lần.",
        ),
    ]
    content = Content(blank_commune(), {f.id: f for f in faqs}, GROUPS, {}, (), {})
    assert top(FaqIndex.build(content), "khóa tài khoản") == "in-title"


def test_long_and_hostile_input_is_fast(index: FaqIndex) -> None:
    hostile = ("quên mật khẩu <script>alert(1)</script> 😀 \u200b\u0301 " * 200)[:4000]
    start = time.perf_counter()
    found = index.search(hostile, 3)
    assert time.perf_counter() - start < 0.5
    assert found and found[0].faq_id == "password"


def test_a_small_collections_packed_sums_match_the_large_collections_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """A small collection adds up its BM25F scores and counts the 3-grams of all its questions in packed
    integers, one sum per query; a large one uses numpy and a 3-gram sum per candidate FAQ. Both must
    give the same results: the same FAQs in the same order, with the same features (to 1e-9)."""
    real = load_content(Path(__file__).resolve().parent.parent / "content")
    small = FaqIndex.build(real)
    monkeypatch.setattr(index_module, "ALL_GRAM_LANES_MAX", 0)
    monkeypatch.setattr(index_module, "PACKED_POOL_MAX", 0)
    large = FaqIndex.build(real)
    assert small._gram_offsets and small._packed_postings
    assert not large._gram_offsets and not large._packed_postings
    questions = [q for f in real.faqs.values() for q in f.questions][::3]
    questions += ["quen mat khau vneid", "lam can cuoc cho con 14 tuoi het bao nhieu tien", "gia lua hom nay", "😀",
                  "vneid " * 40, "căn cước"]
    for question in questions:
        a, b = small.search_detail(question, k=6), large.search_detail(question, k=6)
        assert [r.faq_id for r in a] == [r.faq_id for r in b], question
        for x, y in zip(a, b, strict=True):
            assert x.score == pytest.approx(y.score, rel=1e-9, abs=1e-12), question
            assert x.features.vector() == pytest.approx(y.features.vector(), rel=1e-9, abs=1e-12), question


def test_tied_faqs_keep_the_numpy_order_in_a_small_collection() -> None:
    twins = [faq("b-twin", "Đổi thẻ căn cước", ["đổi thẻ căn cước ở đâu"]),
             faq("a-twin", "Đổi thẻ căn cước", ["đổi thẻ căn cước ở đâu"]),
             faq("other", "Quên mật khẩu", ["quên mật khẩu vneid"])]
    index = FaqIndex(twins, compile_abbreviations({}), [f.body for f in twins])
    analysed = index.analyse("đổi thẻ căn cước")
    lists = []
    for term, key, weight in analysed.terms:
        posting, factor = index._postings(term, key)
        assert posting is not None
        lists.append((0.0, posting[0], posting[1], weight * factor))
    assert index._packed_pool(lists, 3) is None  # a tie: left to numpy's rule
    assert [index.ids[d] for d, _s in index._pool(analysed, 3)] == ["b-twin", "a-twin"]  # first met first


SCORES_IN_A_FRESH_PROCESS = """
import sys
from pathlib import Path
from bot.content import load_content
from bot.faq.index import FaqIndex
index = FaqIndex.build(load_content(Path("content")))
for q in sys.argv[1:]:
    print(q, [(r.faq_id, repr(r.score), repr(r.features.overlap)) for r in index.search_detail(q, k=6)])
"""


def test_scores_do_not_depend_on_the_hash_seed() -> None:
    """A set's order changes with PYTHONHASHSEED; no float sum may follow it (ask --json stays stable)."""
    root = Path(__file__).resolve().parent.parent
    questions = ["Làm tài khoản định danh điện tử có mất phí hay không?",
                 "so dt nay ko chinh chu thi co kich hoat dc ko", "ba toi dung dt bam nut thi lam vneid sao dc",
                 "quen mat khau vneid"]
    outputs = {
        subprocess.run([sys.executable, "-c", SCORES_IN_A_FRESH_PROCESS, *questions], cwd=root, check=True,
                       capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2", "3", "4")
    }
    assert len(outputs) == 1


def test_trigrams() -> None:
    assert trigrams("ab") == frozenset({" ab", "ab "})
    assert trigrams("") == frozenset({"  "}) or trigrams("") == frozenset()


# --- service ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def service(content: Content, index: FaqIndex) -> FaqService:
    return FaqService(content, index)


def test_service_answers_with_related(service: FaqService) -> None:
    answer = service.ask("ko nhan duoc otp")
    assert answer.status == "answer"
    assert answer.topic == "otp"
    assert answer.question == "ko nhan duoc otp"
    assert answer.candidates[0] == "otp" and len(answer.candidates) <= 3
    # From the FAQ's own `related` first (unknown ids skipped), then search neighbours; never itself.
    assert answer.related[:2] == ("password", "phone")
    assert len(answer.related) <= 3 and "otp" not in answer.related


@pytest.mark.parametrize("text", ["", "   ", "😀😀", "?!.", "ạ"])
def test_service_empty(service: FaqService, text: str) -> None:
    answer = service.ask(text)
    assert answer.status == "empty" and answer.topic is None and answer.candidates == ()


@pytest.mark.parametrize(
    "text",
    [
        "thời tiết ngày mai thế nào",
        "kết quả xổ số hôm nay",
        "hôm nay ăn gì",
        "xin viec o dau",
    ],
)
def test_service_out_of_scope(service: FaqService, text: str) -> None:
    answer = service.ask(text)
    assert answer.status == "out_of_scope"
    assert answer.topic is None and answer.related == ()


def test_out_of_scope_words_are_whole_syllables(service: FaqService) -> None:
    assert service.out_of_scope_words("Thời tiết mai") == ["thoi tiet"]
    assert service.out_of_scope_words("thoitiet") == []


def test_service_unsure_gives_candidates(service: FaqService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_module, "ANSWER_THRESHOLD", 1.01)
    monkeypatch.setattr(service_module, "CLASSIFIER_ANSWER", 1.01)
    answer = service.ask("quên mật khẩu")
    assert answer.status == "unsure"
    assert answer.topic is None
    assert answer.candidates[0] == "password"


def test_service_browsing(service: FaqService) -> None:
    assert [g.id for g in service.groups()] == ["g"]  # groups without FAQs are hidden
    assert [f.id for f in service.faqs_in_group("g")] == [f.id for f in FAQS]
    assert service.faqs_in_group("nope") == []
    assert service.faq("otp").title == "Không nhận được mã OTP"
    with pytest.raises(KeyError):
        service.faq("nope")


def test_service_survives_long_input(service: FaqService) -> None:
    answer = service.ask("đổi số điện thoại " * 1000)
    assert answer.topic == "phone"
    assert len(answer.question) <= service_module.MAX_QUESTION_CHARS
