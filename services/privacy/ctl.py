"""`python -m privacy <command>` (or `privacyctl <command>`): data-subject requests, as ops.

submit, list, show [--watch], approve, reject, cancel, extend, rerun: each asks the running
privacy service over the bus (request/reply), as the ops person named by `--by` (default
`$USER`), who is recorded with every decision. `--json` prints the service's view as JSON.
Exit codes: 0 done; 1 refused by the service, not found, the service unreachable, or `--watch`
ran out of time before a final state; 2 bad usage, and then nothing is sent.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import NoReturn, TextIO, TypeVar

from pydantic import ValidationError

from contracts.base import Contract
from contracts.privacy import (
    OPEN_STATUSES,
    ApprovePrivacyRequest,
    CancelPrivacyRequest,
    ExtendPrivacyDeadline,
    GetPrivacyRequest,
    ListPrivacyRequests,
    RejectPrivacyRequest,
    RequestChannel,
    RerunPrivacyTask,
    SubjectRef,
    SubmitPrivacyRequest,
)
from privacy import policy_cli, reapply_cli
from privacy.ctl_client import Call, perform
from privacy.ctl_output import Output
from privacy.settings import PrivacySettings
from privacy.tools import TOOLS
from servicekit.cli import service_main
from servicekit.clock import utcnow
from servicekit.errors import RemoteCallError

PROG = "privacyctl"
EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
COMMANDS = ("submit", "list", "show", "approve", "reject", "cancel", "extend", "rerun")
SUBJECT_OPTIONS = ("partner_id", "user_id", "email", "phone", "end_user_ref", "iccid", "ip")
OPTION_OF_FIELD = {"statuses": "--status", "request_id": "ID"}
"""Contract fields whose option is not `--` and the field's name."""
EXPECTED = {
    "phone": "an international number: + then 7 to 15 digits, e.g. +4915112345678",
    "iccid": "an ICCID: 89 then 16 to 18 digits",
}
"""What a pattern asks for, in words rather than the regular expression."""

C = TypeVar("C", bound=Contract)


