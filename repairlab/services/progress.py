"""How far through a scenario a trainee is, for the progress indicator.

Branching means the total is not fixed: we report the decisions made so far
and the fewest decisions that could still lie ahead from the current node.
"""

from __future__ import annotations

import heapq

from engine import Playthrough, Scenario
from engine.graph import edges


def decisions_ahead(play: Playthrough) -> int:
    """Fewest decision points between the current node and any ending."""
    return _fewest_decisions_to_an_ending(play.scenario)[play.node_id]


_TABLES: dict[int, tuple[Scenario, dict[str, int]]] = {}  # id(scenario) -> (the scenario, its table)


def _fewest_decisions_to_an_ending(scenario: Scenario) -> dict[str, int]:
    """For every node, the fewest decisions on a way to an ending: one search per scenario
    version (a scenario is immutable once loaded), not one per page run."""
    cached = _TABLES.get(id(scenario))
    if cached is not None and cached[0] is scenario:
        return cached[1]
    sources: dict[str, set[str]] = {}
    for edge in edges(scenario):
        sources.setdefault(edge.target, set()).add(edge.source)
    weight = {node_id: int(node.choices is not None) for node_id, node in scenario.nodes.items()}
    # Dijkstra backwards from every ending; a node's cost counts its own decision.
    best = {node_id: weight[node_id] for node_id, node in scenario.nodes.items() if node.ending is not None}
    queue = [(cost, node_id) for node_id, cost in best.items()]
    heapq.heapify(queue)
    while queue:
        cost, node_id = heapq.heappop(queue)
        if cost > best[node_id]:
            continue
        for source in sources.get(node_id, ()):
            new_cost = cost + weight[source]
            if new_cost < best.get(source, 1 << 30):
                best[source] = new_cost
                heapq.heappush(queue, (new_cost, source))
    table = {node_id: best.get(node_id, 0) for node_id in scenario.nodes}
    if len(_TABLES) >= 256:
        _TABLES.clear()
    _TABLES[id(scenario)] = (scenario, table)
    return table


def progress(play: Playthrough) -> tuple[int, int]:
    """(decisions made, decisions made + fewest still ahead)."""
    made = len(play.outcomes)
    return made, made + decisions_ahead(play)
