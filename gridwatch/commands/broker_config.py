"""`gridwatch broker-config`: a Mosquitto configuration for a site, with per-device credentials.

The texts come from `gridwatch.broker`; this module only turns flags into `BrokerOptions`
and reports where the files went and how the gateway logs in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from domain.site import SiteError, load_site
from gridwatch import flags
from gridwatch.broker.model import (
    DEFAULT_WORKERS,
    DYNSEC_PLUGIN,
    GATEWAY_USER,
    MAX_WORKERS,
    BrokerConfigError,
    BrokerOptions,
    TlsFiles,
)
from gridwatch.broker.writer import write_broker_config


def command(
    site: flags.Site = None,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for mosquitto.conf, passwd, acl, credentials.")
    ] = Path("var/broker"),
    gateway_user: Annotated[
        str, typer.Option("--gateway-user", help="MQTT user name of the gateway.")
    ] = GATEWAY_USER,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=0,
            max=MAX_WORKERS,
            help="Accounts for `gridwatch gateway --workers N` (one login per worker).",
        ),
    ] = DEFAULT_WORKERS,
    port: Annotated[int, typer.Option("--port", help="Plain MQTT listener port.")] = 1883,
    bind: Annotated[
        str | None,
        typer.Option(
            "--bind", help="Address of the plain listener (default: all; 127.0.0.1 with TLS)."
        ),
    ] = None,
    prefix: Annotated[
        str | None,
        typer.Option(
            "--prefix", help="Device topic prefix (default: the gateway's, GRIDWATCH_TOPIC_PREFIX)."
        ),
    ] = None,
    env_file: flags.EnvFile = None,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="Server certificate (PEM) for TLS.")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", help="Server private key (PEM) for TLS.")
    ] = None,
    cafile: Annotated[
        Path | None, typer.Option("--cafile", help="CA bundle for the TLS listener.")
    ] = None,
    tls_port: Annotated[int, typer.Option("--tls-port", help="TLS listener port.")] = 8883,
    queue_hours: Annotated[
        float,
        typer.Option("--queue-hours", min=0.1, help="Hours of readings the broker queues."),
    ] = 1.0,
    run_as: Annotated[
        str | None,
        typer.Option("--run-as", help="Account Mosquitto drops to when started as root."),
    ] = None,
    dynamic_security: Annotated[
        bool,
        typer.Option(
            "--dynamic-security",
            help="Logins and ACLs in Mosquitto 2.x's dynamic-security plugin, changed live by "
            "the hub (new, rotated and retired sensors without a broker restart), instead of "
            "a password file and ACL.",
        ),
    ] = False,
    dynsec_plugin: Annotated[
        Path,
        typer.Option("--dynsec-plugin", help="Path of mosquitto_dynamic_security.so."),
    ] = DYNSEC_PLUGIN,
    rotate: Annotated[
        bool, typer.Option("--rotate", help="Issue new passwords to every device and the gateway.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON summary instead of text.")
    ] = False,
) -> None:
    """Generate a Mosquitto 2.0 configuration for a site: per-device passwords and ACL, a
    persistent queue sized from the site's reporting rates, packet limits and TLS.

    Re-running keeps every existing password (new sensors get new ones, removed ones lose
    access); send SIGHUP to a running Mosquitto to reload the password file and ACL. With
    --dynamic-security the broker's plugin holds logins and ACLs and the hub changes them live;
    a re-run (with the broker stopped) keeps what the broker saved.
    """
    settings = flags.settings(env_file, site=site, topic_prefix=prefix).settings
    if settings.site is None:
        typer.echo("no site registry: pass --site FILE or set GRIDWATCH_SITE", err=True)
        raise typer.Exit(2)
    if (tls_cert is None) != (tls_key is None):
        typer.echo("--tls-cert and --tls-key go together", err=True)
        raise typer.Exit(2)
    tls = None
    if tls_cert is not None and tls_key is not None:
        for f in (tls_cert, tls_key, *((cafile,) if cafile else ())):
            if not f.is_file():
                typer.echo(f"{f}: no such file", err=True)
                raise typer.Exit(2)
        tls = TlsFiles(certfile=tls_cert, keyfile=tls_key, cafile=cafile, port=tls_port)
    options = BrokerOptions(
        port=port,
        bind=bind,
        prefix=settings.topic_prefix,
        gateway_user=gateway_user,
        gateway_workers=workers,
        tls=tls,
        queue_hours=queue_hours,
        run_as=run_as,
        dynamic_security=dynamic_security,
        dynsec_plugin=dynsec_plugin,
    )
    try:
        files = write_broker_config(load_site(settings.site), out, options, rotate=rotate)
    except (SiteError, BrokerConfigError) as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(2) from None

    p = files.paths
    if as_json:
        summary = {
            "config": str(p.config),
            **(
                {"dynamic_security": str(p.dynsec), "admin": files.admin_user}
                if files.dynamic_security
                else {"password_file": str(p.password_file), "acl_file": str(p.acl_file)}
            ),
            "credentials": str(p.credentials),
            "gateway_env": str(p.gateway_env),
            "persistence": str(p.persistence),
            "port": files.port,
            "tls_port": tls.port if tls else None,
            "max_queued_messages": files.queue_size,
            "readings_per_hour": round(files.readings_per_hour, 1),
            "added": list(files.added),
            "removed": list(files.removed),
            "gateway": {"username": files.gateway_user, "password": files.gateway_password},
            "notifier": {"username": files.notifier_user, "password": files.notifier_password},
        }
        typer.echo(json.dumps(summary, indent=2))
        return
    typer.echo(f"config:        {p.config}")
    if files.dynamic_security:
        typer.echo(
            f"logins, ACLs:  {p.dynsec}  (mode 0600; the broker's from its first start: it "
            "saves every live change there)"
        )
        typer.echo(f"admin user:    {files.admin_user}  (the API's; password in gateway.env)")
    else:
        typer.echo(f"password file: {p.password_file}")
        typer.echo(f"acl:           {p.acl_file}")
    typer.echo(
        f"credentials:   {p.credentials}  (mode 0600: device and crew passwords to provision)"
    )
    typer.echo(
        f"gateway.env:   {p.gateway_env}  (mode 0600: add it to /etc/gridwatch/gridwatch.env)"
    )
    typer.echo(
        f"queue:         max_queued_messages {files.queue_size} "
        f"(site sends {files.readings_per_hour:.0f} readings/hour)"
    )
    if files.rotated:
        typer.echo("passwords:     all rotated; re-provision every device")
    if files.added:
        typer.echo(f"new devices:   {len(files.added)}")
    if files.removed:
        typer.echo(f"removed:       {', '.join(files.removed)} (no longer admitted)")
    if files.dynamic_security:
        typer.echo(f"start with:    mosquitto -c {p.config}   (sensors' logins change live)")
    else:
        typer.echo(f"start with:    mosquitto -c {p.config}   (SIGHUP reloads users and ACL)")
    typer.echo(f"gateway user:  {files.gateway_user}")
    typer.echo(f"notifier user: {files.notifier_user}  (publishes ticket events)")
    # passwords stay in their 0600 files: a terminal's output ends up in logs and scrollback
    typer.echo(f"hub logins:    {p.gateway_env} (every hub process's broker password)")
