"""Offline evaluation: answer and retrieval metrics, and loaders for the benchmark formats."""

from __future__ import annotations

__all__: list[str] = []
