"""The extension point: a feature is one module exposing `FEATURE`, registered in bot.app.FEATURES."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from telegram.ext import Application

if TYPE_CHECKING:
    from bot.conversation import StepRouter
    from bot.jobs import JobRegistry

ANYONE: frozenset[str] = frozenset()  # a command open to everyone, signed in or not
SIGNED_IN: frozenset[str] = frozenset({"*"})  # any signed-in user


@dataclass(frozen=True)
class CommandSpec:
    """A slash command shown in the menu and /trogiup to users holding one of `roles`.

    `roles`: ANYONE, SIGNED_IN, or role names ("cadre", "reviewer", "head", "staff", "admin").
    `in_groups`: also listed in group chats' menu.
    """

    name: str
    description: str
    roles: frozenset[str] = ANYONE
    in_groups: bool = False


@dataclass(frozen=True)
class Feature:
    """`install(app, router, jobs)` adds the feature's handlers, conversation steps and job kinds."""

    name: str
    install: Callable[[Application, StepRouter, JobRegistry], None]
    commands: tuple[CommandSpec, ...] = field(default_factory=tuple)
    help_lines: tuple[tuple[frozenset[str], str], ...] = field(default_factory=tuple)  # (roles, HTML line)


def allowed(spec_roles: frozenset[str], *, signed_in: bool, roles: frozenset[str]) -> bool:
    """Whether a user with `roles` may see/use something restricted to `spec_roles`."""
    if not spec_roles:
        return True
    if not signed_in:
        return False
    return "*" in spec_roles or bool(spec_roles & roles)
