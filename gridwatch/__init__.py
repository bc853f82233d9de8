"""The composition root: the `gridwatch` command, which wires domain, gateway, services and
simulators into processes. Nothing else imports this package."""
