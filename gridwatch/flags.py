"""Settings precedence for every command: flags given on the command line, then `GRIDWATCH_*`
environment variables, then defaults — in one place."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic_settings import BaseSettings

S = TypeVar("S", bound=BaseSettings)


def settings_with_flags(model: type[S], **flags: Any) -> S:
    """`model` built from the environment, with every flag that was given (not None) on top."""
    return model(**{k: v for k, v in flags.items() if v is not None})
