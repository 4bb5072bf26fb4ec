"""The web chat: a phone-like page where anyone plays residents, officers and the culture officer against
the real bot, served by the sandbox itself on 127.0.0.1 (no CDN, no web fonts: every asset is in
``devtools/sandbox/web/``; updates reach the page as Server-Sent Events).

Routes, mounted on the sandbox's HTTP server by `WebChat.mount` (the page drives users through the
sandbox's control API: ``/sandbox/send``, ``press``, ``contact``, ``messages``, ``events``):

- ``GET /`` the page (labels translated here; ``?lang=en`` for English), ``GET /app.css``, ``GET /app.js``;
- ``GET /web/setup`` personas, the officers' group, the page's labels (JSON);
- ``GET /web/panel?user_id=`` the side panel: the FAQ match of the last question, the help-request queue
  (phone numbers masked), campaign progress, subscribers;
- ``POST /web/reload`` (``Content-Type: application/json``): the bot reads ``content/`` again (an edited
  answer) and restarts on the same database; content with errors is refused with its problems (file, line)
  and the running bot keeps the previous content;
- ``POST /web/reset`` (same content type) wipes the sandbox: its world, and the sandbox database (the bot is
  stopped, the database files deleted, the bot started again with fresh content, roles granted again).

Every route answers only loopback Host names and same-origin requests (the control API's rule against DNS
rebinding and cross-site requests), and the page carries a Content-Security-Policy that allows nothing but
this origin.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from bot.campaigns.audience import Audience
from bot.campaigns.errors import CampaignError
from bot.content import ContentError
from bot.helpdesk.model import OFFICER_STATUS_LABELS, ref_code
from bot.helpdesk.model import TOPICS as HELP_TOPICS
from bot.i18n import LANGUAGES, N_, Catalogs, Translate, fmt_datetime
from bot.privacy import mask_phone
from devtools.sandbox.client import SANDBOX_TOKEN
from devtools.sandbox.local import (
    OFFICER,
    OFFICERS_GROUP_ID,
    OFFICERS_GROUP_TITLE,
    PERSONAS,
    LocalBot,
    populate,
)
from devtools.sandbox.server import Request, Response
from handlers.telegram.app import App, Services, build_application

log = logging.getLogger(__name__)

# name -> content type; nothing else under devtools/sandbox/web/ is ever served
ASSETS = {"app.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
          "zalo.js": "text/javascript; charset=utf-8"}
PAGE = "index.html"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"),
)
PANEL_REQUESTS = 12  # the newest requests shown (open ones first)
PANEL_CAMPAIGNS = 6
_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")
_TAG = re.compile(r"<[^>]*>")

# The page's words: English message ids, translated with the bot's catalogs (domain "web").
LABELS: dict[str, str] = {
    "zalo_title": N_("The same bot on Zalo"),
    "zalo_hint": N_("Zalo has no buttons: type the number of a choice, or its words."),
    "zalo_who": N_("Resident on Zalo"),
    "title": N_("Bot simulator"),
    "subtitle": N_("Try the bot without a Telegram account. Everything stays on this computer."),
    "who": N_("Who are you?"),
    "role_resident": N_("Resident"),
    "role_officer": N_("Commune police"),
    "role_editor": N_("Culture officer"),
    "role_group": N_("Officers' group"),
    "bot_name": N_("Commune information bot"),
    "bot_sub": N_("bot"),
    "members": N_("{n} members and the bot"),
    "typing": N_("typing…"),
    "message": N_("Write a message…"),
    "send": N_("Send the message"),
    "start": N_("START"),
    "edited": N_("edited"),
    "you_are": N_("You are {name}"),
    "group_as": N_("In the group you write as {name}"),
    "attach": N_("Attach"),
    "attach_contact": N_("My phone number"),
    "attach_photo": N_("A photo"),
    "attach_sticker": N_("A sticker"),
    "commands": N_("Commands"),
    "share_question": N_("Share your phone number with the bot?"),
    "share": N_("Share my number"),
    "cancel": N_("Cancel"),
    "ok": N_("Close"),
    "contact": N_("Shared phone number"),
    "photo": N_("Photo"),
    "voice": N_("Voice message"),
    "sticker": N_("Sticker"),
    "not_simulated": N_("This kind of button is not simulated here."),
    "send_failed": N_("Could not send: {error}"),
    "offline": N_("Connection lost. Reconnecting…"),
    "empty_chat": N_("No messages yet. Press START to talk to the bot."),
    "empty_group": N_("The bot posts new help requests here."),
    "panel": N_("For testing"),
    "last_question": N_("Last question"),
    "no_question": N_("No question yet."),
    "faq_id": N_("FAQ id"),
    "score": N_("Match score"),
    "status_answer": N_("answered"),
    "status_unsure": N_("not sure: offered choices"),
    "status_out_of_scope": N_("out of scope: declined"),
    "status_empty": N_("empty question"),
    "closest": N_("Closest FAQs"),
    "thresholds": N_("Answers from a score of {answer}; suggestions from {unsure}."),
    "requests": N_("Help requests"),
    "no_requests": N_("No request yet."),
    "open_count": N_("{n} open"),
    "campaigns": N_("Announcements"),
    "no_campaigns": N_("No announcement yet."),
    "subscribers": N_("{n} residents receive announcements"),
    "progress": N_("sent {sent}/{total}"),
    "failed": N_("failed {n}"),
    "blocked": N_("blocked the bot {n}"),
    "pending": N_("waiting {n}"),
    "reset": N_("Start over"),
    "reset_question": N_("Erase every test message, request, announcement and subscription, and restart the "
                         "bot?"),
    "resetting": N_("Starting over…"),
    "reset_done": N_("Done: everything starts again from zero."),
    "reload": N_("Read the content again"),
    "reload_hint": N_("After editing the files in content/: the bot answers with the new text; nothing is "
                      "erased."),
    "reloading": N_("Reading the content…"),
    "reload_done": N_("Done: the bot now uses the content as it is on disk."),
    "reload_failed": N_("The content has errors; the bot keeps the previous version:"),
    "local_only": N_("Only this computer can open this page."),
    "report": N_("Project 06 figures this month"),
    "report_hint": N_("What the monthly report counts (python -m bot report monthly)."),
}
# The link to the other language names it in that language (endonyms are not translated).
OTHER_LANGUAGE = {"vi": ("en", "English"), "en": ("vi", "Tiếng Việt")}
CAMPAIGN_STATUS: dict[str, str] = {
    "scheduled": N_("Scheduled"),
    "sending": N_("Sending"),
    "paused": N_("Paused (quiet hours)"),
    "done": N_("Sent"),
    "cancelled": N_("Cancelled"),
    "missed": N_("Missed"),
}


class ResetRefused(RuntimeError):
    """The data folder does not look like the sandbox's own: nothing is deleted."""


