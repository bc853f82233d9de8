"""The live registry (contract §7): the site's communities, grids, people, sensors and channels
in the hub's SQL database, changed at run time through the admin API and `gridwatch site`."""
