"""Soak: residents on Telegram and Zalo ask, file help requests and subscribe for a long time while campaigns
run, officers work the queue, and the platforms misbehave.

    .venv/bin/python bench/soak.py                 # 30 minutes (issue 14's soak)
    .venv/bin/python bench/soak.py --minutes 3     # a quick look

The real application (bot/app.py's Runtime: both channels, one database, the core's jobs) runs in this
process against the sandbox's Telegram and Zalo stand-ins over HTTP. Every --fault-every seconds the next
fault of this cycle is injected into the stand-ins (never into the bot's own functions):

    Telegram 429 on one resident's chat (retry after 5 s) · 429 on the officers' group (retry after 15 s) ·
    8 s of 502 Bad Gateway on every call · 10 s of slow answers (carried out, answered after 6 s, beyond the
    client's 5 s read timeout) · 20 s of refused ("query is too old") button acknowledgements · a 15 s write
    lock on the database held by another connection · Zalo 429 (retry after 3 s) · 8 s of Zalo HTTP 502 ·
    Zalo answers 12 s late.

Residents behave as people do: they answer what the bot asks (the form's step is read from what the bot last
asked, as a resident would read the screen), and when no answer comes within --patience seconds they send
/request again (the bot resumes the form) or ask again. Officers (Telegram) claim each request from the
group, send the resident a message, and close it.

At the end (after a drain) it checks and prints: every confirmed request stored exactly once, none stored
twice; every notice (claimed / officer's message / done) received exactly once; every campaign message
received once per subscriber, with duplicates within the engine's stated bound and the report's figures
beside what residents received; nothing a resident typed as a phone or ID number readable in the log or in
any database column other than the request's own fields. Exit status 0 when all hold.
"""

from __future__ import annotations

import abc
import argparse
import asyncio
import contextlib
import dataclasses
import logging
import random
import re
import resource
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from broadcast import content_copy  # noqa: E402

from bot.app import Runtime  # noqa: E402
from bot.campaigns.engine import window_for  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.helpdesk.model import ref_code  # noqa: E402
from bot.services import Services  # noqa: E402
from devtools.sandbox import SANDBOX_TOKEN, Sandbox, SandboxUser, SentMessage  # noqa: E402
from devtools.sandbox.world import FaultRule  # noqa: E402
from devtools.sandbox.zalo import ZALO_TOKEN, Fault, ZaloUser  # noqa: E402

OFFICERS_CHAT = -1007777
OFFICER = 7001
FIRST_TG = 300_000
FIRST_SEEDED = 600_000
QUESTIONS = (
    "quen mat khau vneid thi lam sao", "kich hoat tai khoan dinh danh ntn", "lam can cuoc mat bao lau vay",
    "doi so dien thoai tren vneid", "ko nhan dc ma otp", "muc 2 la gi, khac muc 1 cho nao",
    "mat the can cuoc roi phai lam gi", "con toi 10 tuoi co lam dinh danh dc ko", "vneid bi khoa",
    "tich hop bang lai vao vneid", "dang ky tam tru online o dau", "xin lý lịch tư pháp trên mạng",
    "cho chau hoi doi cccd sau sap nhap xa co mat tien ko a", "passcode la gi", "dt cu hong roi mua dt moi",
    "alo", "cam on nhe", "gia lua hom nay bao nhieu",
)
JSON = dict[str, Any]
NUMBER_RUN = re.compile(r"\+?\d[\d \t.\-()]*\d")  # a number as a person types or a log shows it


# --- what the residents typed that must never be readable outside its own fields -------------------------


@dataclasses.dataclass
class Tally:
    asked: int = 0
    unanswered: int = 0
    forms_started: int = 0
    confirmed: dict[str, str] = dataclasses.field(default_factory=dict)  # note token → code seen
    pressed_confirm: set[str] = dataclasses.field(default_factory=set)
    given_up: Counter[str] = dataclasses.field(default_factory=Counter)  # at which step, and why
    subscribed: int = 0
    secrets: set[str] = dataclasses.field(default_factory=set)  # phone and ID digits typed by residents
    faults: Counter[str] = dataclasses.field(default_factory=Counter)
    officer_actions: Counter[str] = dataclasses.field(default_factory=Counter)
    officer_messages: dict[str, str] = dataclasses.field(default_factory=dict)  # code → the text sent


