"""``python -m retrieval QUESTION`` is ``ask QUESTION``."""

from __future__ import annotations

from retrieval.cli import ask_main

__all__: list[str] = []

if __name__ == "__main__":
    ask_main()
