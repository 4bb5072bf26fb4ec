"""The resident's help-request form: steps, questions, buttons, and what each answer does (no I/O).

Steps: consent → topic (→ problem, for "Something else") → name → phone → village → id → slot → note → summary
(→ edit → a step → summary).
`answer` takes the draft and one input (typed text, a button press, a shared contact) and returns what to
do: keep the changed draft, ask again with a reason, drop the draft, or confirm. Buttons carry
(step, value); typed text that reads like a button label (with or without diacritics) counts as that
button, so "dong y" works as well as pressing "Đồng ý".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from bot.content import Commune
from bot.faq.normalize import fold, tokenize
from bot.helpdesk import slots as slot_time
from bot.helpdesk.messages import Choice, Msg, Say, label, msg
from bot.helpdesk.model import TOPICS
from bot.helpdesk.validate import (
    NOTE_MAX,
    Invalid,
    check_id_number,
    check_name,
    check_note,
    check_phone,
)
from bot.i18n import N_, Translate
from storage.helpdesk import Draft

STEPS = ("consent", "topic", "problem", "name", "phone", "village", "id", "slot", "note", "summary")
# Typed words that make a text a question rather than a name or a note (folded, no diacritics).
_QUESTION_WORDS = ("thi sao", "lam sao", "the nao", "nhu nao", "o dau", "bao gio", "bao lau", "tai sao",
                   "vi sao", "duoc khong", "co phai", "la gi", "lam gi", "cach nao", "how do", "what is", "why")
EDITABLE: dict[str, str] = {
    "topic": N_("What help"),
    "name": N_("Full name"),
    "phone": N_("Phone number"),
    "village": N_("Village"),
    "id": N_("Personal ID number"),
    "slot": N_("Preferred time"),
    "note": N_("Note"),
}
SKIP = "skip"
_SKIP_WORDS = frozenset({"bo qua", "skip", "khong", "khong co", "ko", "k", "no", "none"})
_YES_WORDS = frozenset({"dong y", "co", "ok", "yes", "y", "vang", "da", "i agree", "agree"})
_NO_WORDS = frozenset({"khong dong y", "khong", "ko", "no", "i do not agree"})


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Pick:
    step: str
    value: str


@dataclass(frozen=True)
class Contact:
    phone: str
    own: bool  # the contact is the sender's own


Input = Text | Pick | Contact


@dataclass(frozen=True)
class Env:
    """What the form needs to know besides the draft."""

    commune: Commune
    now: float
    retention_days: int
    translate: Translate
    contact_button: bool = True  # the channel offers "share my phone number" (else it is typed)

    @property
    def today(self) -> date:
        return slot_time.local_now(self.commune, self.now).date()


@dataclass
class Outcome:
    """`action`: "save" (draft changed), "retry" (draft unchanged), "drop" (delete it), "confirm"."""

    action: str
    says: list[Say] = field(default_factory=list)
    toast: Msg | None = None


def words(text: str) -> str:
    """Text as folded syllables: '✅ Xác nhận!' -> 'xac nhan'."""
    return fold(" ".join(tokenize(text[:200])))


# --- questions --------------------------------------------------------------------------------------


def choices(step: str, draft: Draft, env: Env) -> tuple[tuple[Choice, ...], ...]:
    """The buttons of a step (rows)."""
    if step == "consent":
        return ((Choice(msg(N_("✅ I agree")), "yes"),), (Choice(msg(N_("❌ I do not agree")), "no"),))
    if step == "reuse":
        return ((Choice(msg(N_("✅ Yes, use them")), "yes"),), (Choice(msg(N_("✏️ No, type them again")), "no"),))
    if step == "topic":
        return tuple((Choice(msg(text), value),) for value, text in TOPICS.items())
    if step == "village":
        villages = [Choice(v.name, v.id) for v in env.commune.villages]
        return tuple(tuple(villages[i:i + 2]) for i in range(0, len(villages), 2))
    if step in ("id", "note"):
        return ((Choice(msg(N_("Skip")), SKIP),),)
    if step == "slot":
        return tuple((Choice(slot_time.slot_label(s, draft.language), s.key),)
                     for s in slot_time.next_slots(env.commune, env.now))
    if step == "summary":
        return ((Choice(msg(N_("✅ Confirm")), "confirm"),),
                (Choice(msg(N_("✏️ Change")), "edit"), Choice(msg(N_("❌ Cancel")), "cancel")))
    if step == "edit":
        fields = [Choice(msg(text), value) for value, text in EDITABLE.items()]
        rows = [tuple(fields[i:i + 2]) for i in range(0, len(fields), 2)]
        return (*rows, (Choice(msg(N_("⬅️ Back to the summary")), "back"),))
    return ()


def prompt(draft: Draft, env: Env) -> Say:
    """The question of the draft's current step, with its buttons."""
    step = draft.step
    rows = choices(step, draft, env)
    if step == "consent":
        text = msg(N_(
            "<b>Ask a commune officer for help</b>\n"
            "So that the commune police can help you, the bot will write down:\n"
            "• your full name, phone number and village (thôn);\n"
            "• your 12-digit personal ID number, if you want to give it.\n"
            "Why: to arrange help and an appointment with the commune police. Only commune officers see it.\n"
            "How long: until your request is closed, then at most {days} days; then it is erased.\n"
            "You can see or erase it at any time with /mydata. Stop at any time with /cancel.\n\n"
            "Do you agree?"), days=env.retention_days)
    elif step == "topic":
        text = msg(N_("What do you need help with?"))
    elif step == "reuse":
        text = msg(N_("<b>Ask a commune officer for help</b>\n"
                      "Last time you agreed that the bot writes down your details for the commune police. "
                      "Use the same ones again?\n• Full name: {name}\n• Phone: {phone}\n"
                      "They are kept as before (see or erase them with /mydata)."),
                   name=draft.data.get("name", ""), phone=draft.data.get("phone", ""))
    elif step == "problem":
        text = msg(N_("What is the problem? Please describe it in a few words."))
    elif step == "name":
        text = msg(N_("Please type your <b>full name</b>, as on your căn cước card."))
    elif step == "phone":
        if not env.contact_button:
            return Say(msg(N_("Your <b>phone number</b>: please type it (for example 0912345678).")), step, rows)
        text = msg(N_("Your <b>phone number</b>: press the button “📱 Send my phone number” below, or type "
                      "it (for example 0912345678)."))
        return Say(text, step, rows, contact=True)
    elif step == "village":
        text = msg(N_("Which <b>village (thôn)</b> do you live in?"))
    elif step == "id":
        text = msg(N_("Your <b>personal ID number</b> (12 digits, printed on your căn cước card). It helps "
                      "the officer prepare. You may skip it."))
    elif step == "slot":
        text = msg(N_("When would you like to come to the commune police? Choose a time:"))
    elif step == "note":
        text = msg(N_("Anything else the officer should know? Type it (at most {limit} characters), or "
                      "press “Skip”."), limit=NOTE_MAX)
    elif step == "summary":
        text = msg(N_("<b>Please check your request</b>\n{lines}\n\nIs everything right?"),
                   lines=summary_lines(draft, env))
    else:  # edit
        text = msg(N_("What do you want to change?"))
    return Say(text, step, rows)


