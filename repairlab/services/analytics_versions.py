"""Stored scenario versions, parsed once per content hash, for analytics and exports.

An attempt records only the node and choice ids it took; what a choice *was*
(its text, repair strategies, scores, zone, position among the node's
choices) lives in the scenario snapshot of the exact version it was played
on. A version never changes once stored (the content hash is its id), so the
parsed form is cached for the life of the process, keyed by that hash.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import Rubric, Scenario, from_snapshot
from engine.model import routes_of

from ..db.tables import ScenarioVersion


@dataclass(frozen=True)
class ChoiceInfo:
    node: str
    choice: str
    position: int  # 1-based, in the order the author wrote them
    text: str
    strategies: tuple[str, ...]
    scores: dict[str, int]
    score: float
    zone: str
    best: bool  # the highest-scoring choice written at this node


@dataclass(frozen=True)
class VersionInfo:
    content_hash: str
    scenario: Scenario
    rubric: Rubric
    choices: dict[tuple[str, str], ChoiceInfo]
    decision_order: tuple[str, ...]  # decision nodes, breadth-first from the start
    node_order: tuple[str, ...]  # every node, breadth-first from the start
    node_kinds: dict[str, str] = field(default_factory=dict)

    def choice(self, node: str, choice: str | None) -> ChoiceInfo | None:
        if choice is None:
            return None
        return self.choices.get((node, choice))

    def strategies(self, node: str, choice: str | None) -> tuple[str, ...]:
        info = self.choice(node, choice)
        return info.strategies if info else ()

    def node_label(self, node: str, width: int = 48) -> str:
        found = self.scenario.nodes.get(node)
        if found is None:
            return node
        text = " ".join(found.text.split()).strip('"“” ')
        return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def parse_version(content_hash: str, snapshot: str) -> VersionInfo:
    scenario, rubric = from_snapshot(snapshot)
    choices: dict[tuple[str, str], ChoiceInfo] = {}
    for node_id, node in scenario.nodes.items():
        if not node.choices:
            continue
        scored = [rubric.score(c.scores) for c in node.choices]
        top = max(scored)
        for index, (choice, score) in enumerate(zip(node.choices, scored, strict=True)):
            choices[(node_id, choice.id)] = ChoiceInfo(
                node=node_id,
                choice=choice.id,
                position=index + 1,
                text=choice.text,
                strategies=tuple(choice.strategies),
                scores=dict(choice.scores),
                score=score,
                zone=rubric.zone_of(choice.scores),
                best=score == top,
            )
    order = _breadth_first(scenario)
    kinds = {node_id: node.kind for node_id, node in scenario.nodes.items()}
    return VersionInfo(
        content_hash=content_hash,
        scenario=scenario,
        rubric=rubric,
        choices=choices,
        decision_order=tuple(n for n in order if kinds[n] == "decision"),
        node_order=tuple(order),
        node_kinds=kinds,
    )


def _breadth_first(scenario: Scenario) -> list[str]:
    seen = [scenario.start]
    queue = deque([scenario.start])
    while queue:
        node = scenario.nodes[queue.popleft()]
        targets = [r.to for c in node.choices or [] for r in routes_of(c.next)] + [r.to for r in routes_of(node.next)]
        for target in targets:
            if target not in seen and target in scenario.nodes:
                seen.append(target)
                queue.append(target)
    seen += [n for n in scenario.nodes if n not in seen]  # unreachable nodes last
    return seen


class VersionCache:
    """Content hash -> parsed version; thread-safe, shared by every service of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parsed: dict[str, VersionInfo] = {}

    def get(self, session: Session, hashes: Iterable[str]) -> dict[str, VersionInfo]:
        wanted = set(hashes)
        with self._lock:
            found = {h: self._parsed[h] for h in wanted if h in self._parsed}
        missing = sorted(wanted - set(found))
        if missing:
            rows = session.execute(
                select(ScenarioVersion.content_hash, ScenarioVersion.snapshot).where(
                    ScenarioVersion.content_hash.in_(missing)
                )
            ).all()
            parsed = {content_hash: parse_version(content_hash, snapshot) for content_hash, snapshot in rows}
            with self._lock:
                self._parsed.update(parsed)
            found.update(parsed)
        return found

    def clear(self) -> None:
        with self._lock:
            self._parsed.clear()


VERSIONS = VersionCache()
