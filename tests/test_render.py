"""The answer mini-format → Telegram-safe HTML / plain text, and splitting long messages."""

from __future__ import annotations

import html
import random
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest

from bot.content import Faq, Template, blank_commune, load_content
from bot.faq.render import render_html, render_plain, split_message, telegram_length

ROOT = Path(__file__).resolve().parent.parent
COMMUNE = replace(
    blank_commune(),
    values={"police_name": "Công an xã", "police_phone": "", "office_hours": "7:30–11:30 <sáng>"},
)
UNKNOWN = "(chưa cập nhật)"


class TelegramHtml(HTMLParser):
    """Fails like Telegram would: unknown tags, unbalanced tags, attributes other than a/href."""

    ALLOWED: ClassVar[dict[str, set[str]]] = {"b": set(), "i": set(), "a": {"href"}}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in self.ALLOWED, f"tag <{tag}> not allowed"
        assert {name for name, _ in attrs} <= self.ALLOWED[tag], attrs
        if tag == "a":
            href = dict(attrs).get("href") or ""
            assert href.startswith(("http://", "https://")), href
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}> in {self.stack}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        assert "<" not in data and ">" not in data
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        assert name in {"lt", "gt", "amp", "quot"}, name
        self.text.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.text.append(html.unescape(f"&#{name};"))


def visible(markup: str) -> str:
    parser = TelegramHtml()
    parser.feed(markup)
    parser.close()
    assert not parser.stack, f"unclosed {parser.stack}"
    return "".join(parser.text)


def test_bold_italic_links_lists_paragraphs() -> None:
    body = (
        "**Bước 1** bấm _Kích hoạt_.\n\n"
        "- Mang **thẻ căn cước**;\n"
        "- Điện thoại.\n\n"
        "1. Mở app\n"
        "2. Xem [hướng dẫn](https://vneid.gov.vn/huong-dan?a=1&b=2)"
    )
    out = render_html(body, COMMUNE, UNKNOWN)
    assert out == (
        "<b>Bước 1</b> bấm <i>Kích hoạt</i>.\n\n"
        "• Mang <b>thẻ căn cước</b>;\n"
        "• Điện thoại.\n\n"
        "1. Mở app\n"
        '2. Xem <a href="https://vneid.gov.vn/huong-dan?a=1&amp;b=2">hướng dẫn</a>'
    )
    visible(out)


def test_html_in_content_is_shown_not_interpreted() -> None:
    out = render_html("Gõ <b>đậm</b> & <script>x</script> 1 < 2", COMMUNE, UNKNOWN)
    assert out == "Gõ &lt;b&gt;đậm&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt; 1 &lt; 2"
    assert visible(out) == "Gõ <b>đậm</b> & <script>x</script> 1 < 2"


def test_unsafe_or_odd_links_become_text() -> None:
    out = render_html("[bấm](javascript:alert(1)) và [gọi](tel:19000368)", COMMUNE, UNKNOWN)
    assert "<a" not in out
    assert "bấm (javascript:alert(1" in out
    assert visible(out)


def test_underscores_inside_words_stay_literal_and_unclosed_markup_too() -> None:
    out = render_html("file_name_here **chưa đóng _nghiêng", COMMUNE, UNKNOWN)
    assert out == "file_name_here **chưa đóng _nghiêng"


def test_nested_markup_is_balanced() -> None:
    out = render_html("**đậm _nghiêng_ [link **x**](https://a.vn)**", COMMUNE, UNKNOWN)
    assert out == '<b>đậm <i>nghiêng</i> <a href="https://a.vn">link <b>x</b></a></b>'
    visible(out)


def test_placeholders_known_empty_and_unknown() -> None:
    body = "{{police_name}} – {{police_phone}} – {{nope}} – {{ office_hours }}"
    assert render_html(body, COMMUNE, UNKNOWN) == (
        "Công an xã – (chưa cập nhật) – (chưa cập nhật) – 7:30–11:30 &lt;sáng&gt;"
    )
    assert render_plain(body, COMMUNE, UNKNOWN) == "Công an xã – (chưa cập nhật) – (chưa cập nhật) – 7:30–11:30 <sáng>"


def test_plain_has_no_markup() -> None:
    body = "**Đậm** _nghiêng_ [trang](https://vneid.gov.vn) [https://a.vn](https://a.vn)\n- một\n1. hai"
    assert render_plain(body, COMMUNE, UNKNOWN) == (
        "Đậm nghiêng trang (https://vneid.gov.vn) https://a.vn\n• một\n1. hai"
    )


def test_real_faq_bodies_are_telegram_safe() -> None:
    content_dir = ROOT / "content"
    if not (content_dir / "faq").is_dir():
        pytest.skip("no content folder")
    content = load_content(content_dir)
    items: list[Faq | Template] = [*content.faqs.values(), *content.templates.values()]
    for item in items:
        out = render_html(item, content.commune, UNKNOWN)
        assert visible(out).strip(), item.id
        assert "{{" not in out and "**" not in out, item.id


# --- split_message ------------------------------------------------------------------------------------


def test_short_and_empty_messages() -> None:
    assert split_message("xin chào") == ["xin chào"]
    assert split_message("") == []
    assert split_message(" \n ") == []


def test_split_prefers_paragraphs_and_respects_limit() -> None:
    paragraphs = [f"Đoạn {i}: " + "chữ " * 30 for i in range(20)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    parts = split_message(text, limit=400)
    assert len(parts) > 1
    for part in parts:
        assert telegram_length(part) <= 400
        assert part.startswith("Đoạn ")  # every cut fell on a paragraph break
    assert "\n\n".join(parts) == text


def test_split_counts_utf16_units() -> None:
    text = "😀" * 300  # 600 UTF-16 units, no spaces at all
    parts = split_message(text, limit=100)
    assert all(telegram_length(p) <= 100 for p in parts)
    assert "".join(parts) == text


def test_split_reopens_tags_and_never_cuts_entities() -> None:
    text = "<b>" + "đậm &amp; &lt;rõ&gt; " * 80 + "</b> hết"
    parts = split_message(text, limit=200)
    assert len(parts) > 2
    for part in parts:
        assert telegram_length(part) <= 200
        assert part.startswith("<b>") or part == "hết"
        visible(part)  # balanced, entities intact
    joined = " ".join(visible(p) for p in parts)
    assert " ".join(joined.split()) == " ".join(visible(text).split())


def test_split_link_spanning_the_cut() -> None:
    text = 'Xem <a href="https://vneid.gov.vn">' + "trang hướng dẫn " * 30 + "</a> nhé"
    parts = split_message(text, limit=120)
    for part in parts:
        assert telegram_length(part) <= 120
        visible(part)
    assert parts[1].startswith('<a href="https://vneid.gov.vn">')


def test_split_random_rendered_bodies() -> None:
    rng = random.Random(7)
    words = ["đăng", "ký", "**mức 2**", "_VNeID_", "[link](https://a.vn/x?y=1&z=2)", "<tag>", "&", "😀", "a" * 30]
    for _ in range(60):
        lines = []
        for _ in range(rng.randint(1, 40)):
            prefix = rng.choice(["", "", "- ", "1. ", "\n"])
            lines.append(prefix + " ".join(rng.choice(words) for _ in range(rng.randint(1, 25))))
        out = render_html("\n".join(lines), COMMUNE, UNKNOWN)
        limit = rng.randint(64, 700)
        parts = split_message(out, limit=limit)
        assert parts
        for part in parts:
            assert telegram_length(part) <= limit
            visible(part)
        assert " ".join(" ".join(visible(p) for p in parts).split()) == " ".join(visible(out).split())
