"""``python -m retrieval QUESTION`` is ``ask QUESTION``."""

from retrieval.cli import ask_main

if __name__ == "__main__":
    ask_main()
