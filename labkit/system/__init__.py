"""This machine and this process: what the hardware offers, child processes for work that may
crash, memory readings, files shared between processes, and where llama.cpp's log lines go.

The bottom layer of the kit: it imports nothing else from labkit.
"""

from labkit import lazy_submodules

__getattr__ = lazy_submodules(__name__, {"child", "hardware", "jsonfile", "logs", "ports", "rss"})
