"""The web dashboard's files as package data, so an installed wheel serves them: `public/`
(the page, its scripts and styles) and the pinned front-end libraries that
`dashboards/web/setup.sh` installs under `node_modules/` before the wheel is built
(services/api/web.py finds both through importlib.resources)."""
