"""`python -m veri.cli ...`, as the benchmarks and tests start workers."""

from veri.cli import app

app()
