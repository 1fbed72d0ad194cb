"""Exact inference (batched junction tree) and value of information; numpy only at import time."""

from engine.infer.junction_tree import JunctionTree, Result
from engine.infer.voi import VoiResult, mutual_information_gains

__all__ = ["JunctionTree", "Result", "VoiResult", "mutual_information_gains"]
