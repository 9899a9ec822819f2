"""Comparison reports from the tracking store (``make_report``; CLI: ``scripts/compare.py``)."""

from seglab.report.compare import main, make_report

__all__ = ["main", "make_report"]
