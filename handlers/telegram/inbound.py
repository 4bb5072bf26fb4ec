"""Telegram updates as the core's events: who (ids as text, language) and what (text, press, contact…)."""

from __future__ import annotations

from typing import Any

from telegram import Message, Update
from telegram.constants import ChatMemberStatus

from bot.dialogue.model import Command, Contact, Edited, Event, Membership, Other, Photo, Press, Text, Who
from bot.i18n import language_of


def who_of(update: Update) -> Who | None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    return Who(channel="telegram", user=str(user.id), chat=str(chat.id),
               language=language_of(user.language_code), private=chat.type == "private",
               name=user.full_name or "")


def addressed_to_bot(message: Message, bot_id: int, username: str) -> bool:
    """Every private message; in groups only messages that mention the bot or reply to it."""
    if message.chat.type == "private":
        return True
    reply = message.reply_to_message
    if reply is not None and reply.from_user is not None and reply.from_user.id == bot_id:
        return True
    mention = "@" + username.lower()
    return any(entity.type == "mention" and message.parse_entity(entity).lower() == mention
               for entity in message.entities or ())


def command_of(text: str, username: str) -> Command | None:
    """'/start@my_bot poster1' -> Command('start', ('poster1',)); None when addressed to another bot."""
    head, *args = text.split()
    name, _, target = head[1:].partition("@")
    if target and username and target.lower() != username.lower():
        return None
    return Command(name.lower(), tuple(args))


def event_of(update: Update, bot_id: int, username: str) -> Event | None:
    """The event of an update, or None when the bot should not react (a group chat not addressed to it)."""
    if update.callback_query is not None:
        query = update.callback_query
        message = query.message
        return Press(query.data or "", str(message.message_id) if message is not None else None)
    if update.my_chat_member is not None:
        status = update.my_chat_member.new_chat_member.status
        if update.my_chat_member.chat.type != "private":
            return None
        return Membership(blocked=status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT))
    if update.edited_message is not None:
        edited = update.edited_message
        return Edited(edited.text or edited.caption or "")
    message = update.message
    if message is None:
        return None
    private = message.chat.type == "private"
    if message.text is not None:
        if message.text.startswith("/"):
            # Telegram delivers commands to a bot in groups even in privacy mode; "/x@other_bot" is not ours.
            return command_of(message.text, username)
        if not addressed_to_bot(message, bot_id, username):
            return None
        text = message.text.replace("@" + username, " ") if username else message.text
        reply = message.reply_to_message
        reply_to = str(reply.message_id) if reply is not None and reply.from_user is not None and \
            reply.from_user.id == bot_id else None
        return Text(text, str(message.message_id), reply_to)
    if not private:
        return None
    if message.contact is not None:
        user = update.effective_user
        return Contact(message.contact.phone_number, user is not None and message.contact.user_id == user.id)
    if message.photo:
        return Photo(message.photo[-1].file_id, message.caption or "")
    if message.new_chat_members or message.left_chat_member or message.pinned_message:
        return None
    return Other(_kind(message))


def _kind(message: Message) -> str:
    for kind in ("sticker", "voice", "audio", "video", "video_note", "document", "location", "animation"):
        value: Any = getattr(message, kind, None)
        if value:
            return kind
    return "unsupported"
