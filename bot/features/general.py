"""/trogiup, /huy, /toi and the answer to message types the bot does not handle."""

from __future__ import annotations

from telegram import ReplyKeyboardRemove, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from bot import texts
from bot.access import current_user, ensure_private, ensure_signed_in
from bot.conversation import StepRouter, end_step
from bot.feature import ANYONE, SIGNED_IN, CommandSpec, Feature
from bot.jobs import JobRegistry
from bot.menu import help_text
from bot.messages import escape
from bot.replies import reply_html
from bot.services import FEATURES_KEY, services_of


async def show_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/trogiup: the commands this user may use."""
    user = await current_user(update, context)
    services = services_of(context)
    features = context.application.bot_data[FEATURES_KEY]
    await reply_html(update, context, help_text(features, user, bot_username=escape(services.bot_username)))


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/huy: end whatever conversation the user is in."""
    chat, tg_user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None or tg_user is None or message is None:
        return
    had_step = await end_step(context, chat_id=chat.id, user_id=tg_user.id)
    await message.reply_text(
        texts.CANCELLED if had_step else texts.NOTHING_TO_CANCEL,
        parse_mode=ParseMode.HTML,
        reply_markup=ReplyKeyboardRemove(),
    )


async def whoami(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/toi: the signed-in person's name, unit and roles (private chats only)."""
    if not await ensure_private(update, context):
        return
    user = await ensure_signed_in(update, context)
    if user is None:
        return
    roles = ", ".join(texts.ROLE_NAMES.get(r, r) for r in sorted(user.roles)) or "—"
    await reply_html(
        update,
        context,
        texts.WHOAMI.format(name=escape(user.full_name), unit=escape(user.unit_name), roles=escape(roles)),
    )


async def unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, voice, photos…: say what the bot understands."""
    await reply_html(update, context, texts.UNSUPPORTED_MESSAGE)


def install(app: Application, router: StepRouter, jobs: JobRegistry) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("trogiup", show_help))
    app.add_handler(CommandHandler("help", show_help))
    app.add_handler(CommandHandler("huy", cancel))
    app.add_handler(CommandHandler("cancel", cancel))
    app.add_handler(CommandHandler("toi", whoami))
    # Last resort in the main group (bot.app installs this feature last).
    app.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE
            & ~filters.TEXT
            & ~filters.CONTACT
            & ~filters.Document.ALL
            & ~filters.COMMAND,
            unsupported,
        )
    )


FEATURE = Feature(
    name="general",
    install=install,
    commands=(
        CommandSpec("trogiup", texts.COMMAND_DESCRIPTIONS["trogiup"], ANYONE, in_groups=True),
        CommandSpec("huy", texts.COMMAND_DESCRIPTIONS["huy"], ANYONE),
        CommandSpec("toi", texts.COMMAND_DESCRIPTIONS["toi"], SIGNED_IN),
    ),
)
