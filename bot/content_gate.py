"""The content the bot starts or reloads with passes exactly the checks `content check` applies.

`load_checked` runs `bot.faq.check.run_checks` and raises ContentError on any error (warnings pass). The
result is remembered per folder state (every file's name, size and modification time), so a process that
starts the bot many times — the tests, the web chat's restarts — checks each state once.
"""

from __future__ import annotations

from pathlib import Path

from bot.content import Content, ContentError

_cache: dict[tuple[str, tuple[tuple[str, int, int], ...]], Content] = {}


def _state(content_dir: Path) -> tuple[tuple[str, int, int], ...]:
    files = sorted(p for p in content_dir.rglob("*") if p.is_file())
    return tuple((str(p.relative_to(content_dir)), p.stat().st_size, p.stat().st_mtime_ns) for p in files)


def load_checked(content_dir: Path) -> Content:
    """The content of `content_dir`, or ContentError listing every error `content check` would report."""
    from bot.faq.check import run_checks

    key = (str(content_dir.resolve()), _state(content_dir))
    cached = _cache.get(key)
    if cached is not None:
        return cached
    content, problems = run_checks(content_dir)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ContentError(errors)
    if len(_cache) > 8:
        _cache.clear()
    _cache[key] = content
    return content
