"""Filtering and searching the scenario library, as the library page offers it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .catalog import CatalogEntry


def matches(entry: CatalogEntry, query: str) -> bool:
    words = query.lower().split()
    if not words:
        return True
    s = entry.scenario
    haystack = " ".join([s.title, s.client, s.mistake, s.summary, " ".join(s.tags), s.rupture, s.difficulty]).lower()
    return all(word in haystack for word in words)


def filter_entries(
    entries: Iterable[CatalogEntry],
    difficulties: Sequence[str] = (),
    ruptures: Sequence[str] = (),
    tags: Sequence[str] = (),
    query: str = "",
) -> list[CatalogEntry]:
    chosen = []
    for entry in entries:
        s = entry.scenario
        if difficulties and s.difficulty not in difficulties:
            continue
        if ruptures and s.rupture not in ruptures:
            continue
        if tags and not set(tags) & set(s.tags):
            continue
        if not matches(entry, query):
            continue
        chosen.append(entry)
    return chosen
