"""A state machine's definition laid out as a graph: states in layers from top to bottom.

Layers follow the longest forward path from ``StartAt`` (transitions that go back up, as a
retry loop written with Choice does, are drawn as back edges), so a saga reads top down
with its compensations below the step that failed. Parallel branches and a Map's item
processor are laid out the same way, nested inside their state's box.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NODE_W, NODE_H = 176, 40
GAP_X, GAP_Y = 28, 44
PAD, HEADER = 14, 26
TERMINAL = 18  # diameter of the start and end markers
START, END = "__start__", "__end__"


@dataclass(slots=True)
class Edge:
    source: str
    target: str
    kind: str = "next"  # next | choice | default | catch
    back: bool = False


@dataclass(slots=True)
class Node:
    name: str
    type: str
    x: float = 0.0
    y: float = 0.0
    w: float = NODE_W
    h: float = NODE_H
    children: list[Block] = field(default_factory=list)  # Parallel branches, Map processor
    compensation: bool = False


@dataclass(slots=True)
class Block:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0


def successors(state: dict[str, Any]) -> list[tuple[str, str]]:
    """(target, kind) of every transition a state can take."""
    out: list[tuple[str, str]] = []
    if isinstance(state.get("Next"), str):
        out.append((state["Next"], "next"))
    for choice in state.get("Choices") or []:
        if isinstance(choice, dict) and isinstance(choice.get("Next"), str):
            out.append((choice["Next"], "choice"))
    if isinstance(state.get("Default"), str):
        out.append((state["Default"], "default"))
    for catcher in state.get("Catch") or []:
        if isinstance(catcher, dict) and isinstance(catcher.get("Next"), str):
            out.append((catcher["Next"], "catch"))
    return out


def _ends(state: dict[str, Any]) -> bool:
    return bool(state.get("End")) or state.get("Type") in ("Succeed", "Fail")


def _sub_graphs(state: dict[str, Any]) -> list[dict[str, Any]]:
    if state.get("Type") == "Parallel":
        return [b for b in state.get("Branches") or [] if isinstance(b, dict)]
    if state.get("Type") == "Map":
        processor = state.get("ItemProcessor") or state.get("Iterator")
        return [processor] if isinstance(processor, dict) else []
    return []


def layout(graph: dict[str, Any]) -> Block:
    """Lay out ``graph`` (a definition, a branch or an item processor: StartAt and States)."""
    states: dict[str, Any] = {
        k: v for k, v in (graph.get("States") or {}).items() if isinstance(v, dict)
    }
    block = Block()
    block.nodes[START] = Node(START, "Start", w=TERMINAL, h=TERMINAL)
    for name, state in states.items():
        block.nodes[name] = _node(name, state)
    block.nodes[END] = Node(END, "End", w=TERMINAL, h=TERMINAL)
    links = {name: successors(state) for name, state in states.items()}
    start_at = graph.get("StartAt")
    links[START] = [(start_at, "next")] if start_at in states else []
    for name, state in states.items():
        if _ends(state):
            links[name].append((END, "next"))
    links[END] = []
    layers = _layers(links, list(block.nodes))
    for source, targets in links.items():
        for target, kind in targets:
            if target in block.nodes:
                back = layers[target] <= layers[source]
                block.edges.append(Edge(source, target, kind, back))
    _mark_compensations(block, links)
    _place(block, layers)
    return block


def _node(name: str, state: dict[str, Any]) -> Node:
    node = Node(name, str(state.get("Type", "?")))
    node.children = [layout(sub) for sub in _sub_graphs(state)]
    if node.children:
        node.w = (
            max(NODE_W, sum(c.width for c in node.children) + GAP_X * (len(node.children) - 1))
            + 2 * PAD
        )
        node.h = HEADER + max(c.height for c in node.children) + PAD
    return node


def _layers(links: dict[str, list[tuple[str, str]]], order: list[str]) -> dict[str, int]:
    """Longest-path layering over forward edges (back edges found by depth-first search)."""
    back: set[tuple[str, str]] = set()
    finished: list[str] = []
    seen: set[str] = set()
    on_stack: set[str] = set()

    def visit(name: str) -> None:
        seen.add(name)
        on_stack.add(name)
        for target, _ in links.get(name, []):
            if target in on_stack:
                back.add((name, target))
            elif target not in seen and target in links:
                visit(target)
        on_stack.discard(name)
        finished.append(name)

    for name in order:  # START first; unreachable states after it
        if name not in seen and name != END:
            visit(name)
    if END not in seen:
        finished.insert(0, END)
    layer = dict.fromkeys(order, 0)
    for name in reversed(finished):
        for target, _ in links.get(name, []):
            if (name, target) not in back and target in layer:
                layer[target] = max(layer[target], layer[name] + 1)
    deepest = max(layer.values(), default=0)
    layer[END] = max(layer[END], deepest)
    return layer


def _mark_compensations(block: Block, links: dict[str, list[tuple[str, str]]]) -> None:
    """States reached only after a Catch (what a saga runs to undo its steps)."""
    pending = [t for targets in links.values() for t, kind in targets if kind == "catch"]
    while pending:
        name = pending.pop()
        node = block.nodes.get(name)
        if node is None or node.compensation or node.type in ("End", "Fail", "Succeed"):
            continue
        node.compensation = True
        pending.extend(t for t, _ in links.get(name, []))


def _place(block: Block, layers: dict[str, int]) -> None:
    rows: dict[int, list[Node]] = {}
    for name, node in block.nodes.items():
        rows.setdefault(layers[name], []).append(node)
    widths = {i: sum(n.w for n in row) + GAP_X * (len(row) - 1) for i, row in rows.items()}
    block.width = max(widths.values(), default=0.0)
    y = 0.0
    for i in sorted(rows):
        row = rows[i]
        x = (block.width - widths[i]) / 2
        height = max(n.h for n in row)
        for node in row:
            node.x, node.y = x, y + (height - node.h) / 2
            x += node.w + GAP_X
        y += height + GAP_Y
    block.height = y - GAP_Y
