"""Sign-in: /start asks for the user's own phone number (contact button) or a one-time invite code.

```mermaid
stateDiagram-v2
    [*] --> guest
    guest --> asked: /start
    asked --> signed_in: own contact, number on the roster
    asked --> asked: someone else's contact / unknown number (told whom to contact)
    guest --> signed_in: /start CODE or the code as a message (valid, unused, not expired)
    signed_in --> signed_in: /start (greeting)
```
The step lives in Telegram's reply keyboard, not in the conversation table: a contact is accepted any time.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime
from typing import Any

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from bot import texts
from bot.access import current_user, ensure_private, load_user, user_cache
from bot.conversation import StepRouter
from bot.feature import ANYONE, CommandSpec, Feature
from bot.features import workflow as wf
from bot.jobs import JobRegistry
from bot.menu import MENU_ROLES_KEY, set_user_menu
from bot.messages import escape
from bot.services import FEATURES_KEY, services_of
from records import invites, people
from records.db import session_scope
from records.errors import AlreadyLinked, InviteInvalid, RecordsError
from records.views import PersonView

log = logging.getLogger(__name__)

INVITE_PATTERN = re.compile(r"^\s*[A-Za-z0-9]{4}[- ]?[A-Za-z0-9]{4}\s*$")


def contact_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(texts.BUTTON_SHARE_CONTACT, request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def _link_by_phone(
    engine: Any, *, phone: str, telegram_user_id: int, chat_id: int, now: datetime
) -> PersonView | None:
    with session_scope(engine) as session:
        person = people.find_person_by_phone(session, phone=phone)
        if person is None:
            return None
        people.link_telegram(
            session,
            person_id=person.id,
            telegram_user_id=telegram_user_id,
            chat_id=chat_id,
            via="phone",
            now=now,
        )
        return person


def _redeem(engine: Any, *, code: str, telegram_user_id: int, chat_id: int, now: datetime) -> PersonView:
    """Redeem `code` at `now`: the workflow clock, so an invite expires on the same time as every deadline."""
    with session_scope(engine) as session:
        return invites.redeem_invite(
            session, code=code, telegram_user_id=telegram_user_id, chat_id=chat_id, now=now
        )


async def _after_link(update: Update, context: ContextTypes.DEFAULT_TYPE, person: PersonView) -> None:
    services = services_of(context)
    tg_user, chat = update.effective_user, update.effective_chat
    assert tg_user is not None and chat is not None
    user_cache(context).forget(tg_user.id)
    user = await asyncio.to_thread(load_user, services.db, telegram_user_id=tg_user.id)
    user_cache(context).put(user)
    await set_user_menu(context.bot, context.application.bot_data[FEATURES_KEY], user, chat_id=chat.id)
    context.application.bot_data.setdefault(MENU_ROLES_KEY, {})[chat.id] = (user.signed_in, user.roles)
    await context.bot.send_message(
        chat.id,
        texts.LINKED_OK.format(name=escape(person.full_name), unit=escape(person.unit_name)),
        parse_mode=ParseMode.HTML,
        reply_markup=ReplyKeyboardRemove(),
    )


async def _redeem_and_reply(update: Update, context: ContextTypes.DEFAULT_TYPE, code: str) -> None:
    services = services_of(context)
    tg_user, chat = update.effective_user, update.effective_chat
    assert tg_user is not None and chat is not None
    support = escape(services.settings.support_contact)
    try:
        person = await asyncio.to_thread(
            _redeem,
            services.db,
            code=code,
            telegram_user_id=tg_user.id,
            chat_id=chat.id,
            now=wf.now_of(context),
        )
    except AlreadyLinked:
        await context.bot.send_message(
            chat.id, texts.LINKED_TO_OTHER.format(support=support), parse_mode=ParseMode.HTML
        )
        return
    except InviteInvalid:
        log.info("invalid invite code from a user")
        await context.bot.send_message(
            chat.id, texts.INVITE_INVALID.format(support=support), parse_mode=ParseMode.HTML
        )
        return
    except RecordsError as exc:  # the invite's person was deactivated (no longer on the roster)
        log.info("invite sign-in refused: %s", exc.code)
        await context.bot.send_message(
            chat.id, texts.NOT_ON_ROSTER.format(support=support), parse_mode=ParseMode.HTML
        )
        return
    await _after_link(update, context, person)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start [CODE]: greet a signed-in user, redeem a code, or ask for the phone number."""
    if not await ensure_private(update, context):
        return
    chat = update.effective_chat
    assert chat is not None
    if context.args:
        await _redeem_and_reply(update, context, "".join(context.args))
        return
    user = await current_user(update, context)
    if user.signed_in:
        await context.bot.send_message(
            chat.id, texts.WELCOME_LINKED.format(name=escape(user.full_name)), parse_mode=ParseMode.HTML
        )
        return
    welcome = (
        texts.WELCOME_ASK_CONTACT_LOGIN_REQUIRED
        if services_of(context).settings.qa_requires_login
        else texts.WELCOME_ASK_CONTACT
    )
    await context.bot.send_message(
        chat.id, welcome, parse_mode=ParseMode.HTML, reply_markup=contact_keyboard()
    )


async def contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A shared contact: must be the sender's own; its number is matched against the roster."""
    message, tg_user = update.effective_message, update.effective_user
    if message is None or message.contact is None or tg_user is None:
        return
    if not await ensure_private(update, context):
        return
    services = services_of(context)
    support = escape(services.settings.support_contact)
    if message.contact.user_id != tg_user.id:
        log.info("contact of another account refused")
        await message.reply_text(
            texts.CONTACT_NOT_OWN, parse_mode=ParseMode.HTML, reply_markup=contact_keyboard()
        )
        return
    phone = message.contact.phone_number or ""
    try:
        person = await asyncio.to_thread(
            _link_by_phone,
            services.db,
            phone=phone,
            telegram_user_id=tg_user.id,
            chat_id=message.chat_id,
            now=wf.now_of(context),
        )
    except AlreadyLinked:
        await message.reply_text(texts.LINKED_TO_OTHER.format(support=support), parse_mode=ParseMode.HTML)
        return
    except RecordsError as exc:
        log.info("contact sign-in refused: %s", exc.code)
        await message.reply_text(
            texts.CONTACT_BAD_NUMBER, parse_mode=ParseMode.HTML, reply_markup=contact_keyboard()
        )
        return
    if person is None:
        log.info("contact sign-in: number not on the roster")
        await message.reply_text(
            texts.CONTACT_UNKNOWN.format(support=support),
            parse_mode=ParseMode.HTML,
            reply_markup=ReplyKeyboardRemove(),
        )
        return
    await _after_link(update, context, person)


async def invite_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Text interceptor: a message shaped like an invite code, from a user not signed in, is redeemed."""
    message = update.effective_message
    if message is None or message.text is None or not INVITE_PATTERN.match(message.text):
        return False
    user = await current_user(update, context)
    if user.signed_in:
        return False
    await _redeem_and_reply(update, context, message.text)
    return True


def install(app: Application, router: StepRouter, jobs: JobRegistry) -> None:  # type: ignore[type-arg]
    wf.setup(app)  # the workflow clock: invite expiry and sign-in times follow it
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.CONTACT, contact))
    router.add_interceptor(invite_text)


FEATURE = Feature(
    name="auth",
    install=install,
    commands=(CommandSpec("start", texts.COMMAND_DESCRIPTIONS["start"], ANYONE),),
)