def summary_lines(draft: Draft, env: Env) -> tuple[Msg, ...]:
    data = draft.data
    village = env.commune.village(data.get("village", ""))
    slot = slot_time.slot_from_key(env.commune, data.get("slot", ""), env.now)
    none = msg(N_("(none)"))
    problem = (msg(N_("Problem: {value}"), value=data["problem"]),) if data.get("problem") else ()
    return (
        msg(N_("What help: {value}"), value=msg(TOPICS.get(data.get("topic", ""), N_("(none)")))),
        *problem,
        msg(N_("Full name: {value}"), value=data.get("name", "")),
        msg(N_("Phone: {value}"), value=data.get("phone", "")),
        msg(N_("Village: {value}"), value=village.name if village else none),
        msg(N_("Personal ID: {value}"), value=data.get("id") or msg(N_("(not given)"))),
        msg(N_("Preferred time: {value}"), value=slot_time.slot_label(slot, draft.language) if slot else none),
        msg(N_("Note: {value}"), value=data.get("note") or none),
    )


# --- answers ----------------------------------------------------------------------------------------


def answer(draft: Draft, given: Input, env: Env) -> Outcome:
    """Apply one input to the draft (which it may change in place)."""
    step = draft.step
    if isinstance(given, Pick) and given.step != step:
        return Outcome("retry", [prompt(draft, env)],
                       toast=msg(N_("That button belongs to an earlier question. Please answer the one below.")))
    if isinstance(given, Contact) and step != "phone":
        return retry(draft, env, msg(N_("Thank you, but I am not asking for a phone number now.")))
    if step == "name":
        return _typed(draft, env, given, check_name)
    if step == "problem":
        return _typed(draft, env, given, check_note)
    if step == "phone":
        if isinstance(given, Contact):
            if not given.own:
                return retry(draft, env, msg(N_("That is someone else's contact. Please send your own number "
                                                "with the button below, or type it.")))
            return _phone(draft, env, check_phone(given.phone))
        return _phone(draft, env, check_phone(given.text) if isinstance(given, Text) else None)
    if step == "id":
        if _is_skip(given):
            return _store(draft, env, "id", "")
        return _typed(draft, env, given, lambda text: check_id_number(text, env.today))
    if step == "note":
        if _is_skip(given):
            return _store(draft, env, "note", "")
        return _typed(draft, env, given, check_note)
    value = _chosen(step, draft, given, env)
    if value is None:
        if isinstance(given, Pick):
            return retry(draft, env, msg(N_("That choice is no longer available. Please choose again.")))
        return retry(draft, env, msg(N_("Please choose one of the buttons below.")))
    return _on_choice(draft, env, value)


def reads_like_question(draft: Draft, text: str, env: Env) -> bool:
    """Typed text that reads like a question, not like an answer to this step (a question mark, or words
    such as "thì sao", "làm sao", "ở đâu"); a text that names one of the step's choices is an answer."""
    if draft.step in ("problem", "summary", "edit") or _chosen(draft.step, draft, Text(text), env) is not None:
        return False
    if text.strip().endswith("?"):
        return True
    typed = f" {words(text)} "
    return any(f" {phrase} " in typed for phrase in _QUESTION_WORDS)


