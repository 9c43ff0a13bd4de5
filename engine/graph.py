"""The scenario as a graph: edges for drawing and a Graphviz DOT rendering.

The UI draws the trainee's path on this graph; authors get the DOT text from
`python -m engine graph`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Scenario, routes_of


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    choice: str | None  # None for narration and conditional routes of narration nodes
    conditional: bool


def edges(scenario: Scenario) -> list[Edge]:
    found: list[Edge] = []
    for node_id, node in scenario.nodes.items():
        if node.choices is not None:
            for choice in node.choices:
                routes = routes_of(choice.next)
                for route in routes:
                    found.append(Edge(node_id, route.to, choice.id, route.when is not None))
        else:
            for route in routes_of(node.next):
                found.append(Edge(node_id, route.to, None, route.when is not None))
    return found


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(scenario: Scenario, highlight: list[str] | None = None) -> str:
    """Graphviz DOT of the scenario; `highlight` is a path of node ids to emphasise."""
    on_path = set(highlight or [])
    path_edges = set(zip(highlight or [], (highlight or [])[1:], strict=False))
    lines = [f"digraph {_quote(scenario.id)} {{", "  rankdir=LR;", "  node [fontname=Helvetica];"]
    for node_id, node in scenario.nodes.items():
        if node.ending:
            # a real newline: _quote writes it as DOT's `\n` line break
            shape, label = "doubleoctagon", f"{node_id}\n({node.ending})"
        elif node.choices is not None:
            shape, label = "box", node_id
        else:
            shape, label = "ellipse", node_id
        style = ', style=bold, penwidth=3' if node_id in on_path else ""
        start = ", peripheries=2" if node_id == scenario.start and not node.ending else ""
        lines.append(f"  {_quote(node_id)} [shape={shape}, label={_quote(label)}{style}{start}];")
    for edge in edges(scenario):
        attributes = []
        if edge.choice:
            attributes.append(f"label={_quote(edge.choice)}")
        if edge.conditional:
            attributes.append("style=dashed")
        if (edge.source, edge.target) in path_edges:
            attributes.append("penwidth=3")
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"  {_quote(edge.source)} -> {_quote(edge.target)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"
