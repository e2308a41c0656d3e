"""`FILE:WEIGHT`, how the command line weights its inputs: training manifests (`train --data`) and LM
texts (`lm`). A module of its own, free of torch: models/lm.py reads it, and the search workers import that."""

from __future__ import annotations


def parse_weighted(spec: str) -> tuple[str, float]:
    """'manifest.jsonl:2.5' -> (path, 2.5); no suffix -> weight 1."""
    head, _, tail = spec.rpartition(":")
    if head and tail.replace(".", "", 1).isdigit():
        return head, float(tail)
    return spec, 1.0