class LogTrap(logging.Handler):
    """Every formatted log line of the application, to search for unmasked numbers afterwards."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.lines.append(self.format(record))


async def eventually(check: Callable[[], Awaitable[bool] | bool], limit: float, step: float = 0.25) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return True
        await asyncio.sleep(step)
    return False


# --- residents --------------------------------------------------------------------------------------------


class Resident(abc.ABC):
    """One resident on one channel: the behaviour is shared; each channel says how to read and type."""

    channel = ""

    def __init__(self, soak: Soak, index: int) -> None:
        self.soak = soak
        self.index = index
        self.rng = random.Random(index)
        self.person: int | None = None

    @property
    @abc.abstractmethod
    def external(self) -> str:
        """The channel's id of this resident."""

    @abc.abstractmethod
    def texts(self) -> list[str]:
        """The bot's messages to this resident so far."""

    @abc.abstractmethod
    async def type(self, text: str) -> None:
        """Send a text as this resident."""

    @abc.abstractmethod
    async def choose(self, step: str, value: str) -> bool:
        """Pick the option `value` of a step's question; False when the question is not on screen."""

    async def wait_answer(self, before: int) -> bool:
        """A new message from the bot within the patience, then a short quiet moment (several may come)."""
        if not await eventually(lambda: len(self.texts()) > before, self.soak.patience):
            return False
        count = len(self.texts())
        while True:
            await asyncio.sleep(0.4)
            if len(self.texts()) == count:
                return True
            count = len(self.texts())

    async def person_id(self) -> int | None:
        if self.person is None:
            identity = await self.soak.svc.identities.get(self.channel, self.external)
            self.person = identity.person_id if identity else None
        return self.person

    async def step(self) -> str | None:
        person = await self.person_id()
        if person is None:
            return None
        row = await self.soak.svc.db.fetchone("SELECT step FROM help_drafts WHERE person_id = ?", (person,))
        return str(row["step"]) if row else None

    async def ask(self) -> None:
        question = self.rng.choice(QUESTIONS)
        self.soak.tally.asked += 1
        for attempt in range(3):
            before = len(self.texts())
            await self.type(question)
            if await self.wait_answer(before):
                return
            if attempt == 0:
                question = question + " a"  # asks again, a little differently
        self.soak.tally.unanswered += 1

    async def file_request(self) -> None:
        tally = self.soak.tally
        tally.forms_started += 1
        token = f"soak{self.channel[0]}{self.index}n{tally.forms_started}"
        id_number = f"019{self.index % 2}{60 + self.index % 30:02d}{self.channel == 'zalo':d}{self.index:05d}"
        phone = f"09{self.index % 10}{self.index:07d}"[:10]
        tally.secrets.update({id_number, phone.lstrip("0")})
        code_before = self.codes()
        stuck = 0
        await self._send_and_wait("/request")
        for _ in range(60):
            step = await self.step()
            if step is None:
                new = self.codes() - code_before
                if token in tally.pressed_confirm:
                    if new:
                        tally.confirmed[token] = sorted(new)[-1]
                    return
                if any("3 yêu cầu" in t or "tối đa" in t for t in self.texts()[-2:]):
                    tally.given_up["three requests open"] += 1
                    return
                progressed = await self._send_and_wait("/request")
            elif step == "reuse":
                progressed = await self._choose_and_wait(step, "yes")
            elif step == "consent":
                progressed = await self._choose_and_wait(step, "yes")
            elif step == "topic":
                progressed = await self._choose_and_wait(step, "level2")
            elif step in ("name", "problem"):
                progressed = await self._send_and_wait(f"Nguyễn Thị {chr(ord('A') + self.index % 26)}"
                                                       if step == "name" else "mat vneid")
            elif step == "phone":
                progressed = await self._phone(phone)
            elif step == "village":
                progressed = await self._choose_and_wait(step, "thon-2")
            elif step == "id":
                progressed = await self._send_and_wait(id_number)
            elif step == "slot":
                progressed = await self._choose_and_wait(step, "")
            elif step == "note":
                progressed = await self._send_and_wait(f"Ghi chú {token}")
            elif step == "summary":
                tally.pressed_confirm.add(token)
                progressed = await self._choose_and_wait(step, "confirm")
            else:  # "edit" or anything unexpected: back to the summary, or start again
                progressed = await self._send_and_wait("/request")
            stuck = 0 if progressed else stuck + 1
            if stuck >= 2:  # nothing came twice: resume where the form was
                await self._send_and_wait("/request")
        tally.given_up[f"stuck at {await self.step()}: {(self.texts() or [''])[-1][:60]!r}"] += 1

    def codes(self) -> set[str]:
        return {m for t in self.texts() for m in re.findall(r"HT-\d{4,}", t)}

    async def _send_and_wait(self, text: str) -> bool:
        before = len(self.texts())
        await self.type(text)
        return await self.wait_answer(before)

    async def _choose_and_wait(self, step: str, value: str) -> bool:
        before = len(self.texts())
        if not await self.choose(step, value):
            return await self._send_and_wait("/request")  # the question is not on screen: show it again
        return await self.wait_answer(before)

    async def _phone(self, phone: str) -> bool:
        before = len(self.texts())
        await self.share_phone_or_type(phone)
        return await self.wait_answer(before)

    async def share_phone_or_type(self, phone: str) -> None:
        await self.type(phone)

    async def subscribe(self) -> None:
        before = len(self.texts())
        await self.type("/subscribe")
        if not await self.wait_answer(before):
            return
        if await self.choose("subscribe", "yes"):
            self.soak.tally.subscribed += 1


