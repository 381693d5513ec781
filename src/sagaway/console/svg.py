"""The laid-out graph as SVG, with the path taken marked on it.

Each outcome is told apart by shape and icon as well as colour (a tick for succeeded, a
cross and a double border for failed, a warning sign for caught, a circular arrow with the
count for retried, a dot and a dashed border for running, a return arrow for a
compensation state), so the path reads the same in greyscale and to colour-blind eyes.
"""

from __future__ import annotations

from html import escape

from sagaway.console.graph import END, GAP_X, HEADER, PAD, START, Block, Edge, Node
from sagaway.console.path import CAUGHT, FAILED, RUNNING, SUCCEEDED, Path

ICONS = {SUCCEEDED: "\u2713", FAILED: "\u2717", CAUGHT: "\u26a0", RUNNING: "\u25cf"}
MARGIN = 16


def render(block: Block, path: Path | None, status: str = "") -> str:
    width, height = block.width + 2 * MARGIN, block.height + 2 * MARGIN
    body = _block(block, path, status)
    return (
        f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" role="img"'
        f' aria-label="state machine graph" viewBox="0 0 {width:.0f} {height:.0f}"'
        f' width="{width:.0f}" height="{height:.0f}">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9"'
        ' markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z"/></marker>'
        f'</defs><g transform="translate({MARGIN},{MARGIN})">{body}</g></svg>'
    )


def _block(block: Block, path: Path | None, status: str) -> str:
    parts = [_edge(block, e, path) for e in block.edges]
    parts.extend(_node(n, path, status) for n in block.nodes.values())
    return "".join(parts)


def _edge(block: Block, edge: Edge, path: Path | None) -> str:
    a, b = block.nodes[edge.source], block.nodes[edge.target]
    taken = path is not None and _taken(edge, path)
    cls = f"edge e-{edge.kind}" + (" taken" if taken else "")
    if edge.back:
        sx, sy, tx, ty = a.x + a.w, a.y + a.h / 2, b.x + b.w, b.y + b.h / 2
        bend = max(sx, tx) + GAP_X + 10
        d = f"M{sx:.1f},{sy:.1f} C{bend:.1f},{sy:.1f} {bend:.1f},{ty:.1f} {tx:.1f},{ty:.1f}"
    else:
        sx, sy, tx, ty = a.x + a.w / 2, a.y + a.h, b.x + b.w / 2, b.y
        mid = (sy + ty) / 2
        d = f"M{sx:.1f},{sy:.1f} C{sx:.1f},{mid:.1f} {tx:.1f},{mid:.1f} {tx:.1f},{ty:.1f}"
    label = ""
    if edge.kind in ("catch", "default"):
        label = f'<text class="edge-label" x="{(sx + tx) / 2 + 4:.1f}" y="{(sy + ty) / 2:.1f}">{edge.kind}</text>'  # noqa: E501
    return f'<path class="{cls}" d="{d}" marker-end="url(#arrow)"/>{label}'


def _taken(edge: Edge, path: Path) -> bool:
    if edge.source == START:
        return edge.target in path.runs
    if edge.target == END:
        run = path.runs.get(edge.source)
        return run is not None and run.exited > 0
    return (edge.source, edge.target) in path.transitions


def _node(node: Node, path: Path | None, status: str) -> str:
    if node.name in (START, END):
        r = node.w / 2
        cls = "terminal start" if node.name == START else "terminal end"
        return f'<circle class="{cls}" cx="{node.x + r:.1f}" cy="{node.y + r:.1f}" r="{r:.1f}"/>'
    run = path.runs.get(node.name) if path is not None else None
    outcome = run.outcome(status) if run is not None else "not-run"
    classes = ["state", f"t-{node.type.lower()}", f"s-{outcome}"]
    if node.compensation:
        classes.append("compensation")
    badges = _badges(node, outcome, run.retried if run else 0)
    name = escape(node.name)
    inner = ""
    if node.children:
        x: float = PAD
        for child in node.children:
            inner += f'<g transform="translate({x:.1f},{HEADER})">{_block(child, path, status)}</g>'
            x += child.width + GAP_X
    text_y = 17 if node.children else node.h / 2 + 5
    title = f"{node.name} ({node.type}): {outcome}"
    return (
        f'<g class="{" ".join(classes)}" data-state="{name}" tabindex="0" role="button"'
        f' transform="translate({node.x:.1f},{node.y:.1f})"><title>{escape(title)}</title>'
        f'<rect class="box" width="{node.w:.1f}" height="{node.h:.1f}" rx="6"/>'
        + (f'<rect class="inner" x="3" y="3" width="{node.w - 6:.1f}" height="{node.h - 6:.1f}"'
           ' rx="4"/>' if outcome == FAILED else "")
        + f'<text class="name" x="{28 if badges else 10}" y="{text_y:.1f}">{name}</text>'
        f'{badges}{inner}</g>'
    )  # fmt: skip


def _badges(node: Node, outcome: str, retried: int) -> str:
    icons = []
    if outcome in ICONS:
        icons.append(f'<text class="icon i-{outcome}" x="10" y="{_icon_y(node)}">'
                     f"{ICONS[outcome]}</text>")  # fmt: skip
    right = node.w - 8
    if node.compensation:
        icons.append(f'<text class="icon i-compensation" x="{right:.1f}" y="{_icon_y(node)}"'
                     ' text-anchor="end">\u21a9</text>')  # fmt: skip
        right -= 18
    if retried:
        icons.append(f'<text class="icon i-retried" x="{right:.1f}" y="{_icon_y(node)}"'
                     f' text-anchor="end">\u21bb{retried}</text>')  # fmt: skip
    return "".join(icons)


def _icon_y(node: Node) -> str:
    return "17" if node.children else f"{node.h / 2 + 5:.1f}"
