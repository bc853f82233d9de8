"""The Grafana boards' generator (`build.py`, run from a checkout; not shipped in the wheel)."""