class TelegramResident(Resident):
    channel = "telegram"

    def __init__(self, soak: Soak, index: int) -> None:
        super().__init__(soak, index)
        self.user: SandboxUser = soak.sandbox.user(FIRST_TG + index, f"Dân {index}")
        self.soak.tally.secrets.add(f"91{self.user.id % 10_000_000:07d}")  # the shared contact's number

    @property
    def external(self) -> str:
        return str(self.user.id)

    def texts(self) -> list[str]:
        return [m.text or m.caption or "" for m in self.user.messages()]

    async def type(self, text: str) -> None:
        await self.user.send(text)

    def _with_button(self, prefix: str) -> tuple[SentMessage, str] | None:
        for message in reversed(self.user.messages()[-6:]):
            for data in message.callback_data:
                if data.startswith(prefix):
                    return message, data
        return None

    async def choose(self, step: str, value: str) -> bool:
        if step == "subscribe":
            found = next(((m, m.callback_data[0]) for m in reversed(self.user.messages()[-3:]) if m.callback_data),
                         None)
        else:
            found = self._with_button(f"rq:{step}:{value}")
        if found is None:
            return False
        with contextlib.suppress(Exception):  # a button pressed twice, or gone
            await self.user.press(found[0], found[1])
        return True

    async def share_phone_or_type(self, phone: str) -> None:
        await self.user.send_contact()


class ZaloResident(Resident):
    channel = "zalo"

    def __init__(self, soak: Soak, index: int) -> None:
        super().__init__(soak, index)
        self.user: ZaloUser = soak.sandbox.zalo.user(f"5oa{index:05x}", f"Zalo {index}")

    @property
    def external(self) -> str:
        return self.user.id

    def texts(self) -> list[str]:
        return self.user.texts()

    async def type(self, text: str) -> None:
        await self.user.send(text)

    async def choose(self, step: str, value: str) -> bool:
        last = self.texts()[-1] if self.texts() else ""
        if not re.search(r"^1\. ", last, re.MULTILINE):
            return False
        if step == "village":
            await self.type("thon 2")
        else:
            await self.type("1")  # the first option: agree / yes, use them / level 2 / the first time / confirm
        return True


# --- officers ---------------------------------------------------------------------------------------------


