# Copyright 2026 ripreplace developers
# SPDX-License-Identifier: Apache-2.0
"""``ripreplace catalog list | show ID | validate FILE``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from ripreplace import catalogs
from ripreplace.audit import envelope
from ripreplace.commands._args import add_catalog_argument
from ripreplace.constants import ExitCode
from ripreplace.exceptions import InputFileError, UsageError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "catalog",
        help="list, show and validate covered-software catalogs",
        description="Read the bundled covered-software catalog (plus site catalogs), or validate a site catalog "
        "or exceptions file. Exit 0 when valid, 2 with a one-line error naming the file, the entry and the problem.",
    )
    sub = parser.add_subparsers(dest="catalog_command", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    common = argparse.ArgumentParser(add_help=False)
    add_catalog_argument(common)
    common.add_argument("--output", choices=("text", "json"), default="text")
    p_list = sub.add_parser(
        "list",
        parents=[common],
        help="one line per catalog entry",
        description="List the entries of the bundled catalog and any site catalogs.",
    )
    p_list.add_argument(
        "--platform", choices=("linux", "windows", "macos", "network", "service"), help="only this platform"
    )
    p_list.set_defaults(handler=handle_list)
    p_show = sub.add_parser("show", parents=[common], help="one entry in full", description="Show one entry in full.")
    p_show.add_argument("id", metavar="ID")
    p_show.set_defaults(handler=handle_show)
    p_val = sub.add_parser(
        "validate",
        help="validate a site catalog or exceptions file",
        description="Validate a site catalog (format ripreplace-covered-catalog/1) or exceptions file "
        "(ripreplace-exceptions/1) against its schema and the bundled catalog.",
    )
    p_val.add_argument("file", metavar="FILE", type=Path)
    p_val.add_argument(
        "--catalog",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="site catalogs an exceptions file may refer to",
    )
    p_val.add_argument("--output", choices=("text", "json"), default="text")
    p_val.set_defaults(handler=handle_validate)


def _load(site: list[Path]) -> catalogs.Catalog:
    try:
        return catalogs.load_catalogs([str(p) for p in site])
    except catalogs.CatalogError as exc:
        raise InputFileError(str(exc)) from None


def _emit(args: argparse.Namespace, command: str, result: Any, text: str) -> ExitCode:
    if args.output == "json":
        json.dump(envelope(command, ExitCode.OK, result), sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return ExitCode.OK


def handle_list(args: argparse.Namespace) -> ExitCode:
    catalog = _load(args.catalog)
    rows = []
    for entry in catalog.entries:
        if args.platform and entry["platform"] != args.platform:
            continue
        rows.append(
            {
                "id": entry["id"],
                "platform": entry["platform"],
                "detection": catalogs.detection(entry),
                "vendor": entry["vendor"],
                "product": entry["product"],
                "covered_list_added": entry["covered_list"]["added"],
                "detection_note": entry.get("detection_note"),
                "signals": catalogs.summarize_entry(entry),
                "file": catalog.origin[entry["id"]],
            }
        )
    width = max((len(r["id"]) for r in rows), default=2)
    lines = [
        f"{r['id']:<{width}}  {r['platform']:<8}  {r['detection']:<14}  {r['covered_list_added']}  {r['product']}"
        for r in rows
    ]
    return _emit(args, "catalog list", rows, "\n".join(lines) or "(no entries)")


def handle_show(args: argparse.Namespace) -> ExitCode:
    catalog = _load(args.catalog)
    entry = catalog.get(args.id)
    if entry is None:
        raise UsageError(f"no catalog entry {args.id!r} (see `ripreplace catalog list`)")
    text = f"# from {catalog.origin[args.id]}\n" + yaml.safe_dump(entry, sort_keys=False, width=110)
    return _emit(args, "catalog show", dict(entry, file=catalog.origin[args.id]), text)


def _is_bundled(path: Path) -> bool:
    try:
        return path.resolve() == Path(catalogs.BUNDLED_CATALOG).resolve()
    except OSError:
        return False


def handle_validate(args: argparse.Namespace) -> ExitCode:
    cat = catalogs
    path: Path = args.file
    try:
        data = cat.load_yaml(str(path))
        fmt = data.get("format")
        if fmt == cat.EXCEPTIONS_FORMAT:
            catalog = cat.load_catalogs([str(p) for p in args.catalog])
            items, _ = cat.load_exceptions([str(path)], known_ids=set(catalog.ids))
            today = cat.utc_today()
            n_expired = sum(1 for i in items if cat.parse_day(i["expires"]) < today)
            result = {"file": str(path), "kind": "exceptions", "exceptions": len(items), "expired": n_expired}
            note = f" ({n_expired} already expired)" if n_expired else ""
            text = f"{path}: valid exceptions file, {len(items)} exception(s){note}"
        elif _is_bundled(path):
            # The bundled catalog itself (a maintainer's check): validated alone, not merged with itself.
            catalog = cat.load_catalogs([str(path)], bundled=False)
            result = {"file": str(path), "kind": "catalog", "entries": len(catalog.entries), "bundled": True}
            n = len(catalog.entries)
            text = f"{path}: valid bundled catalog, {n} entries, every fact sourced (the schema requires it)"
        else:
            catalog = cat.load_catalogs([str(p) for p in args.catalog] + [str(path)])
            n = sum(1 for e in catalog.entries if catalog.origin[e["id"]] == str(path))
            result = {"file": str(path), "kind": "catalog", "entries": n}
            text = f"{path}: valid site catalog, {n} entr{'y' if n == 1 else 'ies'}"
    except cat.CatalogError as exc:
        raise InputFileError(str(exc)) from None
    return _emit(args, "catalog validate", result, text)
