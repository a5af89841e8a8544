"""Reading fundraising pages: named ones one by one, or the key's whole collection.

The collection is HAL: `_embedded["osdi:fundraising_pages"]`, `total_pages`, and a
`_links.next` followed only on our own host (the key header must not go elsewhere).
A named page that is gone (404) becomes a BadRecord in the list, so the poll goes on.
"""

from __future__ import annotations

from typing import Any

from ..conditional import NOT_MODIFIED, ConditionalGetter
from ..errors import BadData, BadRecord
from ..http import HTTPStatusError, same_origin

__all__ = ["COLLECTION_PATH", "read_collection", "read_named"]

COLLECTION_PATH = "/api/v1/fundraising_pages"
EMBEDDED_KEY = "osdi:fundraising_pages"
# Far above any real account; stops a misbehaving `next` chain from looping forever.
MAX_COLLECTION_PAGES = 400
PAGE_COUNT_KEY = "pages fundraising_pages"  # in the cursor: total_pages of the last poll


def read_named(
    getter: ConditionalGetter, base_url: str, page_ids: list[str], headers: dict[str, str]
) -> list[object]:
    """Each named page's body (those answered 304 left out), a BadRecord for a gone one."""
    pages: list[object] = []
    for page_id in dict.fromkeys(page_ids):
        try:
            body = getter.get_json(
                f"{base_url}{COLLECTION_PATH}/{page_id}",
                key=f"fundraising_page {page_id}",
                what=f"Action Network page {page_id}",
                headers=headers,
            )
        except HTTPStatusError as error:
            if error.status != 404:
                raise
            pages.append(BadRecord(f"fundraising page {page_id} not found (HTTP 404)"))
            continue
        if body is not NOT_MODIFIED:
            pages.append(body)
    return pages


def read_collection(
    getter: ConditionalGetter, base_url: str, headers: dict[str, str]
) -> list[object]:
    """Every page of the collection, walked to `total_pages` (collection pages answered
    304 add nothing: the caller reads again without validators when some did)."""
    pages: list[object] = []
    url = f"{base_url}{COLLECTION_PATH}"
    params: dict[str, Any] | None = None
    number, seen = 1, set()
    while number <= MAX_COLLECTION_PAGES and number not in seen:
        seen.add(number)
        body = getter.get_json(
            url,
            key=f"fundraising_pages page {number}",
            what=f"Action Network pages (page {number})",
            params=params,
            headers=headers,
        )
        if body is NOT_MODIFIED:
            total_pages = int(getter.cursor.get(PAGE_COUNT_KEY, "1") or 1)
            next_href = None
        else:
            embedded, total_pages, next_href = _collection_page(body)
            pages.extend(embedded)
            if not embedded:
                total_pages = number
        getter.validators[PAGE_COUNT_KEY] = str(total_pages)
        if number >= total_pages:
            break
        number += 1
        url, params = _next_page_url(base_url, next_href, number)
    return pages


def _next_page_url(
    base_url: str, next_href: str | None, number: int
) -> tuple[str, dict[str, Any] | None]:
    # Follow `_links.next` on our own host only: the key header must not go elsewhere.
    if next_href and same_origin(next_href, base_url):
        return next_href, None
    return f"{base_url}{COLLECTION_PATH}", {"page": number}


def _collection_page(body: object) -> tuple[list[object], int, str | None]:
    """One collection page: its embedded pages, `total_pages`, and the `next` link."""
    if not isinstance(body, dict):
        raise BadData("Action Network pages: the reply is not a HAL object")
    embedded_members = body.get("_embedded") or {}
    if not isinstance(embedded_members, dict):
        # Not "no pages": a reply we cannot read fails the poll, the last numbers stay.
        raise BadData("Action Network pages: _embedded is not an object")
    embedded = embedded_members.get(EMBEDDED_KEY, [])
    if not isinstance(embedded, list):
        raise BadData(f"Action Network pages: _embedded.{EMBEDDED_KEY} is not a list")
    try:
        total_pages = int(body.get("total_pages") or 1)
    except (TypeError, ValueError):
        raise BadData("Action Network pages: total_pages is not a number") from None
    next_href = _object(_object(body.get("_links")).get("next")).get("href")
    return embedded, total_pages, next_href if isinstance(next_href, str) else None


def _object(value: object) -> dict[str, Any]:
    # A link member that should be an object; anything else reads as no link.
    return value if isinstance(value, dict) else {}
