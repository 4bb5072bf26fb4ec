"""The help-request workflow over storage: the resident's form, the officers' queue and actions, timed jobs.

Channel-free: callers pass who is acting and what was typed or pressed; the service returns what to say
(`Say`, `Notice`) and the channel delivers it. Roles are checked here, on the server side, for every
officer action, and every refusal and every view of a request's detail goes to the audit log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.content import Commune
from bot.helpdesk import form
from bot.helpdesk import slots as slot_time
from bot.helpdesk.form import Env, Input, Pick, Text
from bot.helpdesk.messages import Msg, Say, msg
from bot.helpdesk.model import (
    DRAFT_IDLE_SECONDS,
    MAX_OPEN,
    OFFICER_INPUT_SECONDS,
    OUTCOMES,
    STATUS_LABELS,
    TOPICS,
    UNCLAIMED_WORKING_SECONDS,
    ref_code,
)
from bot.helpdesk.validate import Invalid, check_note
from bot.i18n import N_, Translate, fmt_date, fmt_time
from bot.privacy import mask_phone, mask_text
from storage.helpdesk import (
    OPEN,
    Draft,
    DraftGone,
    HelpEvent,
    HelpRequest,
    HelpStore,
    NewRequest,
    OfficerInput,
    PersonalData,
    TooManyOpen,
)
from storage.residents import Residents
from storage.staff import Staff

log = logging.getLogger(__name__)

STALE = msg(N_("This button is out of date."))
REPLY_WINDOW_SECONDS = 30 * 60        # plain text this soon after an officer's message answers it
ACTIVE_FORM_SECONDS = 10 * 60         # … unless the resident worked on an open form this recently
REPLY_HORIZON_SECONDS = 7 * 24 * 3600  # a platform reply to it, this long after


@dataclass(frozen=True)
class Who:
    """The resident (or officer) acting, and where to answer them."""

    person_id: int
    chat_id: str
    language: str
    channel: str = "telegram"
    contact_button: bool = True


@dataclass
class Reply:
    """What to answer a resident's input. `handled=False`: the text was not for the form (no form open)."""

    says: list[Say] = field(default_factory=list)
    handled: bool = True
    toast: Msg | None = None
    created: HelpRequest | None = None


@dataclass(frozen=True)
class Notice:
    """A message for a resident who is not the one acting (a change made by an officer, a reminder)."""

    chat_id: str
    language: str
    say: Say
    channel: str = "telegram"


@dataclass(frozen=True)
class Change:
    """The result of an officer's action: the request as it is now and the resident's notice, or why not."""

    request: HelpRequest | None
    notice: Notice | None = None
    problem: Msg | None = None


