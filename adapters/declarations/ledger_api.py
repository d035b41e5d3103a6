"""Declaration source: a ledger-query HTTP API (物流账册 detail; DOMAIN.md §4.3) for ledger balances.

Zone and provincial platforms (e.g. Shandong's `/bwl/BwlDetailService`) answer a ledger query
with the 底账 lines in `BwsBsc`/`BwsDt` names. Each run asks, for every configured ledger number,
page after page (`page_param`, `page_size_param`) until a page comes back short, maps each item
through `field_map` (wire name -> API field) into `BwsDt` rows and hands them over as one
document: unchanged answers have the same hash and are skipped; changed lines overwrite the
stored ones (`as_of` = the query time). JSON numbers are read as Decimal, never float.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

import httpx
from pydantic import Field, field_validator

from adapters.declarations._common import EvidenceSettings
from adapters.declarations._values import canonical, to_wire
from connector.abc import DeclarationDocument, DeclarationSource
from connector.clock import Clock, SystemClock
from connector.config.schema import check_timezone
from connector.config.secrets import Secret
from connector.errors import BadInputError, RetryableSourceError, SourceError

MESSAGE_TYPE = "LEDGER_QUERY"
DEFAULT_FIELD_MAP = {  # wire name (BwsDt) -> API field (Shandong BwlListType)
    "bwsNo": "bwlNo", "gdsSeqno": "gdsSeqNo", "gdsMtno": "gdsMtno", "gdecd": "gdecd", "gdsNm": "gdsNm",
    "dclUnitcd": "dclUnitcd", "lawfUnitcd": "lawfUnitcd", "inQty": "inQty", "actlIncQty": "actlIncQty",
    "actlRedcQty": "actlRedcQty", "prevdIncQty": "prevdIncQty", "prevdRedcQty": "prevdRedcQty"}


class LedgerApiSource(DeclarationSource):
    """Reads ledger (底账) lines from a paged HTTP ledger-query API."""

    class Config(EvidenceSettings):
        url: str = Field(min_length=1, description="the ledger query endpoint (http:// or https://)")
        method: Literal["GET", "POST"] = Field(default="POST", description="GET: query string; POST: JSON body")
        token: Secret | None = Field(default=None, description="sent as `Authorization: Bearer` (a reference)")
        ledgers: tuple[str, ...] = Field(min_length=1, description="ledger numbers (账册号) to query")
        ledger_param: str = Field(default="bwlNo", description="request field carrying the ledger number")
        page_param: str = Field(default="pageNo", description="request field carrying the page number (from 1)")
        page_size_param: str = Field(default="pageSize", description="request field carrying the page size")
        page_size: int = Field(default=100, ge=1, le=10_000, description="lines asked per page")
        max_pages: int = Field(default=1000, ge=1, description="stop (and fail) beyond this many pages")
        items_path: str = Field(default="data.list", description="dotted path of the line list in the answer")
        field_map: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_FIELD_MAP),
                                          description="BwsDt wire name -> API field name")
        timezone: str = Field(default="Asia/Shanghai", description="zone of the API's wall-clock times")
        timeout_seconds: float = Field(default=30, gt=0, description="per request")

        _tz = field_validator("timezone")(check_timezone)

    def __init__(self, name: str, config: LedgerApiSource.Config, client: httpx.Client | None = None,
                 clock: Clock | None = None):
        self.name = name
        self.config = config
        self.clock = clock or SystemClock()  # the App's clock: stamps queriedAt (the lines' as_of)
        self.timezone = ZoneInfo(config.timezone)
        self.raw_retention_days = config.raw_retention_days
        headers = {"Authorization": f"Bearer {config.token.reveal()}"} if config.token else {}
        self.client = client or httpx.Client(timeout=config.timeout_seconds, headers=headers)

    def pending(self) -> Iterator[str]:
        return iter(self.config.ledgers)

    def read(self, handle: str) -> DeclarationDocument:
        queried = self.clock.now()
        lines = [self._line(item, handle, n) for n, item in enumerate(self._items(handle))]
        rows: dict[str, list[dict[str, Any]]] = {"BwsDt": lines} if lines else {}
        raw, sha256 = canonical(MESSAGE_TYPE, rows)
        rows["LedgerQuery"] = [{"bwsNo": handle, "queriedAt": to_wire(queried, self.timezone, "utf-8", "")}]
        return DeclarationDocument(f"{self.name}:{handle}", sha256, MESSAGE_TYPE, None, rows, raw=raw)

    def _items(self, ledger: str) -> Iterator[dict[str, Any]]:
        for page in range(1, self.config.max_pages + 1):
            items = self._page(ledger, page)
            yield from items
            if len(items) < self.config.page_size:
                return
        raise SourceError(f"{self.name}: ledger {ledger} has more than {self.config.max_pages} pages")

    def _page(self, ledger: str, page: int) -> list[dict[str, Any]]:
        c = self.config
        params = {c.ledger_param: ledger, c.page_param: page, c.page_size_param: c.page_size}
        try:
            response = (self.client.post(c.url, json=params) if c.method == "POST"
                        else self.client.get(c.url, params=params))
        except httpx.HTTPError as exc:
            raise RetryableSourceError(f"{self.name}: {type(exc).__name__} on {c.url}") from None
        if response.status_code != 200:
            raise RetryableSourceError(f"{self.name}: HTTP {response.status_code} from {c.url}")
        return self._list_in(response.content, f"{self.name}: {ledger} page {page}")

    def _list_in(self, body: bytes, where: str) -> list[dict[str, Any]]:
        try:
            data: Any = json.loads(body, parse_float=Decimal)
        except ValueError:
            raise BadInputError("not_json", f"{where}: the answer is not JSON") from None
        for key in self.config.items_path.split("."):
            data = data.get(key) if isinstance(data, dict) else None
        if data is None:
            return []
        if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
            raise BadInputError("missing_field", f"{where}: {self.config.items_path} is not a list of objects")
        return data

    def _line(self, item: dict[str, Any], ledger: str, n: int) -> dict[str, Any]:
        where = f"{self.name}: {ledger} line {n + 1}"
        line = {wire: to_wire(item.get(api), self.timezone, "utf-8", f"{where}.{api}")
                for wire, api in self.config.field_map.items()}
        return {**line, "bwsNo": line.get("bwsNo") or ledger}

    def done(self, handle: str) -> None:
        """Nothing to move: the next query is compared by hash."""

    def failed(self, handle: str, reason: str) -> None:
        """Nothing to move: the quarantine entry is the record."""

    def check(self) -> str:
        self._page(self.config.ledgers[0], 1)
        return f"ledger query ok at {self.config.url} ({len(self.config.ledgers)} ledger(s))"

    def close(self) -> None:
        self.client.close()
