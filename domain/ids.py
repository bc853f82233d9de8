"""The one id pattern of the site's communities, grid cells, sensors, people and channels."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$"
"""Ids are [a-z0-9-]{3,64}, not starting or ending with '-': safe as tag, topic level and path."""

Id = Annotated[str, Field(pattern=ID_PATTERN)]