class NoticeBoard:
    """Posting to the officers' group runs one poster at a time; a request confirmed while it posts is
    flagged `pending` and picked up by the running poster before it stops."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.pending = False


class HelpdeskService:
    def __init__(self, store: HelpStore, staff: Staff, residents: Residents, commune: Commune,
                 retention_days: int = 180, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.staff = staff
        self.residents = residents
        self.commune = commune
        self.retention_days = retention_days
        self.clock = clock
        self.board = NoticeBoard()

    def _env(self, now: float, translate: Translate, who: Who | None = None) -> Env:
        return Env(self.commune, now, self.retention_days, translate, who.contact_button if who else True)

    # --- the resident's form ----------------------------------------------------------------------

    async def begin(self, who: Who, translate: Translate) -> list[Say]:
        """/request: the consent question, or the current question of a form already open."""
        now = self.clock()
        draft = await self._live_draft(who.person_id, now)
        env = self._env(now, translate, who)
        if draft is not None:
            draft.updated_at = now
            await self.store.save_draft(draft)
            return [Say(msg(N_("You have a request form in progress. Let us continue where you left off."))),
                    form.prompt(draft, env)]
        if await self.store.open_count(who.person_id) >= MAX_OPEN:
            return [self._too_many()]
        previous = next((r for r in await self.store.for_person(who.person_id)
                         if r.anonymised_at is None and r.full_name and r.phone), None)
        draft = await self.store.start_draft(who.person_id, who.chat_id, who.language,
                                             "reuse" if previous else "consent", now, who.channel)
        if previous is not None:  # a second request: offer the consent, name and phone given last time
            draft.data.update(name=previous.full_name, phone=previous.phone)
            await self.store.save_draft(draft)
        return [form.prompt(draft, env)]

    async def answer(self, who: Who, given: Input, translate: Translate) -> Reply:
        """One answer to the form: typed text, a button, a shared contact."""
        now = self.clock()
        draft = await self.store.draft(who.person_id)
        if draft is None:
            if isinstance(given, Text):
                return Reply(handled=False)
            if isinstance(given, Pick):
                if given.step == "summary" and given.value == "confirm":
                    return Reply(toast=msg(N_("This form was already sent or cancelled. See /status.")))
                return Reply(toast=STALE)
            return Reply([Say(msg(N_("Thank you, but I am not asking for a phone number now. To ask an "
                                     "officer for help, use /request.")))])
        if self._expired(draft, now):
            await self.store.delete_draft(who.person_id)
            return Reply([self._dropped()], toast=STALE if isinstance(given, Pick) else None)
        env = self._env(now, translate, who)
        outcome = form.answer(draft, given, env)
        if outcome.action == "confirm":
            return await self._confirm(draft, env)
        if outcome.action == "drop":
            await self.store.delete_draft(who.person_id)
        else:
            draft.updated_at = now
            if not await self.store.save_draft(draft):  # cancelled meanwhile (another device)
                return Reply(toast=STALE)
        return Reply(outcome.says, toast=outcome.toast)

    async def question_at_step(self, who: Who, text: str, translate: Translate, strong_faq: bool) -> bool:
        """Text typed into the open form that may be a question, not an answer (it reads like one, or an FAQ
        matches it strongly): it is kept aside and the resident is asked which it is."""
        now = self.clock()
        draft = await self._live_draft(who.person_id, now)
        if draft is None or draft.step in ("problem", "summary", "edit", "phone", "id"):
            return False
        env = self._env(now, translate, who)
        if form._chosen(draft.step, draft, Text(text), env) is not None:
            return False
        if not (form.reads_like_question(draft, text, env) or (strong_faq and draft.step == "name")):
            return False
        draft.data["pending"] = text[:500]
        draft.updated_at = now
        return await self.store.save_draft(draft)

    async def take_pending(self, who: Who) -> tuple[str, str] | None:
        """The text kept aside by `question_at_step` and the step it was typed at (removed from the draft)."""
        draft = await self.store.draft(who.person_id)
        if draft is None or "pending" not in draft.data:
            return None
        text = draft.data.pop("pending")
        draft.updated_at = self.clock()
        await self.store.save_draft(draft)
        return text, draft.step

    async def current_question(self, who: Who, translate: Translate) -> list[Say]:
        """The open form's current question again (after a sticker, or after an FAQ answer)."""
        now = self.clock()
        draft = await self._live_draft(who.person_id, now)
        return [form.prompt(draft, self._env(now, translate, who))] if draft is not None else []

    async def cancel_form(self, user_id: int) -> bool:
        """/cancel: drop the half-filled form; True when there was one."""
        return await self.store.delete_draft(user_id)

    async def _live_draft(self, user_id: int, now: float) -> Draft | None:
        draft = await self.store.draft(user_id)
        if draft is not None and self._expired(draft, now):
            await self.store.delete_draft(user_id)
            return None
        return draft

    @staticmethod
    def _expired(draft: Draft, now: float) -> bool:
        return draft.updated_at < now - DRAFT_IDLE_SECONDS

    async def _confirm(self, draft: Draft, env: Env) -> Reply:
        data = draft.data
        missing = next((s for s in ("topic", "name", "phone") if not data.get(s)), None)
        slot = slot_time.slot_from_key(self.commune, data.get("slot", ""), env.now)
        reason: Msg | None = None
        if missing is not None or draft.consent_at is None:
            draft.step, draft.editing = missing or "consent", False
            reason = msg(N_("Some answers are missing. Please answer this question."))
        elif data.get("slot") and slot is None:
            draft.step, draft.editing = "slot", True
            reason = msg(N_("The time you chose has passed. Please choose another time."))
        if reason is not None:
            draft.updated_at = env.now
            await self.store.save_draft(draft)
            return Reply([Say(reason), form.prompt(draft, env)])
        assert draft.consent_at is not None
        new = NewRequest(
            person_id=draft.person_id, chat_id=draft.chat_id, channel=draft.channel, language=draft.language,
            topic=data["topic"],
            full_name=data["name"], phone=data["phone"], village=data.get("village", ""),
            id_number=data.get("id") or None,
            slot_date=slot.day.isoformat() if slot else None,
            slot_start=slot.start.strftime("%H:%M") if slot else None,
            slot_end=slot.end.strftime("%H:%M") if slot else None,
            note=self._note(data), consent_at=draft.consent_at)
        try:
            request = await self.store.create(new, MAX_OPEN, env.now)
        except DraftGone:
            return Reply(toast=msg(N_("This form was already sent or cancelled. See /status.")))
        except TooManyOpen:
            return Reply([self._too_many()])
        log.info("help request %s created: %s, %s, phone %s", ref_code(request.id), request.topic,
                 request.village, mask_phone(request.phone))
        return Reply([self._confirmation(request)], created=request)

    @staticmethod
    def _note(data: dict[str, str]) -> str | None:
        """The note the officer reads: what the problem is ("Something else"), then the resident's note."""
        problem = data.get("problem") if data.get("topic") == "other" else None
        return "\n".join(part for part in (problem, data.get("note")) if part) or None

    def _confirmation(self, request: HelpRequest) -> Say:
        return Say(msg(N_(
            "✅ Your request has been sent. Your reference code is <b>{code}</b>.\n\n"
            "Please bring:\n"
            "• your căn cước card;\n"
            "• the phone whose SIM card is registered in your own name ({phone}).\n\n"
            "Next step: a commune police officer will call you to agree on the time (you chose: {slot}). "
            "You will also get a message here. See your requests with /status."),
            code=ref_code(request.id), phone=request.phone, slot=self.preferred(request)), menu=True)

    def _too_many(self) -> Say:
        return Say(msg(N_("You already have {count} open requests. Please wait until an officer handles them, "
                          "or cancel one in /status."), count=MAX_OPEN))

    @staticmethod
    def _dropped() -> Say:
        return Say(msg(N_("Your unfinished request form was dropped after 24 hours without an answer. Nothing "
                          "was sent. To start again, use /request.")), menu=True)

    # --- what residents see ----------------------------------------------------------------------

    async def requests_of(self, user_id: int) -> list[HelpRequest]:
        return await self.store.for_person(user_id)

    def status_line(self, request: HelpRequest) -> Msg:
        """'HT-0042 — Register level-2 electronic ID: appointment on Thứ Ba, 02/12 at 8:00'."""
        if request.status == "scheduled" and request.appointment_at:
            state = msg(N_("appointment on {when}"), when=self.when(request.appointment_at, request.language))
        elif request.status == "done" and request.outcome in OUTCOMES:
            state = msg(N_("done: {outcome}"), outcome=msg(OUTCOMES[request.outcome or ""]))
        else:
            state = msg(STATUS_LABELS[request.status])
        return msg(N_("<b>{code}</b> — {topic}: {state}"), code=ref_code(request.id), topic=self.topic(request),
                   state=state)

    @staticmethod
    def topic(request: HelpRequest) -> Msg:
        return msg(TOPICS.get(request.topic, N_("Something else")))

    def when(self, at: float, language: str) -> Msg:
        moment = slot_time.local_now(self.commune, at)
        return msg(N_("{date} at {time}"), date=fmt_date(moment.date(), language), time=fmt_time(moment.time()))

    def preferred(self, request: HelpRequest) -> Msg | str:
        if not (request.slot_date and request.slot_start and request.slot_end):
            return msg(N_("(none)"))
        slot = slot_time.Slot(datetime.fromisoformat(request.slot_date).date(), 0,
                              datetime.strptime(request.slot_start, "%H:%M").time(),
                              datetime.strptime(request.slot_end, "%H:%M").time())
        return slot_time.slot_label(slot, request.language)

    def place(self) -> Msg | str:
        values = self.commune.values
        return values.get("police_address") or values.get("police_name") or msg(N_("the commune police office"))

    async def cancel_own(self, user_id: int, request_id: int) -> HelpRequest | None:
        """The resident cancels one of their open requests (from /status)."""
        request = await self.store.get(request_id)
        if request is None or request.person_id != user_id:
            await self.staff.audit(f"person:{user_id}", "access.refused", f"request:{request_id}", "resident cancel")
            return None
        now = self.clock()
        done = await self.store.transition(request_id, OPEN, "cancelled", "resident", "cancelled", None, now,
                                           closed_at=now)
        if done is not None:
            log.info("help request %s cancelled by the resident", ref_code(request_id))
        return done

    async def reopen_own(self, user_id: int, request_id: int) -> HelpRequest | None:
        """The resident reopens a request closed as "could not reach" (from /status), no new form needed:
        back to the officer who had it, or to the queue."""
        request = await self.store.get(request_id)
        if request is None or request.person_id != user_id or request.anonymised_at is not None:
            await self.staff.audit(f"person:{user_id}", "access.refused", f"request:{request_id}", "resident reopen")
            return None
        status = "claimed" if request.officer_id else "new"
        done = await self.store.transition(request_id, ("unreachable",), status, "resident", "reopened", None,
                                           self.clock(), closed_at=None, appointment_at=None)
        if done is not None:
            log.info("help request %s reopened by the resident", ref_code(request_id))
        return done

    async def reply_target(self, user_id: int, platform_reply: bool) -> HelpRequest | None:
        """The open request a resident's text answers: the one whose officer last wrote to them, when the
        text is a platform reply to the bot, or comes within REPLY_WINDOW_SECONDS of that message — unless
        the resident has been filling in a new form since (then a plain text is that form's answer)."""
        now = self.clock()
        latest: tuple[float, HelpRequest] | None = None
        for request in await self.store.for_person(user_id):
            if not request.is_open or request.officer_id is None:
                continue
            written = [e.at for e in await self.store.events(request.id) if e.kind == "message"]
            if written and (latest is None or written[-1] > latest[0]):
                latest = (written[-1], request)
        if latest is None:
            return None
        if not platform_reply:
            draft = await self.store.draft(user_id)
            if draft is not None and (draft.updated_at >= latest[0] or now - draft.updated_at < ACTIVE_FORM_SECONDS):
                return None  # filling in a form (since the officer wrote, or just now): the text is its answer
        window = REPLY_HORIZON_SECONDS if platform_reply else REPLY_WINDOW_SECONDS
        return latest[1] if now - latest[0] <= window else None

    async def add_reply(self, request: HelpRequest, text: str) -> str | None:
        """Keep a resident's reply in the request's history; the cleaned text, or None when it is empty."""
        note = check_note(text)
        if isinstance(note, Invalid):
            return None
        note = mask_text(note)  # the history and the officer's notice never spell out a phone or ID number
        if not await self.store.add_event(request.id, "resident", "reply", note, self.clock(), only_if=OPEN):
            return None
        return note

    def draft_lines(self, draft: Draft, translate: Translate) -> tuple[Msg, ...]:
        """The answers of a half-filled form, one line each (for /mydata)."""
        return form.summary_lines(draft, self._env(self.clock(), translate))

    async def personal_data(self, user_id: int) -> PersonalData:
        return await self.store.personal_data(user_id)

    async def erase(self, user_id: int) -> list[HelpRequest]:
        """/mydata erasure: open requests cancelled, all anonymised, form dropped, resident forgotten.
        Returns the requests that were open (for the officers)."""
        now = self.clock()
        cancelled = await self.store.erase_person(user_id, now)
        await self.residents.forget(user_id)
        await self.staff.audit(f"person:{user_id}", "resident.erase", f"person:{user_id}",
                               f"{len(cancelled)} open request(s) cancelled")
        log.info("resident data erased (%d open request(s) cancelled)", len(cancelled))
        return cancelled

    # --- officers -------------------------------------------------------------------------------

    async def is_officer(self, user_id: int) -> bool:
        return await self.staff.has_role(user_id, "officer")

    async def refuse(self, user_id: int, action: str, request_id: int | None = None) -> None:
        """Record a refused officer action (not staff, or a forged button)."""
        # Forged button data may carry anything, even a phone number: both are masked like free text.
        target = mask_text(f"request:{request_id}") if request_id is not None else None
        what = mask_text(action[:80])
        await self.staff.audit(f"person:{user_id}", "access.refused", target, what)
        log.warning("refused %s for user %d", what, user_id)

    async def claim(self, request_id: int, officer_id: int, officer_name: str) -> tuple[bool, Change]:
        """Take a new request; exactly one of several simultaneous claimants wins."""
        won = await self.store.claim(request_id, officer_id, officer_name[:64], self.clock())
        request = await self.store.get(request_id)
        if not won:
            return False, Change(request)
        await self.staff.audit(f"person:{officer_id}", "request.claim", f"request:{request_id}")
        log.info("help request %s claimed by officer %d", ref_code(request_id), officer_id)
        assert request is not None
        return True, Change(request, self._notice(request, msg(N_(
            "👮 A commune police officer has taken your request <b>{code}</b> and will contact you soon."),
            code=ref_code(request_id))))

    async def queue(self, officer_id: int) -> list[HelpRequest]:
        """Open requests, oldest first (masked in lists; the listing is audited)."""
        requests = await self.store.queue()
        await self.staff.audit(f"person:{officer_id}", "request.list", None, f"{len(requests)} open")
        return requests

    async def view(self, request_id: int, officer_id: int) -> tuple[HelpRequest, list[HelpEvent]] | None:
        """A request's full detail for staff; every view is audited."""
        request = await self.store.get(request_id)
        if request is None:
            return None
        await self.staff.audit(f"person:{officer_id}", "request.view", f"request:{request_id}")
        return request, await self.store.events(request_id)

    async def schedule(self, request_id: int, officer_id: int, moment: datetime) -> Change:
        """Book the appointment; the resident is told the date and time (and reminded the evening before)."""
        now = self.clock()
        before = await self.store.get(request_id)
        # A time that cannot be used keeps the request (the officer is still asked for a time).
        problem = slot_time.office_problem(self.commune, moment, now)
        if problem == "far":
            return Change(before, problem=msg(N_("That is more than 90 days away. Please choose an earlier time.")))
        if problem is not None:
            start = max(moment, slot_time.local_now(self.commune, now))
            suggestion = slot_time.next_office_time(self.commune, start)
            free = self.when(suggestion.timestamp(), "vi") if suggestion else msg(N_("(none)"))
            if problem == "past":
                return Change(before, problem=msg(N_(
                    "That time has already passed. The next office time is {when}."), when=free))
            return Change(before, problem=msg(N_(
                "The office is closed then (office days and hours: {hours}). The next office time is {when}."),
                hours=self.commune.values.get("office_hours") or "—", when=free))
        at = moment.timestamp()
        remind = slot_time.reminder_at(self.commune, at)
        request = await self.store.transition(
            request_id, ("claimed", "scheduled"), "scheduled", f"person:{officer_id}", "scheduled",
            moment.isoformat(timespec="minutes"), now, appointment_at=at, remind_at=remind,
            reminded_at=now if remind <= now else None)  # booked after the reminder time: this notice is it
        if request is None:
            return await self._not_applicable(request_id)
        await self.staff.audit(f"person:{officer_id}", "request.schedule", f"request:{request_id}",
                               moment.isoformat(timespec="minutes"))
        if before is not None and before.status == "scheduled" and before.appointment_at \
                and before.appointment_at != at:
            return Change(request, self._notice(request, msg(N_(
                "📅 Your appointment for request <b>{code}</b> has changed: from {old} to {when}, at {place}.\n"
                "Please bring your căn cước card and the phone whose SIM card is in your own name."),
                code=ref_code(request_id), old=self.when(before.appointment_at, request.language),
                when=self.when(at, request.language), place=self.place())))
        return Change(request, self._notice(request, msg(N_(
            "📅 Appointment for your request <b>{code}</b>: {when}, at {place}.\n"
            "Please bring your căn cước card and the phone whose SIM card is in your own name."),
            code=ref_code(request_id), when=self.when(at, request.language), place=self.place())))

    async def add_note(self, request_id: int, officer_id: int, text: str, to_resident: bool) -> Change:
        """An internal note, or a message the resident receives; both stay with the request."""
        note = check_note(text)
        if isinstance(note, Invalid):
            return Change(None, problem=note.reason)
        request = await self.store.get(request_id)
        if request is None or request.anonymised_at is not None or (to_resident and not request.is_open):
            return await self._not_applicable(request_id)
        kind = "message" if to_resident else "note"
        if not await self.store.add_event(request_id, f"person:{officer_id}", kind, note, self.clock()):
            return await self._not_applicable(request_id)
        await self.staff.audit(f"person:{officer_id}", f"request.{kind}", f"request:{request_id}",
                               f"{len(note)} characters")
        if not to_resident:
            return Change(request)
        return Change(request, self._notice(request, msg(N_(
            "💬 Message from the commune officer about your request <b>{code}</b>:\n{text}"),
            code=ref_code(request_id), text=note)))

    async def finish(self, request_id: int, officer_id: int, outcome: str) -> Change:
        """Mark done with an outcome; the resident is told."""
        if outcome not in OUTCOMES:
            return Change(None, problem=STALE)
        now = self.clock()
        request = await self.store.transition(request_id, ("claimed", "scheduled"), "done", f"person:{officer_id}",
                                              "done", outcome, now, outcome=outcome, closed_at=now)
        if request is None:
            return await self._not_applicable(request_id)
        await self.staff.audit(f"person:{officer_id}", "request.done", f"request:{request_id}", outcome)
        return Change(request, self._notice(request, msg(N_(
            "✅ Your request <b>{code}</b> is done: {outcome}. Thank you! If you need more help, use /request."),
            code=ref_code(request_id), outcome=msg(OUTCOMES[outcome]))))

    async def unreachable(self, request_id: int, officer_id: int) -> Change:
        """Close as "could not reach the resident"; the resident is told how to ask again."""
        now = self.clock()
        request = await self.store.transition(request_id, ("claimed", "scheduled"), "unreachable",
                                              f"person:{officer_id}", "unreachable", None, now, closed_at=now)
        if request is None:
            return await self._not_applicable(request_id)
        await self.staff.audit(f"person:{officer_id}", "request.unreachable", f"request:{request_id}")
        return Change(request, self._notice(request, msg(N_(
            "📞 The commune officer tried to call you about your request <b>{code}</b> at {phone} but could not "
            "reach you, so the request was closed. If you still need help, reopen it in /status."),
            code=ref_code(request_id), phone=request.phone)))

    async def cancel_by_officer(self, request_id: int, officer_id: int) -> Change:
        now = self.clock()
        request = await self.store.transition(request_id, OPEN, "cancelled", f"person:{officer_id}", "cancelled",
                                              None, now, closed_at=now)
        if request is None:
            return await self._not_applicable(request_id)
        await self.staff.audit(f"person:{officer_id}", "request.cancel", f"request:{request_id}")
        return Change(request, self._notice(request, msg(N_(
            "Your request <b>{code}</b> was cancelled by the commune officer. If you still need help, send a new "
            "one with /request."), code=ref_code(request_id))))

    async def _not_applicable(self, request_id: int) -> Change:
        request = await self.store.get(request_id)
        if request is None or request.anonymised_at is not None:
            return Change(None, problem=msg(N_("This request no longer exists.")))
        if request.status == "new":
            return Change(request, problem=msg(N_("Nobody has taken this request yet. Take it first.")))
        return Change(request, problem=msg(N_("This request is already closed ({state})."),
                                           state=msg(STATUS_LABELS[request.status])))

    def _notice(self, request: HelpRequest, text: Msg) -> Notice | None:
        if request.chat_id is None:
            return None
        return Notice(request.chat_id, request.language, Say(text), request.channel)

    # officers' typed input (a note, a message, an appointment time), kept in SQLite

    async def expect_input(self, officer_id: int, request_id: int, kind: str) -> None:
        await self.store.set_input(officer_id, request_id, kind, self.clock())

    async def pending_input(self, officer_id: int) -> OfficerInput | None:
        pending = await self.store.get_input(officer_id)
        if pending is not None and pending.started_at < self.clock() - OFFICER_INPUT_SECONDS:
            await self.store.clear_input(officer_id)
            return None
        return pending

    async def clear_input(self, officer_id: int) -> bool:
        return await self.store.clear_input(officer_id)

    def parse_when(self, text: str) -> datetime | None:
        return slot_time.parse_when(self.commune, text, self.clock())

    def appointment_choices(self, request: HelpRequest) -> list[datetime]:
        preferred = None
        if request.slot_date and request.slot_start:
            day = datetime.fromisoformat(request.slot_date).date()
            start = datetime.strptime(request.slot_start, "%H:%M").time()
            preferred = slot_time.Slot(day, 0, start, start)
        return slot_time.appointment_choices(self.commune, self.clock(), preferred)

    # --- the officers' group and timed jobs --------------------------------------------------------

    async def unposted(self, limit: int) -> list[HelpRequest]:
        return await self.store.unposted(limit)

    async def on_notice(self, chat_id: str, message_id: str) -> list[HelpRequest]:
        return await self.store.on_notice(chat_id, message_id)

    async def mark_posted(self, request_ids: Sequence[int], chat_id: str, message_id: str,
                          repost: bool = False, now: float | None = None) -> None:
        await self.store.mark_posted(request_ids, chat_id, message_id, self.clock() if now is None else now,
                                     repost)

    async def due_reposts(self, now: float | None = None) -> list[HelpRequest]:
        """New requests nobody took within 4 working hours of their last posting."""
        now = self.clock() if now is None else now
        candidates = await self.store.unclaimed_posted_before(now - UNCLAIMED_WORKING_SECONDS)
        return [r for r in candidates
                if r.posted_at is not None
                and slot_time.working_seconds(self.commune, r.posted_at, now) >= UNCLAIMED_WORKING_SECONDS]

    async def due_reminders(self, now: float | None = None) -> list[tuple[HelpRequest, Notice]]:
        """Residents to remind the evening before their appointment."""
        now = self.clock() if now is None else now
        out: list[tuple[HelpRequest, Notice]] = []
        for request in await self.store.due_reminders(now):
            assert request.appointment_at is not None
            notice = self._notice(request, msg(N_(
                "⏰ Reminder: you have an appointment with the commune police on {when}, at {place}, about your "
                "request <b>{code}</b>. Please bring your căn cước card and the phone whose SIM card is in your "
                "own name."), when=self.when(request.appointment_at, request.language), place=self.place(),
                code=ref_code(request.id)))
            if notice is not None:
                out.append((request, notice))
        return out

    async def mark_reminded(self, request_id: int) -> None:
        await self.store.mark_reminded(request_id, self.clock())

    async def expire_drafts(self, now: float | None = None) -> list[Notice]:
        """Drop forms idle for 24 hours; returns the message for each resident."""
        now = self.clock() if now is None else now
        drafts = await self.store.take_expired_drafts(now - DRAFT_IDLE_SECONDS)
        return [Notice(d.chat_id, d.language, self._dropped(), d.channel) for d in drafts]

    async def apply_retention(self, now: float | None = None) -> int:
        """Anonymise requests closed more than `retention_days` ago."""
        now = self.clock() if now is None else now
        count = await self.store.anonymise_closed_before(now - self.retention_days * 86400, now)
        if count:
            await self.staff.audit("system", "request.retention", None, f"{count} anonymised")
            log.info("retention: %d closed request(s) anonymised", count)
        return count
