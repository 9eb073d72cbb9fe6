"""The running bot's collaborators (database, Q&A engine, settings values), shared by every handler."""

from __future__ import annotations

import asyncio
import functools
import os
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from telegram.ext import ContextTypes

from bot.settings import Settings


@dataclass
class Services:
    """Everything a handler needs besides the update; built once in the entry point (or a test)."""

    settings: Settings
    db: Engine
    qa: Any  # retrieval.QAEngine (thread-safe; call it through asyncio.to_thread)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    bot_username: str = ""
    max_question_chars: int = 1000
    # Retrieval is CPU-bound: its own small pool (one thread per core), so database calls on the default
    # pool never queue behind questions.
    qa_executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="qa")
    )


T = TypeVar("T")

SERVICES_KEY = "canbo.services"
FEATURES_KEY = "canbo.features"  # the installed features, in order (menu, /trogiup)


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    """The Services stored in the application's bot_data by `bot.app.build_application`."""
    services: Services = context.application.bot_data[SERVICES_KEY]
    return services


async def call_qa(services: Services, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run a blocking retrieval call on the retrieval pool."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(services.qa_executor, functools.partial(fn, *args, **kwargs))
