"""Benchmarks, each run as `python -m bench.<name>` (bench/README.md has the figures); not part of
the shipped package, so the hub never imports them."""