def retry(draft: Draft, env: Env, reason: Msg) -> Outcome:
    """Ask the current question again, saying why."""
    return Outcome("retry", [Say(reason), prompt(draft, env)])


def advance(draft: Draft, env: Env) -> None:
    """Go to the next question (or back to the summary after a change)."""
    if draft.editing:
        draft.step, draft.editing = "summary", False
    else:
        draft.step = STEPS[STEPS.index(draft.step) + 1]
    # Steps with nothing to choose from (a profile without villages or office slots) are passed over; what
    # the problem is is asked only for "Something else".
    if draft.step in ("village", "slot") and not choices(draft.step, draft, env):
        draft.data[draft.step] = ""
        advance(draft, env)
    elif draft.step == "problem" and draft.data.get("topic") != "other":
        draft.data.pop("problem", None)
        advance(draft, env)
    elif draft.step in ("name", "phone") and draft.data.get("reused") and draft.data.get(draft.step):
        advance(draft, env)  # taken from the previous request, as the resident agreed


def _store(draft: Draft, env: Env, key: str, value: str, before: list[Say] | None = None) -> Outcome:
    draft.data[key] = value
    advance(draft, env)
    return Outcome("save", [*(before or []), prompt(draft, env)])


def _typed(draft: Draft, env: Env, given: Input, check: Callable[[str], str | Invalid]) -> Outcome:
    if not isinstance(given, Text):
        return retry(draft, env, msg(N_("Please type your answer.")))
    result = check(given.text)
    if isinstance(result, Invalid):
        return retry(draft, env, result.reason)
    return _store(draft, env, draft.step, str(result))


def _phone(draft: Draft, env: Env, result: str | Invalid | None) -> Outcome:
    if result is None:
        return retry(draft, env, msg(N_("Please type your phone number, for example 0912345678.")))
    if isinstance(result, Invalid):
        return retry(draft, env, result.reason)
    # menu=True takes the contact keyboard away again where there was one; elsewhere no menu mid-form.
    saved = Say(msg(N_("Phone number saved: {phone}"), phone=result), menu=env.contact_button)
    return _store(draft, env, "phone", result, [saved])


def _is_skip(given: Input) -> bool:
    if isinstance(given, Pick):
        return given.value == SKIP
    return isinstance(given, Text) and words(given.text) in _SKIP_WORDS


def _chosen(step: str, draft: Draft, given: Input, env: Env) -> str | None:
    """The value of the button pressed or typed, if it is one of this step's."""
    rows = choices(step, draft, env)
    values = {c.value for row in rows for c in row}
    if isinstance(given, Pick):
        if given.value in values:
            return given.value
        if step == "slot" and slot_time.slot_from_key(env.commune, given.value, env.now):
            return given.value  # offered earlier and still ahead
        return None
    if not isinstance(given, Text):
        return None
    typed = words(given.text)
    if not typed:
        return None
    if step in ("consent", "reuse"):
        if typed in _NO_WORDS:
            return "no"
        if typed in _YES_WORDS:
            return "yes"
    for row in rows:
        for choice in row:
            if typed in (words(label(choice, env.translate)), words(choice.value)):
                return choice.value
    return None


def _on_choice(draft: Draft, env: Env, value: str) -> Outcome:
    step = draft.step
    if step == "reuse":
        if value == "yes":
            draft.consent_at, draft.step = env.now, "topic"
            draft.data["reused"] = "1"
        else:
            draft.data = {}
            draft.step = "consent"
        return Outcome("save", [prompt(draft, env)])
    if step == "consent":
        if value == "no":
            return Outcome("drop", [Say(msg(N_("All right. Nothing was saved. You can still call the commune "
                                                "police, or ask me questions at any time.")), menu=True)])
        draft.consent_at = env.now
        advance(draft, env)
        return Outcome("save", [prompt(draft, env)])
    if step == "slot":
        slot = slot_time.slot_from_key(env.commune, value, env.now)
        chosen = [Say(msg(N_("Time chosen: {slot}"), slot=slot_time.slot_label(slot, draft.language)))] if slot else []
        return _store(draft, env, step, value, chosen)
    if step == "topic" and value == "other" and draft.editing:
        draft.data[step], draft.step = value, "problem"  # a changed topic "Something else": what is it?
        return Outcome("save", [prompt(draft, env)])
    if step in ("topic", "village"):
        return _store(draft, env, step, value)
    if step == "summary":
        if value == "confirm":
            return Outcome("confirm")
        if value == "cancel":
            return Outcome("drop", [Say(msg(N_("Your request form was cancelled. Nothing was sent.")), menu=True)])
        draft.step = "edit"
        return Outcome("save", [prompt(draft, env)])
    # edit: which answer to change
    if value == "back":
        draft.step = "summary"
    else:
        draft.step, draft.editing = value, True
    return Outcome("save", [prompt(draft, env)])
