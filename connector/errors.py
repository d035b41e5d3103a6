"""The connector's exception tree. Retry policy keys off these classes, never off message text.

    ConnectorError
     ├── ConfigError               bad configuration: exit 78 (EX_CONFIG), systemd does not restart
     ├── StoreError                the state store cannot be used
     │    └── SchemaVersionError   the store was written by a newer connector: refuse to run
     ├── SourceError               a WMS or declaration source failed
     │    ├── RetryableSourceError    timeouts, lost connections: keep the cursor, try next run
     │    └── FatalSourceError        the cursor can no longer be valid: stop that source, alert
     ├── BadInputError             one row or file that cannot be used: quarantine it, go on
     │    └── MappingError            a movement the mapping does not cover (unmapped SKU, type, unit)
     └── SinkError                 a delivery failed
          ├── RetryableSinkError      5xx, 409, 429, timeouts: keep the message, retry with the same key
          └── RejectedSinkError       4xx that retrying cannot fix: hold the message, alert
"""

from __future__ import annotations

EX_CONFIG = 78


class ConnectorError(Exception):
    """Base of every error the connector raises on purpose."""


class ConfigError(ConnectorError):
    """Configuration that cannot be used. Carries every problem found, each at its place."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class StoreError(ConnectorError):
    """The state store is unusable."""


class SchemaVersionError(StoreError):
    """The store's schema version is unknown to this connector (written by a newer one)."""


class SourceError(ConnectorError):
    """A source failed as a whole (not one bad row)."""


class RetryableSourceError(SourceError):
    """Transient source failure: keep the cursor and try again on the next run."""


class FatalSourceError(SourceError):
    """The source can no longer be read safely: stop it and alert; never restart from zero."""


class BadInputError(ConnectorError):
    """One input row or file that cannot be used. `reason` is a short stable code."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class MappingError(BadInputError):
    """A movement the mapping does not cover."""


class SinkError(ConnectorError):
    """A delivery attempt failed."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)


class RetryableSinkError(SinkError):
    """Try again later with the same key and bytes."""


class RejectedSinkError(SinkError):
    """The receiver refused the message for good; hold it and alert."""
