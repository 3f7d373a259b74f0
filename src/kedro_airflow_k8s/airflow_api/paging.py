"""Reading a paged list (``limit`` / ``offset``, ``total_entries``) without trusting the server.

Pages are asked for lazily, so a caller that finds what it looks for stops asking. Paging ends
at an empty page or at the number of items the server announced (the smallest it announced, so a
total that keeps growing cannot keep it going); a page made only of items already seen means the
server repeats itself, which is an error rather than an endless loop. A server that caps
``limit`` lower than asked is followed: the next offset is what was received.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from kedro_airflow_k8s.airflow_api import messages
from kedro_airflow_k8s.airflow_api.transport import Transport

T = TypeVar("T")

PAGE_SIZE = 100  # Airflow's default [api] maximum_page_limit


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int | None  # None: the server did not say
    endpoint: str


def pages(
    transport: Transport,
    fetch: Callable[[int], Page[T]],
    key: Callable[[T], Hashable],
) -> Iterator[T]:
    """Every item of a paged list, each once, asking for the next page only when needed."""
    seen: set[Hashable] = set()
    offset = 0
    bound: int | None = None
    while True:
        page = fetch(offset)
        if page.total is not None:
            bound = page.total if bound is None else min(bound, page.total)
        fresh = [item for item in page.items if key(item) not in seen]
        if page.items and not fresh:
            raise transport.error(messages.repeated_page(transport.host, page.endpoint, offset))
        for item in fresh:
            seen.add(key(item))
            yield item
        offset += len(page.items)
        if not page.items or (bound is not None and offset >= bound):
            return
