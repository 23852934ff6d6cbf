"""Veri: a memory-driven platform for creator monetization."""

__version__ = "0.1.0"
