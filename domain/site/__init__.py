"""The site registry (contract §1, §7): which communities, grid cells, people, sensors and
notification channels exist — one schema per concept, used for the site file, the database's
registry and every admin API body.

Every reading must name a sensor that is here. The package's parts: the document's models
(`models`), the cross-reference checks (`problems`), reading a document (`parsing`), and
`Registry`, the read side the hub's processes share (`registry`): it is swapped whole
(`Registry.swap`) when a committed change arrives, so a lookup sees one version. Import the
names from here.
"""

from domain.site.models import (
    EMAIL_PATTERN,
    RULE_KEY,
    Community,
    EscalationStep,
    Grid,
    Location,
    Person,
    PersonRole,
    Polygon,
    Sensor,
    Site,
)
from domain.site.parsing import SiteError, load_site, parse_site, parse_site_text
from domain.site.problems import Problem, problems
from domain.site.registry import Placement, Registry

__all__ = [
    "EMAIL_PATTERN",
    "RULE_KEY",
    "Community",
    "EscalationStep",
    "Grid",
    "Location",
    "Person",
    "PersonRole",
    "Placement",
    "Polygon",
    "Problem",
    "Registry",
    "Sensor",
    "Site",
    "SiteError",
    "load_site",
    "parse_site",
    "parse_site_text",
    "problems",
]
