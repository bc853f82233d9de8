"""A module per `gridwatch` sub-command (gridwatch/cli.py registers them); each builds its
settings once, at start."""