class UsageError(Exception):
    """Bad command-line input, in one readable line; nothing was sent."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def readable(error: ValidationError) -> str:
    """A validation error in one line, fields named as their options (`--email: ...`)."""
    parts = []
    for item in error.errors(include_input=False, include_url=False):
        field = next((str(part) for part in reversed(item["loc"]) if isinstance(part, str)), "")
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "string_pattern_mismatch" and field in EXPECTED:
            message = f"expected {EXPECTED[field]}"
        option = OPTION_OF_FIELD.get(field, f"--{field.replace('_', '-')}")
        parts.append(f"{option}: {message}" if field else message)
    return "; ".join(parts)


def _build(contract: type[C], **values: object) -> C:
    try:
        return contract.model_validate(values)
    except ValidationError as invalid:
        raise UsageError(readable(invalid)) from None


def _ops_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--by", help="who you are, recorded with the decision (default: $USER)")
    parser.add_argument("--json", action="store_true", help="print the view as JSON")


def _list_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", action="append", help="only this state (repeatable)")
    near = parser.add_mutually_exclusive_group()
    near.add_argument("--overdue", action="store_true", help="open requests past their due date")
    near.add_argument("--due-within", type=int, metavar="DAYS", help="open requests due soon")
    parser.add_argument("--limit", type=int, default=50, help="requests a page (50, at most 200)")
    parser.add_argument("--all", action="store_true", help="every page, not only the first")


def _command(
    commands: argparse._SubParsersAction[_Parser], name: str, help_text: str
) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help_text, description=help_text)
    _ops_options(parser)
    return parser


def parser() -> argparse.ArgumentParser:
    """The commands and their arguments."""
    root = _Parser(
        prog=PROG,
        description="Data-subject requests through the running privacy service, as ops.",
        epilog="The service's own tools: verify-audit, export-audit, verify-receipts,"
        " publish-policy, reapply-erasures (python -m privacy <tool> --help).",
    )
    commands = root.add_subparsers(dest="command", required=True, parser_class=_Parser)
    submit = _command(commands, "submit", "open a request for a data subject")
    submit.add_argument("--type", required=True, help="erasure, access, rectification, ...")
    for name in SUBJECT_OPTIONS:
        submit.add_argument(f"--{name.replace('_', '-')}", dest=name, help="subject identifier")
    submit.add_argument(
        "--change", action="append", metavar="FIELD=VALUE", help="a corrected value (rectify)"
    )
    _list_options(_command(commands, "list", "list requests, newest first"))
    show = _command(commands, "show", "a request and its per-service tasks")
    show.add_argument("request_id", metavar="ID")
    show.add_argument("--watch", action="store_true", help="redraw until a final state")
    show.add_argument("--timeout", type=float, default=120.0, help="seconds to watch (120)")
    _command(commands, "approve", "approve a request awaiting approval").add_argument(
        "request_id", metavar="ID"
    )
    for name, help_text in (
        ("reject", "refuse a request that has not started"),
        ("cancel", "withdraw an open request"),
    ):
        decision = _command(commands, name, help_text)
        decision.add_argument("request_id", metavar="ID")
        decision.add_argument("--reason", required=True)
    extend = _command(commands, "extend", "extend the deadline (2 months at most in all)")
    extend.add_argument("request_id", metavar="ID")
    extend.add_argument("--months", type=int, required=True, choices=(1, 2))
    extend.add_argument("--reason", required=True)
    rerun = _command(commands, "rerun", "run one service's task again")
    rerun.add_argument("request_id", metavar="ID")
    rerun.add_argument("--service", required=True)
    return root


def _operator(arguments: argparse.Namespace) -> str:
    operator = arguments.by or os.environ.get("USER")
    if not operator:
        raise UsageError("say who you are: --by NAME (or set $USER)")
    return str(operator)


def _changes(pairs: Sequence[str] | None) -> dict[str, str] | None:
    if pairs is None:
        return None
    changes = {}
    for pair in pairs:
        field, equals, value = pair.partition("=")
        if not equals or not field:
            raise UsageError(f"--change: expected FIELD=VALUE, got {pair!r}")
        changes[field] = value
    return changes


def _submit(arguments: argparse.Namespace) -> SubmitPrivacyRequest:
    identifiers = {name: getattr(arguments, name) for name in SUBJECT_OPTIONS}
    subject = _build(SubjectRef, **{k: v for k, v in identifiers.items() if v is not None})
    return _build(
        SubmitPrivacyRequest,
        channel=RequestChannel.OPS,
        requested_by=_operator(arguments),
        type=arguments.type,
        subject=subject,
        changes=_changes(arguments.change),
    )


def _decision(arguments: argparse.Namespace) -> Contract:
    common = {"request_id": arguments.request_id, "by": _operator(arguments)}
    match arguments.command:
        case "approve":
            return _build(ApprovePrivacyRequest, **common)
        case "reject":
            return _build(RejectPrivacyRequest, **common, reason=arguments.reason)
        case "cancel":
            return _build(CancelPrivacyRequest, **common, reason=arguments.reason)
        case "extend":
            return _build(
                ExtendPrivacyDeadline, **common, months=arguments.months, reason=arguments.reason
            )
        case _:
            return _build(RerunPrivacyTask, **common, service=arguments.service)


def _list(arguments: argparse.Namespace) -> ListPrivacyRequests:
    """By state and deadline: --overdue and --due-within look at open requests only."""
    now = utcnow()
    due_before = None
    if arguments.overdue:
        due_before = now
    elif arguments.due_within is not None:
        if arguments.due_within < 0:
            raise UsageError("--due-within: a number of days, 0 or more")
        due_before = now + timedelta(days=arguments.due_within)
    statuses = arguments.status
    if due_before is not None and not statuses:
        statuses = sorted(OPEN_STATUSES)
    return _build(
        ListPrivacyRequests, statuses=statuses, due_before=due_before, limit=arguments.limit
    )


def prepare(argv: Sequence[str]) -> Call:
    """Parse and validate the command line into the query to send (UsageError if bad)."""
    arguments = parser().parse_args(argv)
    command: str = arguments.command
    if command == "submit":
        return Call(command, _submit(arguments), arguments)
    if command == "list":
        return Call(command, _list(arguments), arguments)
    if command == "show":
        return Call(command, _build(GetPrivacyRequest, request_id=arguments.request_id), arguments)
    return Call(command, _decision(arguments), arguments)


def _refusal(command: str, error: RemoteCallError) -> str:
    if error.code == "not_found":
        return f"not found: {error.message}"
    if error.code in ("timeout", "unavailable"):
        return f"the privacy service did not answer ({error.code}): {error.message}"
    return f"{command} refused ({error.code}): {error.message}"


def main(
    argv: Sequence[str],
    settings: PrivacySettings | None = None,
    *,
    out: TextIO | None = None,
    errors: TextIO | None = None,
) -> int:
    """Run one command line, printing to `out` and `errors` (stdout, stderr); the exit code."""
    settings = settings or PrivacySettings()
    errors = errors or sys.stderr
    try:
        call = prepare(argv)
    except UsageError as bad:
        print(f"{PROG}: {bad}", file=errors)
        return EXIT_USAGE
    output = Output.to(
        out or sys.stdout,
        errors,
        json=call.arguments.json,
        due_soon_days=settings.privacy_due_soon_days,
    )
    try:
        return asyncio.run(perform(call, settings, output))
    except RemoteCallError as refused:
        output.error(_refusal(call.command, refused))
        return EXIT_REFUSED
    except OSError as unreachable:
        output.error(f"cannot reach the bus: {type(unreachable).__name__}")
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def dispatch(argv: Sequence[str] = sys.argv) -> None:
    """Run and exit when the command line is one of these commands; otherwise return."""
    if len(argv) > 1 and argv[1] in COMMANDS:
        sys.exit(main(argv[1:]))


def run() -> None:
    """The `privacyctl` entry point: these commands, or the service's own tools by name."""
    argv = sys.argv
    policy_cli.dispatch(argv)
    reapply_cli.dispatch(argv)
    if len(argv) > 1 and argv[1] in {tool.name for tool in TOOLS}:
        from privacy.app import NAME, create_app  # the whole service, for its tools only

        service_main(NAME, PrivacySettings, create_app, tools=TOOLS)
        return
    sys.exit(main(argv[1:]))
