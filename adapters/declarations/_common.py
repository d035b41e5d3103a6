"""Settings every declaration source shares."""

from __future__ import annotations

from pydantic import Field

from connector.config.schema import Strict

DEFAULT_RETENTION_DAYS = 1096  # 3 years (and a leap day)


class EvidenceSettings(Strict):
    """How long the raw bytes of each message are kept in the store (`raw_messages`)."""

    raw_retention_days: int = Field(
        default=DEFAULT_RETENTION_DAYS, ge=1, description="keep every raw message at least this many days "
        "(audit evidence; default 1096 = 3 years); `connector messages purge` deletes older ones")
