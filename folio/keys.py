"""`folio keys create|list|revoke`: the API keys file (api.auth.api_keys).

A key is printed once, at creation; only its salted hash is stored. The API
re-reads the file when it changes, so a created or revoked key counts from
the next request. Creations and revocations are audited (actor `cli:<os
user>`) when DATABASE_URL reaches PostgreSQL; the command says whether.
"""
from __future__ import annotations

import argparse
import json

from api import audit
from api.auth.api_keys import KeyFile, describe, parse_portfolios
from api.auth.principal import Role
from folio.config import Settings


def add_commands(commands: argparse._SubParsersAction) -> None:
    keys = commands.add_parser("keys", help="API keys (stored hashed in the keys file)").add_subparsers(
        dest="action", required=True)
    create = keys.add_parser("create", help="make a key and print it once")
    create.add_argument("--name", required=True, help="who the key is for; the audit log records it")
    create.add_argument("--role", required=True, choices=[str(r) for r in Role])
    create.add_argument("--portfolios", help="P1,P2: the only portfolios the key may touch (default: all)")
    create.set_defaults(handler=create_key)
    listing = keys.add_parser("list", help="show every key's name, role and portfolios (never the key)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=list_keys)
    revoke = keys.add_parser("revoke", help="remove a key by name")
    revoke.add_argument("name")
    revoke.set_defaults(handler=revoke_key)


def create_key(args: argparse.Namespace, settings: Settings) -> int:
    keys = KeyFile(settings.keys_file)
    try:
        key, record = keys.create(args.name, Role.parse(args.role), parse_portfolios(args.portfolios))
    except ValueError as exc:
        print(f"folio: {exc}")
        return 2
    scope = ", ".join(sorted(record.portfolios)) if record.portfolios is not None else "all portfolios"
    print(f"created key {record.name!r} (role {record.role}, {scope}) in {keys.path}")
    print("the key (shown this once; only its hash is stored):")
    print(f"  {key}")
    print(audit.record_command(settings.database_url, audit.cli_entry(
        audit.KEYS_CREATE, "folio keys create", [record.name], audit.key_detail(record))))
    return 0


def list_keys(args: argparse.Namespace, settings: Settings) -> int:
    records = describe(KeyFile(settings.keys_file).records())
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    for r in records:
        scope = ",".join(r["portfolios"]) if r["portfolios"] is not None else "*"
        print(f"{r['name']}  role={r['role']}  portfolios={scope}  created={r['created_at']}")
    print(f"{len(records)} key(s) in {settings.keys_file}")
    return 0


def revoke_key(args: argparse.Namespace, settings: Settings) -> int:
    revoked = KeyFile(settings.keys_file).revoke(args.name)
    if revoked is None:
        print(f"folio: no key named {args.name!r} in {settings.keys_file}")
        return 2
    print(f"revoked key {args.name!r}")
    print(audit.record_command(settings.database_url, audit.cli_entry(
        audit.KEYS_REVOKE, "folio keys revoke", [args.name])))
    return 0
