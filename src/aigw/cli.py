"""The ``aigw`` command line: ``aigw local`` (``aigw.local_gateway.command``, the whole gateway on
localhost) and the API's client commands, built on :class:`aigw.Client`."""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aigw.client import Client, Job

EXIT_OK = 0
EXIT_JOB_FAILED = 1
EXIT_USAGE = 2
EXIT_API_ERROR = 3
EXIT_AUTH = 4
EXIT_TIMEOUT = 5
EXIT_UNREACHABLE = 6
EXIT_INTERRUPTED = 130

EPILOG = """\
exit codes:
  0    success
  1    the job did not succeed (FAILED, CANCELLED, TIMED_OUT) or has no result yet
  2    usage or configuration error (bad arguments, no URL or API key, unreadable input)
  3    the API answered with an error (the message names its code and request id)
  4    authentication or authorization failed (401 Unauthorized, 403 Forbidden)
  5    timed out waiting for the job (--timeout); the job may still be running
  6    the gateway could not be reached
  130  interrupted (Ctrl-C)

configuration (first found wins): --url/--api-key/--ws-url or --stack; the environment
(AIGW_URL, AIGW_API_KEY, AIGW_WS_URL, AIGW_PROFILE); a profile in ~/.config/aigw/config.toml.
"""


# ---------------------------------------------------------------------- arguments
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aigw",
        description="The aigw AI gateway: run it locally, or call its API.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # `aigw local` has its own parser (main() hands it over before this one parses): its
    # module loads the whole offline runtime, which the API commands need not wait for.
    commands.add_parser("local", help="run the whole gateway on localhost, offline")

    connection = argparse.ArgumentParser(add_help=False)
    group = connection.add_argument_group("gateway")
    group.add_argument("--url", help="the REST API's base URL (…/v1)")
    group.add_argument("--api-key", help="the tenant's API key")
    group.add_argument("--ws-url", help="the WebSocket API's URL (for waiting)")
    group.add_argument("--profile", help="a profile of ~/.config/aigw/config.toml")
    group.add_argument("--stack", help="read the URLs from this CloudFormation stack")
    group.add_argument("--region", help="the stack's AWS region")
    connection.add_argument("--json", action="store_true", help="print JSON only")

    waiting = argparse.ArgumentParser(add_help=False)
    waiting.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait (default 600)"
    )
    waiting.add_argument(
        "--poll", action="store_true", help="poll for the status instead of the WebSocket"
    )

    job_input = argparse.ArgumentParser(add_help=False)
    job_input.add_argument("pipeline", help="text-insights, document-insights, …")
    job_input.add_argument(
        "input",
        nargs="?",
        help="a file, text, a JSON object (the input as is) or - for stdin "
        "(llm-generate: the user's message; or use --prompt)",
    )
    job_input.add_argument(
        "-p",
        "--prompt",
        metavar="NAME[@VERSION]",
        help="llm-generate: run this prompt template (with its --var values)",
    )
    job_input.add_argument(
        "-V",
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a prompt template variable (VALUE parsed as JSON when it is JSON), repeatable",
    )
    job_input.add_argument(
        "-O",
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a pipeline option (VALUE parsed as JSON when it is JSON), repeatable",
    )
    job_input.add_argument(
        "--inline",
        action="store_true",
        help="send a document or image in the request (base64) instead of uploading it",
    )

    def command(name: str, help: str, *parents: argparse.ArgumentParser) -> Any:
        return commands.add_parser(
            name,
            help=help,
            description=help,
            parents=[*parents, connection],
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    command("pipelines", "list the pipelines and their modes")
    command("models", "list the predict models (features, labels) and the LLM models")
    submit = command("submit", "submit a job (and --wait for it)", job_input, waiting)
    submit.add_argument("--wait", action="store_true", help="wait, showing progress")
    submit.add_argument("--idempotency-key", help="default: a new key per submit")
    command("run", "run a pipeline and print its result (waits for async ones)", job_input, waiting)
    status = command("status", "show a job", waiting)
    status.add_argument("job_id")
    status.add_argument("--wait", action="store_true", help="wait until it ends")
    jobs = command("jobs", "list your jobs, newest first")
    jobs.add_argument("--status", help="only jobs with this status (RUNNING, FAILED, …)")
    jobs.add_argument("--pipeline", help="only jobs of this pipeline")
    jobs.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    jobs.add_argument("--all", action="store_true", help="every job (no --limit)")
    jobs.add_argument("--page-size", type=int, help="jobs per API request (1-100)")
    cancel = command("cancel", "cancel a job that has not ended")
    cancel.add_argument("job_id")
    command(
        "ws-ticket",
        "a WebSocket URL with a single-use ticket (valid 60 s), for a client that cannot send "
        "the x-api-key header on the handshake (a browser, wscat without -H)",
    )
    result = command("result", "show a job's result (summary, or --json, or -o FILE)")
    result.add_argument("job_id")
    result.add_argument("-o", "--output", help="write the result's JSON to this file")

    prompts = commands.add_parser(
        "prompts",
        help="manage prompt templates (versioned, per tenant)",
        description="Prompt templates: `{{variable}}` is substituted, nothing else; every "
        "version stays as it was (run one with `aigw run llm-generate --prompt NAME@VERSION`).",
    )
    prompt_commands = prompts.add_subparsers(dest="prompts_command", required=True)
    definition = argparse.ArgumentParser(add_help=False)
    definition.add_argument("name")
    definition.add_argument(
        "-t", "--template", required=True, help="the user message: text, or @FILE to read it"
    )
    definition.add_argument(
        "--variables",
        default=None,
        help="the JSON Schema of the variables (JSON, or @FILE); default: every {{variable}} "
        "of the template, a required string",
    )
    definition.add_argument("--system", help="a system prompt: text, or @FILE")
    definition.add_argument("--model", help="the model this prompt runs on by default")
    definition.add_argument(
        "-O",
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a default parameter (max_tokens, temperature, top_p, stop_sequences), repeatable",
    )

    def prompt_command(name: str, help: str, *parents: argparse.ArgumentParser) -> Any:
        return prompt_commands.add_parser(
            name, help=help, description=help, parents=[*parents, connection]
        )

    prompt_command("create", "create a prompt template (its version 1)", definition)
    prompt_command("update", "add a version to a prompt template", definition)
    prompt_command("list", "list your prompt templates")
    show = prompt_command("show", "show a version of a prompt template (the latest by default)")
    show.add_argument("name", metavar="NAME[@VERSION]")
    delete = prompt_command("delete", "delete a prompt template and all its versions")
    delete.add_argument("name")

    usage = command("usage", "your usage and AI cost over a period, and your limits")
    usage.add_argument("--from", dest="start", help="first day, YYYY-MM-DD (default: the 1st)")
    usage.add_argument("--to", dest="end", help="last day, inclusive (default: today)")
    usage.add_argument(
        "--group-by", choices=["day", "pipeline", "service"], default="day", help="default day"
    )

    subscriptions = commands.add_parser(
        "subscriptions",
        help="your job events on SNS: subscribe a queue, an HTTPS endpoint or an address",
        description="Job events delivered by SNS (the same events the WebSocket pushes): to "
        "an SQS queue, an HTTPS endpoint or an email address. Only your tenant's: the gateway "
        "makes every subscription with a filter on it.",
    )
    subscription_commands = subscriptions.add_subparsers(
        dest="subscriptions_command", required=True
    )

    def subscription_command(name: str, help: str) -> Any:
        return subscription_commands.add_parser(
            name, help=help, description=help, parents=[connection]
        )

    subscribe = subscription_command("create", "subscribe an endpoint to your job events")
    endpoint = subscribe.add_mutually_exclusive_group(required=True)
    endpoint.add_argument(
        "--sqs",
        metavar="QUEUE_ARN",
        help="an SQS queue (its policy must "
        "let the topic send: aws:SourceArn = the stack's JobEventsTopicArn)",
    )
    endpoint.add_argument("--https", metavar="URL", help="an HTTPS endpoint (it must confirm)")
    endpoint.add_argument("--email", metavar="ADDRESS", help="an address (it must confirm)")
    subscribe.add_argument(
        "--pipeline", action="append", default=[], help="only this pipeline's events (repeatable)"
    )
    subscribe.add_argument(
        "--status", action="append", default=[], help="only changes to this status (repeatable)"
    )
    subscription_command("list", "list your event subscriptions")
    unsubscribe = subscription_command("delete", "delete an event subscription")
    unsubscribe.add_argument("subscription_id")

    tenants = commands.add_parser("tenants", help="admin: manage tenants")
    tenant_commands = tenants.add_subparsers(dest="tenants_command", required=True)
    create = tenant_commands.add_parser(
        "create",
        help="create a tenant and print its API key once",
        description="Create a tenant and print its API key (shown once; only its SHA-256 "
        "is stored). For a deployed stack: --stack (AWS credentials from the usual boto3 "
        "chain). For `aigw local`: --aws-endpoint with the 'AWS endpoint' it printed.",
    )
    create.add_argument("name")
    target = create.add_mutually_exclusive_group(required=True)
    target.add_argument("--stack", help="the deployed CloudFormation stack")
    target.add_argument("--aws-endpoint", help="a running `aigw local`'s AWS endpoint URL")
    create.add_argument("--region", help="the stack's AWS region")
    create.add_argument("--status", choices=["active", "pending", "suspended"], default="active")
    create.add_argument("--json", action="store_true", help="print JSON only")
    update = tenant_commands.add_parser(
        "update",
        help="set a tenant's limits and result cache",
        description="Set a tenant's limits (none: no limit) and result cache; they apply "
        "to its next request. Reaches a deployed stack (--stack) or a running `aigw local` "
        "(--aws-endpoint) as `tenants create` does.",
    )
    update.add_argument("tenant", help="the tenant's name or id (t-...)")
    target = update.add_mutually_exclusive_group(required=True)
    target.add_argument("--stack", help="the deployed CloudFormation stack")
    target.add_argument("--aws-endpoint", help="a running `aigw local`'s AWS endpoint URL")
    update.add_argument("--region", help="the stack's AWS region")
    for flag, kind, metavar, what in (
        ("--max-concurrent-jobs", int, "N|none", "jobs (and runs) at once"),
        ("--monthly-budget-usd", str, "X|none", "AI cost a month, in dollars"),
        ("--monthly-jobs", int, "N|none", "jobs (and runs) a month"),
    ):
        update.add_argument(flag, type=_limit(kind), default=_UNSET, metavar=metavar, help=what)
    update.add_argument(
        "--cache-by-default",
        type=_switch,
        default=_UNSET,
        metavar="true|false",
        help="answer identical requests from the result cache unless a job says otherwise",
    )
    update.add_argument(
        "--cache-ttl-seconds",
        type=_limit(int),
        default=_UNSET,
        metavar="N|none",
        help="how long a cached result is kept (none: a day)",
    )
    update.add_argument("--json", action="store_true", help="print JSON only")
    return parser


_UNSET = object()


def _switch(value: str) -> bool:
    if value.strip().lower() in ("true", "yes", "on"):
        return True
    if value.strip().lower() in ("false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"{value!r} is not true or false")


def _limit(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argument that is a value or ``none`` (no limit)."""

    def parse(value: str) -> Any:
        if value.strip().lower() in ("none", "unlimited"):
            return None
        try:
            return kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a number or none") from None

    return parse


# ---------------------------------------------------------------------- commands
class _Failure(Exception):
    """A one-line message for stderr and the exit code that goes with it."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _client(args: argparse.Namespace) -> Client:
    from aigw.client import Client

    return Client(
        args.url,
        args.api_key,
        ws_url=args.ws_url,
        profile=args.profile,
        stack=args.stack,
        region=args.region,
    )


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


def _options(args: argparse.Namespace) -> dict[str, Any] | None:
    return _pairs(args.option, "--option") or None


def _pairs(pairs: list[str], flag: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            raise _Failure(f"{flag} {pair!r}: expected NAME=VALUE", EXIT_USAGE)
        try:
            values[name] = json.loads(value)
        except ValueError:
            values[name] = value
    return values


def _job_input(client: Client, args: argparse.Namespace) -> dict[str, Any]:
    """The job input from the command line (see :func:`_input`), or a prompt template run."""
    if args.prompt is not None or args.var:
        if args.pipeline != "llm-generate" or args.prompt is None or args.input is not None:
            raise _Failure(
                "--prompt and --var are for llm-generate, with no other input", EXIT_USAGE
            )
        return {"prompt": args.prompt, "variables": _pairs(args.var, "--var")}
    if args.input is None:
        raise _Failure("give the input (or, for llm-generate, --prompt)", EXIT_USAGE)
    return _input(client, args.pipeline, args.input, args.inline)


def _input(client: Client, pipeline: str, value: str, inline: bool) -> dict[str, Any]:
    """The job input from the command line: a JSON object as is; for text-insights text
    (or a text file, or stdin), for llm-generate the user's message; for documents and
    images a file, uploaded or inline."""
    text = sys.stdin.read() if value == "-" else None
    source = text if text is not None else value
    if source.lstrip().startswith("{"):
        try:
            parsed = json.loads(source)
        except ValueError as error:
            if pipeline not in ("text-insights", "llm-generate"):  # there it is just text
                raise _Failure(f"the input is not valid JSON: {error}", EXIT_USAGE) from None
        else:
            if isinstance(parsed, dict):
                return parsed
    path = Path(value)
    if pipeline in ("text-insights", "llm-generate"):
        if text is None and path.is_file():
            text = path.read_text(encoding="utf-8")
        text = text if text is not None else value
        if pipeline == "llm-generate":
            return {"messages": [{"role": "user", "content": text}]}
        return {"text": text}
    if text is not None or not path.is_file():
        raise _Failure(f"{value}: no such file (give a file, or the input as JSON)", EXIT_USAGE)
    if pipeline == "predict":
        return json.loads(path.read_text(encoding="utf-8"))
    field = "image_base64" if pipeline == "image-insights" else "document_base64"
    if inline:
        return {field: base64.b64encode(path.read_bytes()).decode()}
    return client.upload(path)


def _show_result(pipeline: str, result: dict[str, Any]) -> None:
    from aigw.client.display import summary

    url = (result.get("document") or {}).get("url") if pipeline == "document-insights" else None
    if url:
        # The text of every page is in the extraction the result points at.
        import httpx

        try:
            fetched = httpx.get(url, timeout=30)
            fetched.raise_for_status()
            result = {**result, "extraction": fetched.json()}
        except (httpx.HTTPError, ValueError) as error:
            print(f"(the extracted text could not be fetched: {error})", file=sys.stderr)
    print(summary(pipeline, result))


def _wait(client: Client, args: argparse.Namespace, job_id: str) -> Job:
    from aigw.client.display import Progress

    # --json keeps stdout to JSON; the live display on a terminal is on stderr, harmless.
    quiet = args.json and not sys.stderr.isatty()
    with Progress(job_id, live=False if quiet else None) as progress:
        return client.wait(
            job_id,
            args.timeout,
            on_update=None if quiet else progress,
            use_websocket=not args.poll,
        )


def _ended(client: Client, args: argparse.Namespace, job: Job) -> int:
    """Print an ended job (its result, or why it did not succeed); the exit code."""
    if args.json:
        _print_json(_dump(job))
    elif job.status == "SUCCEEDED":
        _show_result(job.pipeline, client.result(job))
    if job.status == "SUCCEEDED":
        return EXIT_OK
    if not args.json:
        print(_job_failure(job), file=sys.stderr)
    return EXIT_JOB_FAILED


def _job_failure(job: Job) -> str:
    message = f"aigw: job {job.job_id} {job.status}"
    if job.error is not None:
        step = f" in step {job.error.step}" if job.error.step else ""
        message += f"{step}: {job.error.code}: {job.error.message}"
    return message


def _cmd_pipelines(client: Client, args: argparse.Namespace) -> int:
    from aigw.client.display import table

    pipelines = client.pipelines()
    if args.json:
        _print_json([_dump(pipeline) for pipeline in pipelines])
    else:
        rows = [[p.name, p.mode, p.description] for p in pipelines]
        print(table(rows, ["PIPELINE", "MODE", "DESCRIPTION"]))
    return EXIT_OK


def _cmd_models(client: Client, args: argparse.Namespace) -> int:
    from aigw.client.display import model_catalogue

    models = _dump(client.models())
    if args.json:
        _print_json(models)
    else:
        print(model_catalogue(models))
    return EXIT_OK


def _cmd_submit(client: Client, args: argparse.Namespace) -> int:
    job_input = _job_input(client, args)
    from aigw.client import AUTO

    key = args.idempotency_key or AUTO
    submitted = client.submit(args.pipeline, job_input, _options(args), idempotency_key=key)
    if not args.wait:
        if args.json:
            _print_json(_dump(submitted))
        else:
            print(submitted.job_id)
        return EXIT_OK
    return _ended(client, args, _wait(client, args, submitted.job_id))


def _cmd_run(client: Client, args: argparse.Namespace) -> int:
    from aigw.client.models import PIPELINE_MODES

    if PIPELINE_MODES.get(args.pipeline) == "async":
        args.wait, args.idempotency_key = True, None
        return _cmd_submit(client, args)
    answer = client.run(args.pipeline, _job_input(client, args), _options(args))
    if args.json:
        _print_json(_dump(answer))
    else:
        _show_result(answer.pipeline, answer.result)
    return EXIT_OK


def _cmd_status(client: Client, args: argparse.Namespace) -> int:
    job = _wait(client, args, args.job_id) if args.wait else client.get(args.job_id)
    if args.json:
        _print_json(_dump(job))
    else:
        progress = job.progress
        lines = [
            f"Job:      {job.job_id}",
            f"Pipeline: {job.pipeline}",
            f"Status:   {job.status}",
            f"Created:  {job.created_at}",
            f"Updated:  {job.updated_at}",
        ]
        if progress is not None and progress.step:
            percent = f" ({progress.percent}%)" if progress.percent is not None else ""
            lines.append(f"Step:     {progress.step}{percent}")
        if job.error is not None:
            lines.append(f"Error:    {job.error.code}: {job.error.message}")
        if job.usage:
            from aigw.client.display import usage_summary

            lines.append("AI cost:  " + usage_summary(_dump(job.usage)))
        if job.status == "SUCCEEDED":
            lines.append(f"Result:   aigw result {job.job_id}")
        print("\n".join(lines))
    if args.wait and job.status != "SUCCEEDED":
        return EXIT_JOB_FAILED
    return EXIT_OK


def _cmd_jobs(client: Client, args: argparse.Namespace) -> int:
    from aigw.client.display import table

    found = list(
        client.list(
            status=args.status,
            pipeline=args.pipeline,
            page_size=args.page_size,
            limit=None if args.all else args.limit,
        )
    )
    if args.json:
        _print_json([_dump(job) for job in found])
        return EXIT_OK
    rows = [
        [job.job_id, job.pipeline, job.status, job.created_at, job.progress and job.progress.step]
        for job in found
    ]
    headers = ["JOB", "PIPELINE", "STATUS", "CREATED", "STEP"]
    print(table([[cell or "" for cell in row] for row in rows], headers))
    return EXIT_OK


def _cmd_cancel(client: Client, args: argparse.Namespace) -> int:
    job = client.cancel(args.job_id)
    if args.json:
        _print_json(_dump(job))
    else:
        print(f"job {job.job_id} {job.status}")
    return EXIT_OK


def _cmd_ws_ticket(client: Client, args: argparse.Namespace) -> int:
    if not client.ws_url:
        raise _Failure(
            "no WebSocket URL: pass --ws-url, set AIGW_WS_URL or use --stack", EXIT_USAGE
        )
    from aigw.client import ticket_url

    ticket = client.websocket_ticket()
    url = ticket_url(client.ws_url, ticket.ticket)
    if args.json:
        _print_json({"url": url, **_dump(ticket)})
    else:
        print(url)
        print(f"(one connection, before {ticket.expires_at})", file=sys.stderr)
    return EXIT_OK


def _cmd_result(client: Client, args: argparse.Namespace) -> int:
    job = client.get(args.job_id)
    if job.status != "SUCCEEDED":
        if job.status in ("QUEUED", "RUNNING"):
            raise _Failure(
                f"job {job.job_id} is {job.status}: no result yet "
                f"(aigw status {job.job_id} --wait)",
                EXIT_JOB_FAILED,
            )
        raise _Failure(_job_failure(job).removeprefix("aigw: "), EXIT_JOB_FAILED)
    result = client.result(job)
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        if not args.json:
            print(f"wrote {args.output}")
    elif args.json:
        _print_json(result)
    else:
        _show_result(job.pipeline, result)
    return EXIT_OK


def _text_or_file(value: str | None) -> str | None:
    """``@FILE`` reads the file; anything else is the text itself."""
    if value is None or not value.startswith("@"):
        return value
    try:
        return Path(value[1:]).read_text(encoding="utf-8")
    except OSError as error:
        raise _Failure(f"{value}: {error.strerror or error}", EXIT_USAGE) from None


def _placeholders(text: str) -> list[str]:
    """The ``{{variable}}`` names of a template, once each (the gateway checks the rest)."""
    import re

    names = re.findall(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", text)
    return list(dict.fromkeys(names))


def _prompt_definition(args: argparse.Namespace) -> dict[str, Any]:
    template = _text_or_file(args.template) or ""
    system = _text_or_file(args.system)
    raw_schema = _text_or_file(args.variables)
    if raw_schema is None:
        names = _placeholders(template + "\n" + (system or ""))
        schema: Any = {
            "type": "object",
            "properties": {name: {"type": "string"} for name in names},
            "required": names,
        }
    else:
        try:
            schema = json.loads(raw_schema)
        except ValueError as error:
            raise _Failure(f"--variables is not valid JSON: {error}", EXIT_USAGE) from None
    return {
        "template": template,
        "variables": schema,
        "system": system,
        "model": args.model,
        "parameters": _options(args),
    }


def _show_prompt(prompt: Any) -> str:
    lines = [f"Prompt:    {prompt.name}@{prompt.version} (latest {prompt.latest_version})"]
    lines.append(f"Created:   {prompt.created_at}")
    if prompt.model:
        lines.append(f"Model:     {prompt.model}")
    if prompt.parameters:
        lines.append("Defaults:  " + ", ".join(f"{k}={v}" for k, v in prompt.parameters.items()))
    names = ", ".join(sorted((prompt.variables.get("properties") or {}).keys()))
    lines.append(f"Variables: {names or 'none'}")
    if prompt.system:
        lines += ["System:", *("  " + line for line in prompt.system.splitlines())]
    lines += ["Template:", *("  " + line for line in prompt.template.splitlines())]
    return "\n".join(lines)


def _cmd_prompts(client: Client, args: argparse.Namespace) -> int:
    from aigw.client.display import table

    command = args.prompts_command
    if command in ("create", "update"):
        body = _prompt_definition(args)
        if command == "create":
            prompt = client.create_prompt(args.name, **body)
        else:
            prompt = client.add_prompt_version(args.name, **body)
        if args.json:
            _print_json(_dump(prompt))
        else:
            print(f"{prompt.name}@{prompt.version}")
    elif command == "list":
        found = list(client.prompts())
        if args.json:
            _print_json([_dump(prompt) for prompt in found])
        else:
            rows = [[p.name, p.latest_version, p.updated_at] for p in found]
            print(table(rows, ["PROMPT", "LATEST", "UPDATED"]))
    elif command == "show":
        name, _, version = args.name.partition("@")
        if version and not version.isdigit():
            raise _Failure(f"{args.name}: expected NAME or NAME@VERSION", EXIT_USAGE)
        prompt = client.prompt(name, int(version) if version else None)
        if args.json:
            _print_json(_dump(prompt))
        else:
            print(_show_prompt(prompt))
    else:
        client.delete_prompt(args.name)
        if not args.json:
            print(f"deleted {args.name}")


def _cmd_usage(client: Client, args: argparse.Namespace) -> int:
    from aigw.client.display import usage_report

    report = client.usage(args.start, args.end, group_by=args.group_by)
    if args.json:
        _print_json(_dump(report))
    else:
        print(usage_report(_dump(report)))
    return EXIT_OK


def _cmd_subscriptions(client: Client, args: argparse.Namespace) -> int:
    from aigw.client.display import table

    command = args.subscriptions_command
    if command == "create":
        protocol = next(name for name in ("sqs", "https", "email") if getattr(args, name))
        subscription = client.subscribe_events(
            protocol,
            getattr(args, protocol),
            pipelines=args.pipeline or None,
            statuses=args.status or None,
        )
        found = [subscription]
    elif command == "list":
        found = client.event_subscriptions()
    else:
        found = [client.unsubscribe_events(args.subscription_id)]
    if args.json:
        _print_json([_dump(item) for item in found] if command == "list" else _dump(found[0]))
        return EXIT_OK
    rows = [
        [
            item.subscription_id,
            item.protocol,
            item.endpoint,
            ",".join(item.pipelines) or "all",
            ",".join(item.statuses) or "all",
            item.status,
        ]
        for item in found
    ]
    print(table(rows, ["ID", "PROTOCOL", "ENDPOINT", "PIPELINES", "STATUSES", "STATUS"]))
    return EXIT_OK


def _cmd_tenants(args: argparse.Namespace) -> int:
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
    )

    if args.tenants_command == "update":
        try:
            return _update_tenant(args)
        except (EndpointConnectionError, NoCredentialsError) as error:
            code = EXIT_UNREACHABLE if isinstance(error, EndpointConnectionError) else EXIT_AUTH
            raise _Failure(f"could not update the tenant: {error}", code) from None
        except (BotoCoreError, ClientError) as error:
            raise _Failure(f"could not update the tenant: {error}", EXIT_API_ERROR) from None

    from aigw.tenants import create_on_local, create_on_stack

    try:
        if args.aws_endpoint:
            tenant = create_on_local(
                args.name, args.aws_endpoint, status=args.status, region=args.region or "us-east-1"
            )
        else:
            tenant = create_on_stack(args.name, args.stack, status=args.status, region=args.region)
    except (EndpointConnectionError, NoCredentialsError) as error:
        code = EXIT_UNREACHABLE if isinstance(error, EndpointConnectionError) else EXIT_AUTH
        raise _Failure(f"could not create the tenant: {error}", code) from None
    except (BotoCoreError, ClientError) as error:
        raise _Failure(f"could not create the tenant: {error}", EXIT_API_ERROR) from None
    if args.json:
        created = {"tenant_id": tenant.tenant_id, "name": tenant.name, "status": tenant.status}
        _print_json({**created, "api_key": tenant.api_key})
    else:
        print(f"tenant_id: {tenant.tenant_id}")
        print(f"status:    {tenant.status}")
        print(f"api_key:   {tenant.api_key}")
        print("The API key is shown only now; only its SHA-256 is stored.", file=sys.stderr)
    return EXIT_OK


def _update_tenant(args: argparse.Namespace) -> int:
    from aigw.tenants import update_on_local, update_on_stack

    changes: dict[str, Any] = {}
    for name in (
        "max_concurrent_jobs",
        "monthly_budget_usd",
        "monthly_jobs",
        "cache_by_default",
        "cache_ttl_seconds",
    ):
        value = getattr(args, name)
        if value is not _UNSET:
            changes[name] = value
    if not changes:
        raise _Failure(
            "nothing to change: give --max-concurrent-jobs, --monthly-budget-usd, "
            "--monthly-jobs, --cache-by-default or --cache-ttl-seconds",
            EXIT_USAGE,
        )
    if args.aws_endpoint:
        region = args.region or "us-east-1"
        tenant = update_on_local(args.tenant, args.aws_endpoint, region=region, **changes)
    else:
        tenant = update_on_stack(args.tenant, args.stack, region=args.region, **changes)
    settings = tenant.as_dict()
    if args.json:
        _print_json(settings)
        return EXIT_OK
    from aigw.client.display import money

    shown = {
        "max_concurrent_jobs": settings["max_concurrent_jobs"],
        "monthly_budget_usd": None
        if settings["monthly_budget_usd"] is None
        else money(settings["monthly_budget_usd"]),
        "monthly_jobs": settings["monthly_jobs"],
    }
    print(f"tenant_id:            {tenant.tenant_id} ({tenant.name})")
    for name, value in shown.items():
        print(f"{name + ':':<21} {'no limit' if value is None else value}")
    print(f"{'cache_by_default:':<21} {'true' if tenant.cache_by_default else 'false'}")
    ttl = tenant.cache_ttl_seconds
    print(f"{'cache_ttl_seconds:':<21} {'86400 (the default)' if ttl is None else ttl}")
    return EXIT_OK


_COMMANDS: dict[str, Callable[[Client, argparse.Namespace], int]] = {
    "pipelines": _cmd_pipelines,
    "models": _cmd_models,
    "submit": _cmd_submit,
    "run": _cmd_run,
    "status": _cmd_status,
    "jobs": _cmd_jobs,
    "cancel": _cmd_cancel,
    "ws-ticket": _cmd_ws_ticket,
    "result": _cmd_result,
    "prompts": _cmd_prompts,
    "usage": _cmd_usage,
    "subscriptions": _cmd_subscriptions,
}


# ---------------------------------------------------------------------- entry point
def main(argv: Sequence[str] | None = None) -> int:
    from_command_line = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["local"]:
        from aigw.local_gateway import command as local_command

        local = argparse.ArgumentParser(
            prog="aigw local", description="Run the whole gateway on localhost, offline."
        )
        local_command.add_arguments(local)
        code = local_command.run(local.parse_args(argv[1:]))
        if not from_command_line:
            return code
        # Everything is stopped and saved by now. Interpreter teardown with daemon threads
        # still inside native libraries (pdfium, onnxruntime, spaCy) can crash (a SIGSEGV
        # was seen once on Ctrl-C), so the process ends here, as servers' workers do.
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        print("aigw: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`aigw jobs --all | head`): stop quietly, as Unix tools do.
        # Python would complain again while flushing stdout at exit: point it at /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as error:
        message, code = _failure(error)
        print("aigw: " + " ".join(message.split()), file=sys.stderr)  # one line, always
        return code


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "tenants":
        return _cmd_tenants(args)
    with _client(args) as client:
        return _COMMANDS[args.command](client, args)


def _failure(error: Exception) -> tuple[str, int]:
    """The one-line message and exit code of an error (no traceback for a user)."""
    from aigw.client import errors

    if isinstance(error, _Failure):
        return str(error), error.code
    if isinstance(error, errors.UnauthorizedError | errors.ForbiddenError):
        return str(error), EXIT_AUTH
    if isinstance(error, errors.ApiError | errors.UploadError | errors.ResponseError):
        return str(error), EXIT_API_ERROR
    if isinstance(error, errors.WaitTimeoutError):
        return str(error), EXIT_TIMEOUT
    if isinstance(error, errors.TransportError):
        return str(error), EXIT_UNREACHABLE
    if isinstance(error, errors.ConfigurationError | OSError | ValueError):
        return str(error), EXIT_USAGE
    raise error


if __name__ == "__main__":
    sys.exit(main())
