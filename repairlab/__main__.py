"""Operator commands, run on the server itself: `python -m repairlab ...`.

    python -m repairlab db upgrade
    python -m repairlab admin create --username U --name "N" [--email E] [--password P]
    python -m repairlab admin set-password --username U [--password P]

Whoever can run these can already read the database, so they need no
sign-in. The password comes from --password, else the environment variable
REPAIRLAB_ADMIN_PASSWORD, else a prompt, but only when standard input is a
terminal (a script or CI never hangs waiting for one). Prefer the variable
or the prompt: a --password is visible to other users in the process list.
The database is REPAIRLAB_DATABASE_URL (or --database-url); it is upgraded
to the newest schema first.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence

from .config import Settings
from .db import Store
from .services.errors import UserFacingError

PASSWORD_ENV = "REPAIRLAB_ADMIN_PASSWORD"


class CommandError(Exception):
    """A problem with how the command was called; printed, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m repairlab", description="Repair Lab operator commands.")
    parser.add_argument(
        "--database-url", help="database URL (default: REPAIRLAB_DATABASE_URL or the SQLite file)"
    )
    groups = parser.add_subparsers(dest="group", required=True)

    db = groups.add_parser("db", help="the database schema").add_subparsers(dest="command", required=True)
    db.add_parser("upgrade", help="create or upgrade the schema to the newest migration")

    admin = groups.add_parser("admin", help="administrator accounts").add_subparsers(
        dest="command", required=True
    )
    create = admin.add_parser("create", help="create an administrator account")
    create.add_argument("--username", required=True)
    create.add_argument("--name", required=True, help="display name")
    create.add_argument("--email")
    create.add_argument(
        "--password", help=f"the password (better: set {PASSWORD_ENV}, or type it when asked)"
    )
    reset = admin.add_parser("set-password", help="set a new password for an existing account")
    reset.add_argument("--username", required=True)
    reset.add_argument("--password", help=f"the password (better: set {PASSWORD_ENV}, or type it when asked)")
    return parser


def read_password(given: str | None) -> str:
    if given:
        return given
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise CommandError(
            f"No password given: use --password, set {PASSWORD_ENV}, or run this in a terminal to be asked."
        )
    first = getpass.getpass("New password: ")
    if getpass.getpass("Same password again: ") != first:
        raise CommandError("The two passwords differ; nothing was changed.")
    return first


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    url = args.database_url or Settings.from_env().database_url
    try:
        password = read_password(args.password) if args.group == "admin" else None
        store = Store(url)
        try:
            store.upgrade()
            if args.group == "db":
                print("The database schema is up to date.")
                return 0
            from .services.accounts import AccountService

            accounts = AccountService(store)
            if args.command == "create":
                account = accounts.create_admin(args.username, args.name, password, args.email)
                print(f"Created administrator '{account.username}' ({account.display_name}).")
            else:
                account = accounts.set_password_by_username(args.username, password)
                print(f"Set a new password for '{account.username}'; their sessions were ended.")
            return 0
        finally:
            store.dispose()
    except CommandError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except UserFacingError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
