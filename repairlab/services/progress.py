"""How far through a scenario a trainee is, for the progress indicator.

Branching means the total is not fixed: we report the decisions made so far
and the fewest decisions that could still lie ahead from the current node.
"""

from __future__ import annotations

import heapq

from engine import Playthrough
from engine.graph import edges


def decisions_ahead(play: Playthrough) -> int:
    """Fewest decision points between the current node and any ending."""
    scenario = play.scenario
    targets: dict[str, set[str]] = {}
    for edge in edges(scenario):
        targets.setdefault(edge.source, set()).add(edge.target)
    weight = {node_id: int(node.choices is not None) for node_id, node in scenario.nodes.items()}
    best = {play.node_id: weight[play.node_id]}
    queue = [(weight[play.node_id], play.node_id)]
    while queue:
        cost, node_id = heapq.heappop(queue)
        if scenario.nodes[node_id].ending is not None:
            return cost
        if cost > best.get(node_id, cost):
            continue
        for target in targets.get(node_id, ()):
            new_cost = cost + weight[target]
            if new_cost < best.get(target, 1 << 30):
                best[target] = new_cost
                heapq.heappush(queue, (new_cost, target))
    return 0


def progress(play: Playthrough) -> tuple[int, int]:
    """(decisions made, decisions made + fewest still ahead)."""
    made = len(play.outcomes)
    return made, made + decisions_ahead(play)