class Officer:
    """Claims each new request from the group, writes to the resident, closes it (one at a time)."""

    def __init__(self, soak: Soak) -> None:
        self.soak = soak
        self.user = soak.sandbox.user(OFFICER, "Cán bộ Hùng")

    def _button(self, chat: int, data: str) -> SentMessage | None:
        for message in reversed(self.soak.sandbox.messages(chat)):
            if data in message.callback_data:
                return message
        return None

    async def _press(self, chat: int, data: str) -> bool:
        message = self._button(chat, data)
        if message is None:
            return False
        with contextlib.suppress(Exception):
            await self.user.press(message, data)
        return True

    async def _status(self, request_id: int) -> str:
        return str(await self.soak.svc.db.fetchval("SELECT status FROM help_requests WHERE id = ?", (request_id,)))

    async def _events(self, request_id: int, kind: str) -> int:
        return int(await self.soak.svc.db.fetchval(
            "SELECT COUNT(*) FROM help_events WHERE request_id = ? AND kind = ?", (request_id, kind)) or 0)

    async def work(self, request_id: int, code: str) -> None:
        tally = self.soak.tally
        patience = self.soak.patience
        for _ in range(6):  # claim from the group notice
            if await self._status(request_id) != "new":
                break
            await self._press(OFFICERS_CHAT, f"hq:claim:{request_id}")
            await eventually(lambda: self._is_not(request_id, "new"), patience)
        if await self._status(request_id) == "new":
            return
        tally.officer_actions["claimed"] += 1
        text = f"Soak nhắn {code}: nhớ mang thẻ"
        for _ in range(6):  # a message to the resident
            if await self._events(request_id, "message"):
                break
            if await self._press(OFFICER, f"hq:msg:{request_id}"):
                if await eventually(lambda: self._prompted(), patience):
                    await self.user.send(text)
                    await eventually(lambda: self._has_event(request_id, "message"), patience)
            else:
                await self.user.send(f"/queue {request_id}")
                await asyncio.sleep(1)
        if await self._events(request_id, "message"):
            tally.officer_messages[code] = text
            tally.officer_actions["message"] += 1
        for _ in range(6):  # done, with an outcome
            if await self._status(request_id) == "done":
                break
            if await self._press(OFFICER, f"hq:done:{request_id}"):
                await eventually(lambda: self._button(OFFICER, f"hz:{request_id}:level2") is not None, patience)
                await self._press(OFFICER, f"hz:{request_id}:level2")
                await eventually(lambda: self._is(request_id, "done"), patience)
            else:
                await self.user.send(f"/queue {request_id}")
                await asyncio.sleep(1)
        if await self._status(request_id) == "done":
            tally.officer_actions["done"] += 1

    async def _is(self, request_id: int, status: str) -> bool:
        return await self._status(request_id) == status

    async def _is_not(self, request_id: int, status: str) -> bool:
        return await self._status(request_id) != status

    async def _has_event(self, request_id: int, kind: str) -> bool:
        return await self._events(request_id, kind) > 0

    async def _prompted(self) -> bool:
        person = await self.soak.svc.identities.get("telegram", str(OFFICER))
        if person is None:
            return False
        return bool(await self.soak.svc.db.fetchval(
            "SELECT COUNT(*) FROM help_officer_inputs WHERE person_id = ?", (person.person_id,)))

    async def run(self, until: Callable[[], bool]) -> None:
        done: set[int] = set()
        while not until():
            rows = await self.soak.svc.db.fetchall(
                "SELECT id FROM help_requests WHERE posted_at IS NOT NULL AND status != 'done'"
                " AND status != 'cancelled' ORDER BY id")
            pending = [(int(r["id"]), ref_code(int(r["id"]))) for r in rows if int(r["id"]) not in done]
            for request_id, code in pending:
                await self.work(request_id, code)
                if await self._status(request_id) == "done":
                    done.add(request_id)
            await asyncio.sleep(2)


# --- faults -----------------------------------------------------------------------------------------------


