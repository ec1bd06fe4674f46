"""The ``aigw`` command line. For now: ``aigw local`` (``aigw.local.command``), the whole
gateway on localhost."""

from __future__ import annotations

import argparse
import sys

from aigw.local import command as local_command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aigw", description="The aigw AI gateway.")
    commands = parser.add_subparsers(dest="command", required=True)
    local = commands.add_parser("local", help="run the whole gateway on localhost, offline")
    local_command.add_arguments(local)
    args = parser.parse_args(argv)
    if args.command == "local":
        return local_command.run(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
