"""The Zalo channel running: long polling (or a webhook), updates handed to the conversation core.

One update per `getUpdates` call (Zalo's rule); updates are de-duplicated by `message.message_id` (Zalo
has no offset, and a webhook retry may repeat one); updates of one chat are answered in order, different
chats concurrently. A bad token stops the channel with one clear line; network trouble and Zalo's 5xx are
waited out with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from typing import Any
from urllib.parse import urlsplit

from bot.app import StartError
from bot.config import Settings
from bot.dialogue.core import Conversation
from bot.dialogue.people import identifier
from bot.dialogue.routes import build_router
from bot.services import Services
from handlers.zalo_bot.channel import ZaloBroadcast, ZaloChannel
from handlers.zalo_bot.client import ZaloClient, ZaloRefused, ZaloRetry
from handlers.zalo_bot.inbound import CHANNEL, Inbound, parse
from handlers.zalo_bot.webhook import WebhookServer

log = logging.getLogger(__name__)

SEEN = 5000           # message ids remembered for de-duplication
MAX_PENDING = 1000    # updates waiting per process before new ones are refused (logged)


class ZaloStartError(StartError):
    """The channel cannot start (bad token, unreachable API): one clear line for the operator."""


class ZaloBot:
    def __init__(self, settings: Settings, svc: Services, client: ZaloClient | None = None,
                 poll_timeout: int = 30) -> None:
        if not settings.zalo_token:
            raise ValueError("ZaloBot needs ZALO_BOT_TOKEN")
        self.settings = settings
        self.svc = svc
        self.client = client or ZaloClient(settings.zalo_token, settings.zalo_api_url,
                                             send_timeout=settings.send_timeout)
        self.poll_timeout = poll_timeout
        self.conversation = Conversation(svc, svc.channels, build_router(), identifier(svc.identities))
        self.running = False
        self.name = ""
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._chains: dict[str, asyncio.Task[Any]] = {}
        self._pending = 0
        self._poller: asyncio.Task[Any] | None = None
        self._webhook: WebhookServer | None = None

    async def start(self) -> None:
        try:
            me = await self.client.get_me()
        except ZaloRefused as exc:
            raise ZaloStartError(f"Zalo refused the bot token ({exc.description}); check ZALO_BOT_TOKEN") from None
        except ZaloRetry as exc:
            raise ZaloStartError(f"Zalo Bot API unreachable at {self.settings.zalo_api_url}: {exc}") from None
        self.name = str(me.get("account_name") or me.get("display_name") or me.get("username") or "")
        self.running = True
        self.svc.channels.add(ZaloChannel(self.client))
        catalogs = self.svc.catalogs
        await self.svc.campaigns.engine.attach(
            ZaloBroadcast(self.client, lambda lang: catalogs.gettext(lang)(
                "To stop receiving these announcements, type /unsubscribe")),
            spawn=self.svc.jobs.spawn, alive=lambda: self.running, channel=CHANNEL,
            rate=self.settings.zalo_broadcast_rate)
        url, secret = self.settings.zalo_webhook_url, self.settings.zalo_webhook_secret
        if url:
            if not secret:
                raise ZaloStartError("ZALO_WEBHOOK_URL is set but ZALO_WEBHOOK_SECRET is not (8–256 characters)")
            self._webhook = WebhookServer(urlsplit(url).path or "/", secret, self.feed,
                                          port=self.settings.zalo_webhook_port)
            await self._webhook.start()
            await self.client.set_webhook(url, secret)
            log.info("zalo: webhook mode, listening on 127.0.0.1:%d", self._webhook.port)
        else:
            with contextlib.suppress(ZaloRefused, ZaloRetry):
                await self.client.delete_webhook()  # getUpdates does not work while a webhook is set
            self._poller = asyncio.create_task(self._poll(), name="zalo-poll")
            log.info("zalo: long polling %s", self.settings.zalo_api_url)

    async def stop(self) -> None:
        self.running = False
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._poller
            self._poller = None
        if self._webhook is not None:
            await self._webhook.stop()
            self._webhook = None
        chains = list(self._chains.values())
        if chains:
            await asyncio.wait(chains, timeout=10.0)
        self.svc.campaigns.engine.detach(CHANNEL)
        self.svc.channels.ports.pop(CHANNEL, None)
        await self.client.aclose()

    async def _poll(self) -> None:
        failures = 0
        while self.running:
            try:
                update = await self.client.get_update(self.poll_timeout)
                failures = 0
            except ZaloRetry as exc:
                failures += 1
                wait = min(30.0, 0.5 * 2 ** min(failures, 6))
                log.warning("zalo: getUpdates failed (%s); again in %.0f s", exc, wait)
                await asyncio.sleep(wait)
                continue
            except ZaloRefused as exc:
                failures += 1
                log.error("zalo: getUpdates refused (%s); again in 30 s", exc)
                await asyncio.sleep(30.0)
                continue
            if update is not None:
                self.feed(update)

    def feed(self, update: Any) -> bool:
        """Take one update (from a poll or the webhook); False when it was ignored or a repeat."""
        inbound = parse(update)
        if inbound is None:
            return False
        if inbound.message_id:
            if inbound.message_id in self._seen:
                return False
            self._seen[inbound.message_id] = None
            if len(self._seen) > SEEN:
                self._seen.popitem(last=False)
        if self._pending >= MAX_PENDING:
            log.warning("zalo: %d updates waiting; one was dropped", self._pending)
            return False
        chat = inbound.who.chat
        self._pending += 1
        previous = self._chains.get(chat)
        task = asyncio.create_task(self._after(previous, inbound), name="zalo-update")
        self._chains[chat] = task
        task.add_done_callback(lambda t, c=chat: self._done(c, t))  # type: ignore[misc]
        return True

    async def _after(self, previous: asyncio.Task[Any] | None, inbound: Inbound) -> None:
        if previous is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(previous)
        await self.conversation.handle(inbound.who, inbound.event)

    def _done(self, chat: str, task: asyncio.Task[Any]) -> None:
        self._pending -= 1
        if self._chains.get(chat) is task:
            del self._chains[chat]
        if not task.cancelled() and task.exception() is not None:
            log.error("zalo: an update failed", exc_info=task.exception())

    async def idle(self) -> None:
        """Wait until every update taken so far is answered (tests)."""
        while self._chains:
            await asyncio.wait(list(self._chains.values()))
