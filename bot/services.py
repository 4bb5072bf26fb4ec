"""The one function that builds the services, for the bot, the command line, benchmarks and tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.campaigns.service import Campaigns
from bot.config import Settings
from bot.content import Content
from bot.content_gate import load_checked
from bot.dialogue.core import Channels
from bot.dialogue.outbox import Outbox
from bot.faq.service import FaqService
from bot.helpdesk.service import HelpdeskService
from bot.i18n import Catalogs
from bot.jobs import Jobs
from bot.menu import menu_options, menu_rows
from bot.report.service import MonthlyReports
from storage.db import Database
from storage.helpdesk import HelpStore
from storage.identities import Identities
from storage.questions import Questions
from storage.residents import Residents
from storage.staff import Staff


@dataclass
class Services:
    """Everything flows, channels and the command line reach, built once (no module globals)."""

    settings: Settings
    db: Database
    content: Content
    faq: FaqService
    catalogs: Catalogs
    residents: Residents
    questions: Questions
    staff: Staff
    helpdesk: HelpdeskService
    campaigns: Campaigns
    identities: Identities
    channels: Channels = field(repr=False, default=None)  # type: ignore[assignment]
    jobs: Jobs = field(repr=False, default_factory=Jobs)
    outbox: Outbox = field(repr=False, default=None)  # type: ignore[assignment]
    reports: MonthlyReports = field(repr=False, default=None)  # type: ignore[assignment]


async def build_services(settings: Settings, content: Content | None = None,
                         catalogs: Catalogs | None = None) -> Services:
    """Load content and catalogs (unless given) and open the database."""
    content = content or load_checked(settings.content_dir)
    catalogs = catalogs or Catalogs.load(settings.content_dir / "locales")
    db = await Database(settings.db_path).open()
    staff = Staff(db, settings.admin_ids)
    residents = Residents(db)
    identities = Identities(db)
    services = Services(
        settings=settings,
        db=db,
        content=content,
        faq=FaqService(content),
        catalogs=catalogs,
        residents=residents,
        questions=Questions(db),
        staff=staff,
        helpdesk=HelpdeskService(HelpStore(db), staff, residents, content.commune, settings.retention_days),
        campaigns=Campaigns(db, content, catalogs, staff, settings.broadcast_rate, keep_days=settings.retention_days),
        identities=identities,
    )
    services.channels = Channels(catalogs.gettext, menu_rows, identities, menu_options)
    services.outbox = Outbox(db, services.channels)
    services.reports = MonthlyReports(db, content, catalogs, settings.data_dir / "reports")
    return services


# The name the command line and older tests use.
open_services = build_services
