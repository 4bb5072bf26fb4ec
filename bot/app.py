"""The composition root: the services once, the channels the settings ask for, the core's jobs once.

`BOT_TOKEN` starts the Telegram channel, `ZALO_BOT_TOKEN` the Zalo one; both share one process, one
database and one conversation core (an officer on Telegram serves a resident on Zalo). With neither,
`python -m bot run` starts the local sandbox instead (devtools/sandbox), which uses this same root.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.config import Settings
from bot.services import Services, build_services

if TYPE_CHECKING:
    from handlers.zalo_bot.app import ZaloBot

log = logging.getLogger(__name__)


class StartError(Exception):
    """A channel cannot start (a refused token, an unreachable API): one clear line for the operator."""


class Runtime:
    """Start and stop everything the settings ask for. `services` may be given (tests, the sandbox)."""

    def __init__(self, settings: Settings, services: Services | None = None, *, telegram_poll_timeout: int = 10,
                 zalo_poll_timeout: int = 30) -> None:
        if settings.sandbox:
            raise ValueError("no channel token: use the local sandbox (devtools/sandbox)")
        self.settings = settings
        self._given = services
        self.svc: Services | None = services
        self.telegram: Any = None
        self.zalo: ZaloBot | None = None
        self.telegram_poll_timeout = telegram_poll_timeout
        self.zalo_poll_timeout = zalo_poll_timeout

    @property
    def services(self) -> Services:
        if self.svc is None:
            raise RuntimeError("not started")
        return self.svc

    async def start(self) -> None:
        from bot.dialogue.routes import start_jobs

        svc = self.svc = self.svc or await build_services(self.settings)
        svc.jobs.start()
        try:
            if self.settings.token:
                from handlers.telegram.app import build_application, start_app

                self.telegram = build_application(self.settings, svc, owns_core=False)
                await start_app(self.telegram, poll_timeout=self.telegram_poll_timeout)
            if self.settings.zalo_token:
                from handlers.zalo_bot.app import ZaloBot

                self.zalo = ZaloBot(self.settings, svc, poll_timeout=self.zalo_poll_timeout)
                await self.zalo.start()
        except BaseException:
            await self.stop()
            raise
        start_jobs(svc)
        log.info("channels running: %s", ", ".join(sorted(svc.channels.ports)))

    async def stop(self) -> None:
        """Stop taking updates, let in-flight sends finish, stop the jobs, close the database."""
        svc = self.svc
        if self.zalo is not None:
            self.zalo.running = False
        if svc is not None:
            await svc.campaigns.engine.stop()
        if self.zalo is not None:
            await self.zalo.stop()
            self.zalo = None
        if self.telegram is not None:
            from handlers.telegram.app import stop_app

            await stop_app(self.telegram)
            self.telegram = None
        if svc is not None:
            await svc.jobs.stop()
            if self._given is None:
                await svc.db.close()
                self.svc = None