class Faults:
    def __init__(self, soak: Soak) -> None:
        self.soak = soak
        self.rng = random.Random(14)

    def _window(self, rule: FaultRule, seconds: float) -> Awaitable[None]:
        world = self.soak.sandbox.world
        world.add_fault(rule)

        async def end() -> None:
            await asyncio.sleep(seconds)
            with contextlib.suppress(ValueError):
                world.faults.remove(rule)
        return end()

    def _zalo_window(self, fault: Fault, seconds: float) -> Awaitable[None]:
        zalo = self.soak.sandbox.zalo
        zalo.faults.append(fault)

        async def end() -> None:
            await asyncio.sleep(seconds)
            fault.times = 0
        return end()

    async def lock_database(self, seconds: float) -> None:
        held = threading.Event()

        def hold() -> None:
            connection = sqlite3.connect(self.soak.settings.db_path, timeout=30)
            try:
                connection.execute("BEGIN IMMEDIATE")
                held.set()
                time.sleep(seconds)
                connection.rollback()
            finally:
                connection.close()
        thread = threading.Thread(target=hold, daemon=True)
        thread.start()
        await asyncio.to_thread(thread.join)

    async def one(self, kind: str) -> None:
        sandbox = self.soak.sandbox
        self.soak.tally.faults[kind] += 1
        if kind == "tg-429-chat":
            resident = self.rng.choice([r for r in self.soak.residents if isinstance(r, TelegramResident)])
            sandbox.simulate_flood(retry_after=5, count=2, chat_id=resident.user.id)
        elif kind == "tg-429-group":
            sandbox.simulate_flood(retry_after=15, count=1, chat_id=OFFICERS_CHAT)
        elif kind == "tg-502":
            await self._window(FaultRule(502, "Bad Gateway", 10**9), 8)
        elif kind == "tg-slow":
            await self._window(FaultRule(200, "slow", 10**9, delay=6.0), 10)
        elif kind == "stale-acks":
            sandbox.world.answer_deadline = 0.0
            await asyncio.sleep(20)
            sandbox.world.answer_deadline = None
        elif kind == "db-lock":
            await self.lock_database(15)
        elif kind == "zalo-429":
            sandbox.zalo.add_fault("sendMessage", 429, times=3, retry_after=3)
        elif kind == "zalo-502":
            await self._zalo_window(Fault("*", 502, "Bad Gateway", 10**9, http_status=502), 8)
        elif kind == "zalo-slow":
            sandbox.zalo.add_fault("sendMessage", 0, times=4, delay=12)

    async def run(self, every: float, until: Callable[[], bool]) -> None:
        cycle = ("tg-429-chat", "tg-502", "zalo-429", "tg-slow", "stale-acks", "tg-429-group", "db-lock",
                 "zalo-502", "zalo-slow")
        i = 0
        while not until():
            await asyncio.sleep(every)
            if until():
                return
            await self.one(cycle[i % len(cycle)])
            i += 1


# --- the soak ---------------------------------------------------------------------------------------------


class Soak:
    def __init__(self, args: argparse.Namespace, sandbox: Sandbox, settings: Settings, svc: Services) -> None:
        self.args = args
        self.sandbox = sandbox
        self.settings = settings
        self.svc = svc
        self.patience: float = args.patience
        self.tally = Tally()
        self.residents: list[Resident] = []
        self.campaigns: list[tuple[int, str]] = []

    async def resident_loop(self, resident: Resident, until: Callable[[], bool]) -> None:
        rng = resident.rng
        await asyncio.sleep(rng.uniform(0, self.args.think))
        while not until():
            roll = rng.random()
            try:
                if roll < 0.65:
                    await resident.ask()
                elif roll < 0.85:
                    await resident.file_request()
                else:
                    await resident.subscribe()
            except Exception:  # a driver bug must not end the soak silently
                logging.getLogger("soak").exception("resident %s", resident.index)
            await asyncio.sleep(rng.uniform(self.args.think / 2, self.args.think * 1.5))

    async def campaign_loop(self, until: Callable[[], bool]) -> None:
        k = 0
        while not until():
            k += 1
            marker = f"Thông báo thử số {k} của xã"
            campaign_id = await self.svc.campaigns.create(f"{marker}: họp thôn tối thứ Bảy", at=None)
            self.campaigns.append((campaign_id, marker))
            waited = 0.0
            while waited < self.args.campaign_every and not until():
                await asyncio.sleep(1)
                waited += 1


