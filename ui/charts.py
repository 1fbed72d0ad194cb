"""Matplotlib figures: the live ranking, the network drawing and the calibration plot.

Matplotlib (Agg) rather than an interactive chart library, because the figures must look the same
in the browser, in a saved screenshot and in a test, and must render without network access.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.figure import Figure

from engine.contracts import PackView
from engine.service import Service

INK = "#1f2933"
MUTED = "#9aa5b1"
LEADER = "#c2410c"
OTHERS = "#3b82f6"
CJK_FONTS = ("IPAexGothic", "IPAGothic", "Noto Sans CJK JP", "TakaoGothic", "VL Gothic")
CJK_FILE_PREFIXES = ("ipaexg", "ipag.", "notosanscjk", "takaogothic", "vl-gothic")


def _use_cjk_fallback() -> None:
    """Japanese titles need a CJK font: fall back to an installed one, registering it first when
    matplotlib's font cache predates its installation. Only installed names are listed, which keeps
    matplotlib from warning about every absent one; without any, Latin text still renders.

    ``matplotlib-fontja`` (a dependency) ships IPAexGothic and registers it when imported, so a
    machine without system CJK fonts still draws Japanese charts; DejaVu Sans stays first for Latin.
    """
    import matplotlib_fontja  # noqa: F401 - registers IPAexGothic with matplotlib's font manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    if not installed & set(CJK_FONTS):
        for path in font_manager.findSystemFonts():
            if Path(path).name.lower().startswith(CJK_FILE_PREFIXES):
                font_manager.fontManager.addfont(path)
        installed = {font.name for font in font_manager.fontManager.ttflist}
    plt.rcParams["font.family"] = ["DejaVu Sans", *[f for f in CJK_FONTS if f in installed]]


_use_cjk_fallback()

KIND_STYLE: dict[str, tuple[str, str]] = {"cause": ("#f97316", "s"), "mechanism": ("#a78bfa", "D"),
                                         "question": ("#38bdf8", "o")}


def _style(axis: Any) -> None:
    for side in ("top", "right", "left"):
        axis.spines[side].set_visible(False)
    axis.spines["bottom"].set_color(MUTED)
    axis.tick_params(colors=INK, labelsize=10, length=0)


def ranking_figure(titles: Sequence[str], probabilities: Sequence[float], width: float = 5.2) -> Figure:
    """Horizontal bars, most likely on top, the leader in a warm colour and each bar labelled.

    Probabilities of causes are marginal and several causes can be present at once, so the bars
    are drawn against a fixed 0-100 % axis and are not expected to sum to one.
    """
    labels = [textwrap.shorten(t, 38, placeholder="…") for t in titles]
    figure, axis = plt.subplots(figsize=(width, 0.36 * len(labels) + 0.5), dpi=120)
    positions = list(range(len(labels)))[::-1]
    colours = [LEADER if i == 0 else OTHERS for i in range(len(labels))]
    axis.barh(positions, [100 * p for p in probabilities], color=colours, height=0.62)
    for y, p in zip(positions, probabilities, strict=True):
        axis.text(100 * p + 1.5, y, f"{100 * p:.0f}%", va="center", fontsize=10, color=INK)
    axis.set_yticks(positions, labels)
    axis.set_xlim(0, 108)
    axis.set_xticks([0, 25, 50, 75, 100], ["0", "25", "50", "75", "100 %"])
    _style(axis)
    figure.tight_layout()
    return figure


def network_figure(pack: PackView, highlight: str | None = None) -> Figure:
    """Causes on top, mechanisms in the middle, questions below, edges pointing downwards.

    A layered drawing follows the causal direction, which is how authors reason about the pack;
    a force layout of 90+ nodes would be a hairball. Colour and shape both mark the node kind, so
    the picture survives greyscale printing.
    """
    import networkx as nx

    graph = nx.DiGraph()
    layers: dict[str, list[str]] = {"cause": list(pack.causes), "mechanism": _mechanisms_in_order(pack),
                                    "question": list(pack.questions)}
    for kind, nodes in layers.items():
        for node in nodes:
            graph.add_node(node, kind=kind)
    for node in [*pack.mechanisms, *pack.questions]:
        for parent in pack.parents.get(node, []):
            graph.add_edge(parent, node)
    positions: dict[str, tuple[float, float]] = {}
    for level, nodes in enumerate(layers.values()):
        for i, node in enumerate(nodes):
            x = (i + 0.5) / max(len(nodes), 1)
            positions[node] = (x, -level + (0.12 if i % 2 else -0.12) * (level == 2))
    figure, axis = plt.subplots(figsize=(15, 8), dpi=110)
    near = set(graph.predecessors(highlight)) | set(graph.successors(highlight)) if highlight else set()
    edge_colours = ["#ea580c" if highlight in (u, v) else "#cbd5e1" for u, v in graph.edges]
    nx.draw_networkx_edges(graph, positions, ax=axis, edge_color=edge_colours, arrows=True, arrowsize=6,
                           width=[1.6 if highlight in e else 0.5 for e in graph.edges], node_size=120)
    for kind, (colour, shape) in KIND_STYLE.items():
        nodes = layers[kind]
        nx.draw_networkx_nodes(graph, positions, nodelist=nodes, node_color=colour, node_shape=shape, ax=axis,
                               node_size=[260 if n == highlight else 120 for n in nodes],
                               edgecolors=[INK if n == highlight or n in near else "white" for n in nodes],
                               label=kind + "s")
    labels = {n: n for n in layers["cause"] + layers["mechanism"]}
    if highlight:
        labels[highlight] = highlight
    for node, text in labels.items():
        x, y = positions[node]
        axis.text(x, y + 0.09, text, rotation=35, fontsize=8, ha="left", va="bottom",
                  color=LEADER if node == highlight else INK)
    for level, name in enumerate(("causes", "mechanisms", "questions")):
        axis.text(-0.02, -level, name, ha="right", va="center", fontsize=11, color=INK, weight="bold")
    axis.legend(loc="lower right", fontsize=9, frameon=False, markerscale=1.2)
    axis.set_xlim(-0.1, 1.02)
    axis.set_ylim(-2.45, 0.9)
    axis.axis("off")
    figure.tight_layout()
    return figure


def _mechanisms_in_order(pack: PackView) -> list[str]:
    """Mechanisms ordered by the mean position of their cause ancestors, to shorten edges."""
    cause_index = {c: i for i, c in enumerate(pack.causes)}

    def causes_of(node: str, seen: frozenset[str] = frozenset()) -> list[int]:
        found: list[int] = []
        for parent in pack.parents.get(node, []):
            if parent in cause_index:
                found.append(cause_index[parent])
            elif parent not in seen:
                found.extend(causes_of(parent, seen | {node}))
        return found

    def centre(node: str) -> float:
        indices = causes_of(node)
        return sum(indices) / len(indices) if indices else float(len(cause_index))

    return sorted(pack.mechanisms, key=centre)


def calibration_figure(bins: Sequence[dict[str, Any]], title: str) -> Figure:
    """The engine's reliability diagram in the UI's colours."""
    return Service.calibration_figure(bins, title, reference_colour=MUTED, line_colour=OTHERS)