@dataclass(frozen=True)
class PersonaView:
    """A chat the page can show: a persona's private chat, or the officers' group (as the officer)."""

    key: str
    chat_id: int
    actor_id: int
    name: str
    role: str  # resident | officer | editor | group

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "chat_id": self.chat_id, "actor_id": self.actor_id, "name": self.name,
                "role": self.role}


def views() -> list[PersonaView]:
    """The personas (residents, the police officer, the culture officer) and the officers' group."""

    out = [PersonaView(p.key, p.user_id, p.user_id, p.name, p.role or "resident") for p in PERSONAS]
    out.append(PersonaView("group", OFFICERS_GROUP_ID, OFFICER.user_id, OFFICERS_GROUP_TITLE, "group"))
    return out


def _lang(request: Request) -> str:
    lang = request.query.get("lang", "vi")
    return lang if lang in LANGUAGES else "vi"


def _json(data: Any, status: int = 200) -> Response:
    response = Response.json(data, status)
    response.headers = SECURITY_HEADERS
    return response


class WebChat:
    """The page, its JSON and the reset, on top of a running `LocalBot` (whose `app` changes on reset)."""

    def __init__(self, local: LocalBot) -> None:
        self.local = local
        self.catalogs = Catalogs.load(local.settings.content_dir / "locales")
        self._restart_lock = asyncio.Lock()
        self.resetting = False

    def mount(self) -> None:
        """Serve the page and its JSON from the sandbox's own server (same port, 127.0.0.1)."""
        self.local.sandbox.add_route("GET", "/", self.handle_page)
        self.local.sandbox.add_route(None, "/web/", self.handle_api)

    @property
    def url(self) -> str:
        return self.local.sandbox.url + "/"

    def _allowed(self, request: Request) -> bool:
        return self.local.sandbox.server.control.allowed_host(request)

    # --- the page ----------------------------------------------------------------------------------

    def labels(self, lang: str) -> dict[str, str]:
        _ = self.catalogs.gettext(lang)
        return {key: _(msgid) for key, msgid in LABELS.items()}

    async def handle_page(self, request: Request) -> Response:
        if not self._allowed(request):
            return Response.text("forbidden host or origin", 403)
        name = request.path.lstrip("/")
        if name in ("", PAGE):
            return self.page(_lang(request))
        if name in ASSETS:
            return Response(200, _asset(name).encode("utf-8"), ASSETS[name], SECURITY_HEADERS)
        return Response.text("not found", 404)

    def page(self, lang: str) -> Response:
        """index.html with {{label}} placeholders filled (escaped) and the labels as JSON for app.js."""
        labels = self.labels(lang)
        values = {key: html.escape(text) for key, text in labels.items()}
        values["lang"] = lang
        values["other_lang"], values["other_language"] = OTHER_LANGUAGE[lang]
        # JSON inside <script type="application/json">: "<" escaped so no "</script>" can end it early
        values["labels_json"] = json.dumps(labels, ensure_ascii=False).replace("<", "\\u003c")
        text = _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), _asset(PAGE))
        return Response(200, text.encode("utf-8"), "text/html; charset=utf-8", SECURITY_HEADERS)

    # --- JSON --------------------------------------------------------------------------------------

    async def handle_api(self, request: Request) -> Response:
        if not self._allowed(request):
            return _json({"ok": False, "error": "forbidden host or origin"}, 403)
        name = request.path[len("/web/") :].strip("/")
        if request.method == "GET" and name == "setup":
            return _json({"ok": True, "result": self.setup(_lang(request))})
        if request.method == "GET" and name == "panel":
            raw = request.query.get("user_id", "")
            user_id = int(raw) if raw.lstrip("-").isdigit() else None
            return _json({"ok": True, "result": await self.panel(user_id, _lang(request))})
        if request.method == "POST" and name in ("reset", "reload"):
            # A cross-site form cannot send this content type without a CORS preflight (never granted).
            if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
                return _json({"ok": False, "error": "send Content-Type: application/json"}, 415)
            try:
                await (self.reset() if name == "reset" else self.reload())
            except ContentError as exc:
                problems = [str(p) for p in exc.problems]
                return _json({"ok": False, "error": "the content has errors", "problems": problems}, 422)
            return _json({"ok": True, "result": {}})
        return _json({"ok": False, "error": "no such endpoint"}, 404)

    def setup(self, lang: str) -> dict[str, Any]:
        self.speak(lang)
        commune = self.local.app.bot_data.svc.content.commune if self.local.app.bot_data.services else None
        return {
            "personas": [v.to_json() for v in views()],
            "commune": commune.display_name if commune else "",
            "group_members": len(self.local.sandbox.world.chats[OFFICERS_GROUP_ID].members)
            if OFFICERS_GROUP_ID in self.local.sandbox.world.chats else 0,
            "labels": self.labels(lang),
            "lang": lang,
        }

    def speak(self, lang: str) -> None:
        """The personas speak the page's language: their Telegram language_code, which the bot answers in."""
        world = self.local.sandbox.world
        for p in PERSONAS:
            user = world.users.get(p.user_id)
            if user is not None and user.language_code != lang:
                world.add_user(p.user_id, user.first_name, user.last_name, user.username, lang)

    async def panel(self, user_id: int | None, lang: str = "vi") -> dict[str, Any]:
        """What a maintainer watches while testing; personal data masked."""
        app = self.local.app
        if self.resetting or app.bot_data.services is None:
            return {"resetting": True}
        _ = self.catalogs.gettext(lang)
        svc = app.bot_data.svc
        try:
            return {
                "resetting": False,
                "question": await self._question(svc, user_id, lang),
                "thresholds": svc.faq.thresholds(),
                **await self._requests(svc, _, lang),
                **await self._campaigns(svc, _, lang),
                "report": await self._report(svc, _),
            }
        except Exception:
            if self.resetting or app is not self.local.app:  # the bot was stopped under our feet
                return {"resetting": True}
            raise

    async def _question(self, svc: Services, user_id: int | None, lang: str) -> dict[str, Any] | None:
        if user_id is None:
            asked = await svc.questions.latest()
        else:  # a web-chat persona is a Telegram (or Zalo) user of the sandbox: find the person behind it
            identity = await svc.identities.get("telegram", str(user_id))
            asked = None if identity is None else await svc.questions.latest(identity.person_id)
        if asked is None:
            return None
        faq = svc.faq
        # The closest FAQs for the stored (masked) text, best first: what an editor tunes against. The bot's
        # own ranking (classifier and lexical index together); for a decline, which has none, the index's.
        ids: list[str] = []
        if asked.text.strip():
            ids = list(faq.ask(asked.text).candidates) or [s.faq_id for s in faq.index.search_detail(asked.text, k=3)]
        closest = [{"id": i, "title": faq.faq(i).title} for i in ids[:3] if i in svc.content.faqs]
        title = faq.faq(asked.topic).title if asked.topic in svc.content.faqs else None
        return {"text": asked.text, "status": asked.status, "topic": asked.topic, "title": title,
                "score": round(asked.score, 4), "at": _when(asked.asked_at, lang), "closest": closest}

    async def _requests(self, svc: Services, _: Translate, lang: str) -> dict[str, Any]:
        everything = await svc.helpdesk.store.listing()
        open_ = [r for r in everything if r.is_open]
        shown = (open_ + [r for r in reversed(everything) if not r.is_open])[:PANEL_REQUESTS]
        commune = svc.content.commune
        rows = []
        for r in shown:
            village = commune.village(r.village)
            rows.append({
                "id": r.id,
                "code": ref_code(r.id),
                "status": r.status,
                "status_label": _(OFFICER_STATUS_LABELS.get(r.status, r.status)),
                "topic": _(HELP_TOPICS.get(r.topic, r.topic)),
                "village": village.name if village else r.village,
                "phone": mask_phone(r.phone) if r.phone else "",
                "officer": r.officer_name or "",
                "created": _when(r.created_at, lang),
            })
        return {"requests": rows, "open_requests": len(open_)}

    async def _campaigns(self, svc: Services, _: Translate, lang: str) -> dict[str, Any]:
        service = svc.campaigns
        rows = []
        for c in await service.list(PANEL_CAMPAIGNS):
            report = await service.report(c.id)
            try:
                audience = Audience.parse(c.audience, svc.content.commune).describe(_, svc.content.commune)
            except CampaignError:
                audience = c.audience
            rows.append({
                "id": c.id,
                "status": c.status,
                "status_label": _(CAMPAIGN_STATUS.get(c.status, c.status)),
                "text": " ".join(html.unescape(_TAG.sub("", c.html)).split())[:80],  # as residents read it
                "audience": audience,
                "when": _when(c.next_at or c.first_at, lang),
                "repeat": c.repeat or "",
                **({k: v for k, v in report.to_json().items() if k not in ("id", "status")} if report else {}),
            })
        return {"campaigns": rows, "subscribers": await service.audience_size("all")}

    async def _report(self, svc: Services, _: Translate) -> dict[str, Any]:
        """This month's figures so far, from the report service (the same numbers as the .docx)."""
        f = await svc.reports.current(datetime.now(UTC))
        q, r, c, s = f["questions"], f["requests"], f["campaigns"], f["subscribers"]
        rows = [
            (_("Questions asked"), q["asked"]), (_("Answered by the bot"), q["answered"]),
            (_("Help requests received"), r["received"]), (_("Done"), r["done"]),
            (_("Still open at the end of the month"), r["open_at_month_end"]),
            (_("Announcements sent"), c["sent"]), (_("Delivered"), f"{c['delivered']}/{c['recipients']}"),
            (_("Subscribers at the end of the month"), s["at_month_end"]), (_("New subscribers"), s["new"]),
        ]
        return {"month": f["month"], "rows": [[label, str(value)] for label, value in rows]}

    # --- reload and reset --------------------------------------------------------------------------

    async def reload(self) -> None:
        """Read content/ again and restart the bot on the same database (raises ContentError, bot untouched)."""
        await self._restart(wipe=False)
        self.catalogs = Catalogs.load(self.local.settings.content_dir / "locales")
        log.info("web chat: the content was read again")

    async def reset(self) -> None:
        """Forget everything: stop the bot, clear the sandbox world, delete the sandbox database, start again."""
        await self._restart(wipe=True)
        log.info("web chat: the sandbox was reset")

    async def _restart(self, *, wipe: bool) -> None:
        async with self._restart_lock:
            local = self.local
            settings = local.settings
            if wipe and (settings.token != SANDBOX_TOKEN or settings.data_dir.name != "sandbox"):
                raise ResetRefused(f"not the sandbox's data folder: {settings.data_dir}")
            # Built first: it reads content/ and the catalogs, so broken content stops here, bot still running.
            app: App = build_application(settings)
            self.resetting = True
            try:
                await local.stop_bot()
                if wipe:
                    local.sandbox.reset()
                    local.sandbox.zalo.reset()
                    for suffix in ("", "-wal", "-shm", "-journal"):
                        path = settings.db_path.with_name(settings.db_path.name + suffix)
                        path.unlink(missing_ok=True)
                    populate(local.sandbox)
                await local.start_bot(app)
            finally:
                self.resetting = False


def _asset(name: str) -> str:
    return resources.files("devtools.sandbox").joinpath("web", name).read_text(encoding="utf-8")


def _when(at: float | None, lang: str) -> str:
    if not at:
        return ""
    return fmt_datetime(datetime.fromtimestamp(at, UTC), lang)
