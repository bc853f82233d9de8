"""The one function that writes a broker configuration to disk, atomically and privately."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import tempfile
from pathlib import Path
from typing import Any

from domain.site import Site
from gridwatch.broker.accounts import (
    check_options,
    credentials_document,
    passwords_of,
    plan_passwords,
)
from gridwatch.broker.dynconfig import dynsec_document
from gridwatch.broker.model import (
    DEFAULTS,
    BrokerConfigError,
    BrokerFiles,
    BrokerOptions,
    BrokerPaths,
    queue_size,
    readings_per_hour,
)
from gridwatch.broker.passwords import parse_password_file, password_file_text
from gridwatch.broker.texts import acl_text, config_text


def _write(path: Path, text: str, mode: int) -> None:
    """Write atomically (temp file, fsync, rename) with `mode` whatever the umask.

    The temp file gets a fresh random name and is created with O_EXCL (`mkstemp`), never
    opened through a fixed name: a link planted at a predictable name in the folder would
    otherwise make a root `broker-config` truncate and write clear-text passwords wherever it
    points.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _hand_over(paths: BrokerPaths, account: str) -> None:
    """Run as root, let the account Mosquitto drops to read its files and write its data.

    The clear-text credentials stay root's alone; the hashes and ACL become group-readable.
    """
    try:
        pw = pwd.getpwnam(account)
    except KeyError:
        return
    if pw.pw_uid == 0:
        return
    for f in (paths.password_file, paths.acl_file, paths.config):
        if f.exists():
            os.chown(f, 0, pw.pw_gid)
            os.chmod(f, 0o640)
    os.chown(paths.persistence, pw.pw_uid, pw.pw_gid)
    if paths.dynsec.exists():  # the plugin rewrites its file on every change: the broker's own
        os.chown(paths.dynsec, pw.pw_uid, pw.pw_gid)
        os.chmod(paths.dynsec, 0o600)


def _read_json(path: Path, kind: str, what: str, every: str) -> dict[str, Any] | None:
    """The JSON object of a `kind` file (None: there is none); a damaged one is an error that
    says what cannot be read and how to start again, never silently replaced."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise BrokerConfigError(
            f"{path}: cannot read {what} ({e}); fix or remove it, "
            f"or pass --rotate to issue new passwords to every {every}"
        ) from e
    if not isinstance(doc, dict):
        raise BrokerConfigError(f"{path}: not a {kind} file")
    return doc


def read_credentials(path: Path) -> dict[str, Any]:
    """A credentials file written earlier; a damaged one is an error, never a silent rotation
    (that would lock every provisioned device out)."""
    return _read_json(path, "credentials", "the existing credentials", "device") or {}


def read_dynsec(path: Path) -> dict[str, Any] | None:
    """The dynamic-security file as the broker left it (None: there is none yet); a damaged
    one is an error, never silently replaced (it holds the logins provisioned live)."""
    return _read_json(path, "dynamic-security", "the broker's dynamic-security file", "account")


def write_broker_config(
    site: Site, out: Path, options: BrokerOptions = DEFAULTS, rotate: bool = False
) -> BrokerFiles:
    """Write config, ACL, password file and credentials into `out`; idempotent unless `rotate`.

    The credentials file (clear-text passwords, for provisioning devices) is mode 0600 and is
    written first, so a failure later never loses a password the hashes were made from.
    """
    check_options(site, options)
    paths = BrokerPaths(out.resolve())
    paths.directory.mkdir(parents=True, exist_ok=True)
    paths.persistence.mkdir(mode=0o700, exist_ok=True)

    try:
        earlier = read_credentials(paths.credentials)
    except BrokerConfigError:
        if not rotate:
            raise
        earlier = {}
    existing = {} if rotate else passwords_of(earlier)
    passwords = plan_passwords(site, options, existing, rotate)
    try:
        previous_hashes = parse_password_file(paths.password_file.read_text(encoding="utf-8"))
    except OSError:
        previous_hashes = {}

    previous_dynsec = None
    if options.dynamic_security:
        try:
            previous_dynsec = read_dynsec(paths.dynsec)
        except BrokerConfigError:
            if not rotate:
                raise

    doc = credentials_document(site, options, passwords)
    _write(paths.credentials, json.dumps(doc, indent=2, ensure_ascii=False) + "\n", 0o600)
    if options.dynamic_security:
        state = dynsec_document(site, options, passwords, previous_dynsec, rotate=rotate)
        _write(paths.dynsec, json.dumps(state, indent=2, ensure_ascii=False) + "\n", 0o600)
    else:
        _write(paths.password_file, password_file_text(passwords, previous_hashes), 0o600)
        _write(paths.acl_file, acl_text(site, options), 0o640)
    _write(paths.config, config_text(site, options, paths), 0o640)
    if os.geteuid() == 0:
        _hand_over(paths, options.run_as or "mosquitto")

    sensors = {s.id for s in site.sensors}
    devices = earlier.get("devices")
    old_devices = set(devices) if isinstance(devices, dict) else set()
    files = BrokerFiles(
        paths=paths,
        gateway_user=options.gateway_user,
        gateway_password=passwords[options.gateway_user],
        notifier_user=options.notifier_user,
        notifier_password=passwords[options.notifier_user],
        api_user=options.api_user,
        api_password=passwords[options.api_user],
        worker_passwords=tuple(passwords[u] for u in options.worker_users),
        simulator_password=passwords.get(options.simulator_user or ""),
        dynamic_security=options.dynamic_security,
        admin_user=options.admin_user,
        admin_password=passwords.get(options.admin_user) if options.dynamic_security else None,
        port=options.port,
        host=options.plain_bind or "127.0.0.1",
        prefix=options.prefix,
        queue_size=queue_size(site, options),
        readings_per_hour=readings_per_hour(site),
        added=tuple(sorted(sensors - old_devices)),
        removed=tuple(sorted(old_devices - sensors)),
        rotated=rotate,
    )
    _write(paths.gateway_env, files.gateway_env(), 0o600)
    return files