def copies_of(sandbox: Sandbox, marker: str) -> Counter[tuple[str, str]]:
    """How many copies of a campaign's message each chat received, on both channels."""
    counts: Counter[tuple[str, str]] = Counter()
    for chat_id, chat in sandbox.world.chats.items():
        for _kind, message in chat.log:
            if message.from_bot and marker in (message.text or ""):
                counts[("telegram", str(chat_id))] += 1
    for zalo_chat, zalo_messages in sandbox.zalo.chats.items():
        for zalo_message in zalo_messages:
            if zalo_message.from_bot and marker in zalo_message.text:
                counts[("zalo", zalo_chat)] += 1
    return counts


async def check(soak: Soak, trap: LogTrap) -> tuple[bool, list[str]]:
    svc, sandbox, tally = soak.svc, soak.sandbox, soak.tally
    db = svc.db
    lines: list[str] = []
    ok = True
    # Requests: each confirmed once, none twice.
    rows = await db.fetchall("SELECT id, note, status FROM help_requests")
    by_token = Counter(str(r["note"] or "").removeprefix("Ghi chú ") for r in rows)
    twice = [t for t, n in by_token.items() if n > 1]
    missing = [t for t in tally.confirmed if by_token[t] != 1]
    pressed_unseen = [t for t in tally.pressed_confirm if t not in tally.confirmed]
    stored_unseen = [t for t in pressed_unseen if by_token[t] == 1]
    lines.append(f"  help requests        {len(rows)} stored; {len(tally.confirmed)} confirmations seen by residents, "
                 f"all stored once: {not missing}; stored twice: {len(twice)}; confirm pressed without the answer "
                 f"seen: {len(pressed_unseen)} (of which stored: {len(stored_unseen)}); forms given up: "
                 f"{sum(tally.given_up.values())} {dict(tally.given_up)}; forms started: {tally.forms_started}")
    ok &= not missing and not twice
    # Notices: claimed / message / done, once each per request.
    notice_counts: Counter[str] = Counter()
    bad_notices: list[str] = []
    for row in rows:
        code, status = ref_code(int(row["id"])), str(row["status"])
        person = await db.fetchval("SELECT person_id FROM help_requests WHERE id = ?", (row["id"],))
        identity = await db.fetchone("SELECT channel, external_id FROM identities WHERE person_id = ?", (person,))
        if identity is None:
            continue
        resident = next((r for r in soak.residents if r.channel == identity["channel"]
                         and r.external == identity["external_id"]), None)
        if resident is None:
            continue
        texts = resident.texts()
        wanted = {"claimed": status in ("claimed", "scheduled", "done"), "done": status == "done",
                  "message": code in tally.officer_messages}
        got = {"claimed": sum(code in t and "đã nhận yêu cầu" in t for t in texts),
               "done": sum(code in t and "đã xong" in t for t in texts),
               "message": sum(f"Soak nhắn {code}" in t for t in texts)}
        for kind, want in wanted.items():
            if want:
                notice_counts[kind] += 1
                if got[kind] != 1:
                    bad_notices.append(f"{code} {kind}×{got[kind]}")
    outbox = await db.fetchall("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")
    lines.append(f"  officer notices      claimed {notice_counts['claimed']}, messages {notice_counts['message']}, "
                 f"done {notice_counts['done']}; not exactly once: {len(bad_notices)} {bad_notices[:5]}; outbox "
                 + ", ".join(f"{r['status']} {r['n']}" for r in outbox))
    ok &= not bad_notices
    # What the officer could not finish (when the drain ended early): enough to tell a driver from a bot fault.
    for r in await db.fetchall("SELECT id, status FROM help_requests WHERE status NOT IN ('done', 'cancelled')"):
        kinds = [str(e["kind"]) for e in await db.fetchall(
            "SELECT kind FROM help_events WHERE request_id = ? ORDER BY id", (r["id"],))]
        lines.append(f"  left open            {ref_code(int(r['id']))} {r['status']}; history: {', '.join(kinds)}")
    # Campaigns: once per subscriber (duplicates within the bound), report beside what arrived.
    bound = window_for(soak.args.rate) + window_for(soak.args.zalo_rate)  # a run's in-flight rows per channel
    for campaign_id, marker in soak.campaigns:
        copies = copies_of(sandbox, marker)
        report = await svc.campaigns.report(campaign_id)
        rows_d = await db.fetchall(
            "SELECT d.status, i.channel, i.external_id FROM deliveries d JOIN campaign_runs r ON r.id = d.run_id"
            " JOIN identities i ON i.person_id = d.person_id WHERE r.campaign_id = ?", (campaign_id,))
        sent_rows = [(str(r["channel"]), str(r["external_id"])) for r in rows_d if r["status"] == "sent"]
        other = [(str(r["channel"]), str(r["external_id"])) for r in rows_d if r["status"] != "sent"]
        sent_missing = sum(1 for key in sent_rows if copies[key] == 0)
        duplicates = sum(max(0, n - 1) for n in copies.values())
        third = sum(1 for n in copies.values() if n > 2)
        arrived_unreported = sum(1 for key in other if copies[key] > 0)
        summary = report.to_json() if report else {}
        lines.append(f"  campaign {campaign_id:<3}         report {summary.get('status')} sent {summary.get('sent')} "
                     f"failed {summary.get('failed')} blocked {summary.get('blocked')} pending "
                     f"{summary.get('pending')}; chats that received it {len(copies)}; 'sent' rows with nothing "
                     f"received {sent_missing}; duplicates {duplicates} (bound {bound}); a third copy {third}; "
                     f"not 'sent' but arrived {arrived_unreported}")
        ok &= sent_missing == 0 and duplicates <= bound and third == 0 and summary.get("pending") == 0
    # Nothing unmasked: in the log, and in the database outside the request's own fields.
    def readable(text: str) -> str | None:
        """A secret written out in `text` (digits, maybe split by spaces, dots, dashes or brackets)."""
        for run in NUMBER_RUN.findall(text):
            digits = re.sub(r"\D", "", run)
            for secret in tally.secrets:
                if secret in digits:
                    return text.replace(run, "<" + "#" * len(run) + ">")[:160]
        return None

    leaks_log = [found for line in trap.lines if (found := readable(line))]
    allowed = {("help_requests", "phone"), ("help_requests", "id_number"), ("help_requests", "full_name"),
               ("help_drafts", "data")}  # the request's own fields, and a form still being filled in
    leaks_db: list[str] = []
    tables = [str(r["name"]) for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        columns = [str(r["name"]) for r in await db.fetchall(f"PRAGMA table_info({table})")]
        for column in columns:
            if (table, column) in allowed:
                continue
            values = await db.fetchall(f"SELECT {column} AS v FROM {table} WHERE typeof({column}) = 'text'")
            for value in values:
                found = readable(str(value["v"]))
                if found:
                    leaks_db.append(f"{table}.{column}: {found}")
                    break
    lines.append(f"  masking              {len(tally.secrets)} phone/ID numbers typed; readable in {len(trap.lines)} "
                 f"log lines: {len(leaks_log)} {leaks_log[:2]}; readable in the database outside the request's "
                 f"fields: {len(leaks_db)} {leaks_db[:3]}")
    ok &= not leaks_log and not leaks_db
    return ok, lines


async def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING)
    trap = LogTrap()
    trap.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    for name in ("bot", "handlers", "storage"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.addHandler(trap)
    with tempfile.TemporaryDirectory() as tmp:
        content = content_copy(Path(tmp))
        async with Sandbox() as sandbox:
            officer_user = sandbox.user(OFFICER, "Cán bộ Hùng")
            sandbox.group(OFFICERS_CHAT, "Tổ hỗ trợ VNeID", members=[officer_user])
            settings = Settings(token=SANDBOX_TOKEN, api_url=sandbox.url, data_dir=Path(tmp) / "data",
                                content_dir=content, officer_chat_id=OFFICERS_CHAT, broadcast_rate=args.rate,
                                zalo_token=ZALO_TOKEN, zalo_api_url=sandbox.zalo_url,
                                zalo_broadcast_rate=args.zalo_rate)
            runtime = Runtime(settings, telegram_poll_timeout=1, zalo_poll_timeout=1)
            await runtime.start()
            await sandbox.wait_until_polling()
            svc = runtime.services
            person = await svc.identities.ensure("telegram", str(OFFICER))
            await svc.staff.add(person, "officer", "soak", "Cán bộ Hùng")
            villages = [v.id for v in svc.content.commune.villages]
            seeded_tg = [sandbox.user(FIRST_SEEDED + i, f"Người nhận {i}") for i in range(args.subscribers)]
            await svc.campaigns.subscriptions.add_many(
                [(u.id, u.id, "vi", villages[i % len(villages)]) for i, u in enumerate(seeded_tg)])
            seeded_zalo = [sandbox.zalo.user(f"5eed{i:05x}", f"Zalo nhận {i}") for i in range(args.subscribers // 3)]
            await svc.campaigns.subscriptions.add_many(
                [(u.id, u.id, "vi", villages[i % len(villages)]) for i, u in enumerate(seeded_zalo)], channel="zalo")
            soak = Soak(args, sandbox, settings, svc)
            soak.residents = [*(TelegramResident(soak, i) for i in range(args.telegram)),
                              *(ZaloResident(soak, i) for i in range(args.zalo))]
            started = time.monotonic()
            end = started + args.minutes * 60

            def over() -> bool:
                return time.monotonic() >= end

            officer = Officer(soak)
            tasks = [asyncio.create_task(soak.resident_loop(r, over)) for r in soak.residents]
            tasks.append(asyncio.create_task(soak.campaign_loop(over)))
            tasks.append(asyncio.create_task(Faults(soak).run(args.fault_every, over)))
            drained = [False]
            officer_task = asyncio.create_task(officer.run(lambda: drained[0]))
            await asyncio.gather(*tasks)
            sandbox.clear_faults()
            sandbox.zalo.faults.clear()
            sandbox.world.answer_deadline = None
            soaked = time.monotonic() - started

            async def settled() -> bool:
                left = await svc.db.fetchval(
                    "SELECT COUNT(*) FROM help_requests WHERE status NOT IN ('done', 'cancelled')")
                outbox = await svc.db.fetchval("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
                runs = await svc.db.fetchval("SELECT COUNT(*) FROM campaign_runs WHERE status != 'done'")
                return not left and not outbox and not runs
            drain_ok = await eventually(settled, args.drain, step=2)
            drained[0] = True
            await officer_task
            await asyncio.sleep(8)  # the last late answers
            ok, lines = await check(soak, trap)
            await runtime.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tally = soak.tally
    print(f"soak: {soaked / 60:.1f} minutes, {args.telegram} Telegram + {args.zalo} Zalo residents, "
          f"{args.subscribers} + {args.subscribers // 3} seeded subscribers, a campaign every "
          f"{args.campaign_every:g} s, a fault every {args.fault_every:g} s; drained: {drain_ok}")
    print("  faults injected      " + ", ".join(f"{k} ×{n}" for k, n in sorted(tally.faults.items())))
    print(f"  questions            {tally.asked} asked, {tally.unanswered} with no answer after asking three times; "
          f"{tally.subscribed} subscriptions by residents")
    print("  officer              " + ", ".join(f"{k} {n}" for k, n in sorted(tally.officer_actions.items())))
    for line in lines:
        print(line)
    print(f"  peak memory (RSS)    {rss:.0f} MB (bot + both stand-ins + drivers)")
    print(f"  result               {'PASS' if ok and drain_ok else 'FAIL'}")
    return 0 if ok and drain_ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--telegram", type=int, default=40, help="residents on Telegram")
    parser.add_argument("--zalo", type=int, default=20, help="residents on Zalo")
    parser.add_argument("--subscribers", type=int, default=300, help="seeded Telegram subscribers (Zalo: a third)")
    parser.add_argument("--rate", type=float, default=30.0, help="BOT_BROADCAST_RATE")
    parser.add_argument("--zalo-rate", type=float, default=10.0, help="ZALO_BROADCAST_RATE")
    parser.add_argument("--think", type=float, default=20.0, help="mean seconds between a resident's actions")
    parser.add_argument("--patience", type=float, default=25.0, help="seconds a resident waits for an answer")
    parser.add_argument("--campaign-every", type=float, default=300.0)
    parser.add_argument("--fault-every", type=float, default=40.0)
    parser.add_argument("--drain", type=float, default=600.0, help="seconds to let everything finish at the end")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
