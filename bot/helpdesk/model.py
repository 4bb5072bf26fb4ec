"""Names of things in the help-request workflow: topics, states, outcomes, reference codes."""

from __future__ import annotations

import re

from bot.i18n import N_

MAX_OPEN = 3                    # open requests per resident
DRAFT_IDLE_SECONDS = 24 * 3600  # a form idle this long is dropped
UNCLAIMED_WORKING_SECONDS = 4 * 3600  # a request nobody took after this much office time is posted again
OFFICER_INPUT_SECONDS = 24 * 3600

# What help (button value -> label). The order is the order of the buttons.
TOPICS: dict[str, str] = {
    "level2": N_("Register level-2 electronic ID"),
    "activate": N_("Activate my VNeID account"),
    "password": N_("Forgotten password / passcode"),
    "phone": N_("Change my phone number"),
    "dvc": N_("Online public service procedures"),
    "other": N_("Something else"),
}

# How a request ended when it was done (button value -> label).
OUTCOMES: dict[str, str] = {
    "level2": N_("level-2 electronic ID issued"),
    "activated": N_("VNeID account activated"),
    "phone-guide": N_("guided over the phone"),
    "office": N_("solved at the office"),
    "other": N_("done"),
}

# A request's state as the resident reads it.
STATUS_LABELS: dict[str, str] = {
    "new": N_("waiting for an officer"),
    "claimed": N_("an officer has taken it and will contact you"),
    "scheduled": N_("appointment booked"),
    "done": N_("done"),
    "unreachable": N_("closed: we could not reach you"),
    "cancelled": N_("cancelled"),
}

# A request's state as officers read it (lists, the detail).
OFFICER_STATUS_LABELS: dict[str, str] = {
    "new": N_("waiting to be taken"),
    "claimed": N_("taken"),
    "scheduled": N_("appointment booked"),
    "done": N_("done"),
    "unreachable": N_("could not reach"),
    "cancelled": N_("cancelled"),
}

# What happened to a request (the history in the detail).
EVENT_LABELS: dict[str, str] = {
    "created": N_("request sent"),
    "claimed": N_("taken"),
    "scheduled": N_("appointment booked"),
    "note": N_("note"),
    "message": N_("message to the resident"),
    "done": N_("done"),
    "unreachable": N_("could not reach"),
    "cancelled": N_("cancelled"),
    "reposted": N_("posted again to the group"),
    "reminded": N_("reminder sent"),
    "reopened": N_("reopened by the resident"),
    "reply": N_("reply from the resident"),
    "anonymised": N_("personal data erased"),
}

_CODE = re.compile(r"^\s*(?:HT)?[\s#-]*0*(\d{1,9})\s*$", re.IGNORECASE)


def ref_code(request_id: int) -> str:
    """The short reference a resident quotes: HT-0042."""
    return f"HT-{request_id:04d}"


def parse_ref(text: str) -> int | None:
    """'HT-0042', 'ht42', '42' -> 42."""
    match = _CODE.match(text)
    return int(match.group(1)) if match and int(match.group(1)) > 0 else None
