"""GridWatch dashboards: the web dashboard (`dashboards.web`, package data the API serves)
and the Grafana boards (`dashboards/grafana`, not shipped in the wheel)."""
