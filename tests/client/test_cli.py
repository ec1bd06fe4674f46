"""The `aigw` command against a running `aigw local`: what a user sees and the exit codes."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest
from client_helpers import Gateway, closed_port_url

from aigw.cli import (
    EXIT_API_ERROR,
    EXIT_AUTH,
    EXIT_JOB_FAILED,
    EXIT_TIMEOUT,
    EXIT_UNREACHABLE,
)

#: The AWS endpoint, for `aigw tenants create --aws-endpoint`.
GATEWAY_OPTIONS = ("--aws-port", "0")


def test_given_a_pdf_when_submitted_with_wait_and_json_then_stdout_is_the_job_as_json(
    gateway: Gateway, invoice: Path
) -> None:
    ran = gateway.cli(
        "submit", "document-insights", str(invoice), "-O", "language=en", "--wait", "--json"
    )

    assert ran.returncode == 0, ran.stderr
    job = json.loads(ran.stdout)
    assert job["status"] == "SUCCEEDED"
    assert job["result"]["document"]["pages"] == 1
    assert "1,234.00 EUR" in [e["text"] for e in job["result"]["insights"]["entities"]]


def test_given_a_text_when_run_then_sentiment_scores_and_a_pii_table_are_shown(
    gateway: Gateway,
) -> None:
    text = "The hotel was dirty and the staff were rude. Email me at jane@example.com."

    ran = gateway.cli("run", "text-insights", text)

    assert ran.returncode == 0, ran.stderr
    assert "Sentiment: NEGATIVE" in ran.stdout
    assert "negative 0." in ran.stdout
    pii = ran.stdout.split("PII:")[1].splitlines()
    assert pii[1].split() == ["TEXT", "TYPE", "SCORE"]
    assert pii[2].split()[:2] == ["jane@example.com", "EMAIL"]


def test_given_a_text_file_when_run_with_json_then_the_output_parses(
    gateway: Gateway, tmp_path: Path
) -> None:
    review = tmp_path / "review.txt"
    review.write_text("I love this phone. The battery lasts for days.")

    ran = gateway.cli("run", "text-insights", str(review), "--json")

    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["result"]["sentiment"]["label"] == "POSITIVE"


def test_given_an_async_pipeline_when_run_then_it_is_submitted_and_waited_for(
    gateway: Gateway, invoice: Path
) -> None:
    ran = gateway.cli("run", "document-insights", str(invoice), "-O", "language=en")

    assert ran.returncode == 0, ran.stderr
    assert "Document:  1 page, 36 characters" in ran.stdout
    # The text read from each page, fetched from the extraction the result points at.
    assert "Page 1:\n  INVOICE 2041\n  Total due: 1,234.00 EUR\n" in ran.stdout
    assert "1,234.00 EUR  QUANTITY" in ran.stdout


def test_given_more_jobs_than_a_page_when_listing_all_then_every_job_is_listed_once(
    gateway: Gateway,
) -> None:
    submitted = []
    for number in range(5):
        ran = gateway.cli("submit", "text-insights", f"Note {number}: all good, thanks.")
        assert ran.returncode == 0, ran.stderr
        submitted.append(ran.stdout.strip())

    listed = gateway.cli(
        "jobs", "--all", "--page-size", "2", "--pipeline", "text-insights", "--json"
    )
    limited = gateway.cli("jobs", "--limit", "3", "--page-size", "2")

    assert listed.returncode == 0, listed.stderr
    ids = [job["job_id"] for job in json.loads(listed.stdout)]
    assert len(ids) == len(set(ids))
    assert set(submitted) <= set(ids)
    table = limited.stdout.splitlines()
    assert table[0].split() == ["JOB", "PIPELINE", "STATUS", "CREATED", "STEP"]
    assert len(table) == 1 + 3


def test_given_a_running_job_when_cancelled_then_it_is_cancelled(
    gateway: Gateway, long_document: Path
) -> None:
    submitted = gateway.cli("submit", "document-insights", str(long_document))
    job_id = submitted.stdout.strip()

    cancelled = gateway.cli("cancel", job_id, "--json")
    status = gateway.cli("status", job_id)
    result = gateway.cli("result", job_id)

    assert cancelled.returncode == 0, cancelled.stderr
    assert json.loads(cancelled.stdout)["status"] == "CANCELLED"
    assert "Status:   CANCELLED" in status.stdout
    assert result.returncode == EXIT_JOB_FAILED
    assert result.stderr.strip() == f"aigw: job {job_id} CANCELLED"


def test_given_a_wrong_key_when_listing_jobs_then_the_auth_exit_code_and_one_line(
    gateway: Gateway,
) -> None:
    ran = gateway.cli("jobs", "--api-key", "aigw_not-a-key-0123456789")

    assert ran.returncode == EXIT_AUTH
    assert ran.stdout == ""
    assert len(ran.stderr.splitlines()) == 1
    assert ran.stderr.startswith("aigw: Unauthorized: ")
    assert "Traceback" not in ran.stderr


def test_given_an_unknown_job_when_shown_then_the_api_error_exit_code_and_one_line(
    gateway: Gateway,
) -> None:
    ran = gateway.cli("status", "01M0000000000000000000000Z")

    assert ran.returncode == EXIT_API_ERROR
    assert len(ran.stderr.splitlines()) == 1
    assert ran.stderr.startswith("aigw: NotFound: job 01M0000000000000000000000Z not found")
    assert "request " in ran.stderr


def test_given_an_unreachable_websocket_when_waiting_then_the_cli_polls_and_succeeds(
    gateway: Gateway,
) -> None:
    ran = gateway.cli(
        "submit",
        "text-insights",
        "Lovely, thank you so much.",
        "--wait",
        "--json",
        AIGW_WS_URL=closed_port_url("ws"),
    )

    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["status"] == "SUCCEEDED"


def test_given_no_gateway_listening_when_called_then_the_unreachable_exit_code(
    gateway: Gateway,
) -> None:
    ran = gateway.cli("pipelines", AIGW_URL=closed_port_url("http") + "/v1")

    assert ran.returncode == EXIT_UNREACHABLE
    assert len(ran.stderr.splitlines()) == 1
    assert "cannot reach" in ran.stderr


def test_given_a_document_that_cannot_be_read_when_waited_then_the_job_failed_exit_code(
    gateway: Gateway,
) -> None:
    # A PDF's signature, so it passes the checks at submit, and nothing Textract can read.
    corrupt_pdf = base64.b64encode(b"%PDF-1.7\n1 0 obj <</Type /Catalog").decode()
    document = json.dumps({"document_base64": corrupt_pdf})

    ran = gateway.cli("submit", "document-insights", document, "--wait")

    assert ran.returncode == EXIT_JOB_FAILED
    assert ran.stderr.splitlines()[-1].startswith("aigw: job ")
    assert " FAILED in step " in ran.stderr


def test_given_a_short_timeout_when_waiting_then_the_timeout_exit_code(
    gateway: Gateway, long_document: Path
) -> None:
    job_id = gateway.cli("submit", "document-insights", str(long_document)).stdout.strip()

    ran = gateway.cli("status", job_id, "--wait", "--timeout", "0.2")
    gateway.cli("cancel", job_id)

    assert ran.returncode == EXIT_TIMEOUT
    assert f"job {job_id} did not end within 0.2 s" in ran.stderr


def test_given_a_terminal_when_waiting_then_a_live_line_shows_status_step_and_elapsed(
    gateway: Gateway, long_document: Path
) -> None:
    terminal = pexpect.spawn(
        sys.executable,
        ["-m", "aigw", "submit", "document-insights", str(long_document), "--wait", "--json"],
        env=gateway.env(),
        encoding="utf-8",
        timeout=60,
        dimensions=(24, 160),
    )

    terminal.expect(r"\r\x1b\[2K[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] job (\w+)  RUNNING(, step [^\r]+)?  +\d+\.\ds")
    job_id = terminal.match.group(1)
    terminal.expect(rf"\r\x1b\[2K✓ job {job_id}  SUCCEEDED  +\d+\.\ds\r\n")
    terminal.expect(pexpect.EOF)
    terminal.close()

    assert terminal.exitstatus == 0
    assert json.loads(terminal.before)["status"] == "SUCCEEDED"


def test_given_no_terminal_when_waiting_then_progress_is_plain_lines(
    gateway: Gateway, invoice: Path
) -> None:
    ran = gateway.cli("submit", "document-insights", str(invoice), "-O", "language=en", "--wait")

    assert ran.returncode == 0, ran.stderr
    assert "\r" not in ran.stderr and "\x1b" not in ran.stderr
    lines = ran.stderr.splitlines()
    assert all(line.startswith("[") and "s] job " in line for line in lines)
    assert lines[-1].endswith(": SUCCEEDED")
    assert "Entities:" in ran.stdout


def test_given_a_succeeded_job_when_its_result_is_saved_then_the_file_holds_its_json(
    gateway: Gateway, tmp_path: Path
) -> None:
    submitted = gateway.cli(
        "submit", "text-insights", "Great service, thank you.", "--wait", "--json"
    )
    job_id = json.loads(submitted.stdout)["job_id"]
    output = tmp_path / "result.json"

    ran = gateway.cli("result", job_id, "-o", str(output))

    assert ran.returncode == 0, ran.stderr
    assert json.loads(output.read_text())["sentiment"]["label"] == "POSITIVE"


def test_given_a_profile_when_named_then_the_cli_uses_its_url_and_key(
    gateway: Gateway, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[local]\nurl = "{gateway.url}"\napi_key = "{gateway.api_key}"\n')
    env = gateway.env(AIGW_CONFIG_FILE=str(config))
    del env["AIGW_URL"], env["AIGW_API_KEY"]

    ran = subprocess.run(
        [sys.executable, "-m", "aigw", "pipelines", "--profile", "local", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert ran.returncode == 0, ran.stderr
    assert {p["name"] for p in json.loads(ran.stdout)} >= {"text-insights", "document-insights"}


def test_given_a_running_local_gateway_when_a_tenant_is_created_then_its_key_works(
    gateway: Gateway,
) -> None:
    assert gateway.aws_endpoint, "aigw local prints its AWS endpoint"

    created = gateway.cli(
        "tenants", "create", "acme", "--aws-endpoint", gateway.aws_endpoint, "--json"
    )
    tenant = json.loads(created.stdout)
    listed = gateway.cli("jobs", "--json", AIGW_API_KEY=tenant["api_key"])

    assert created.returncode == 0, created.stderr
    assert tenant["status"] == "active" and tenant["tenant_id"].startswith("t-")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []  # a new tenant sees none of the others' jobs


def test_given_ws_ticket_then_its_url_opens_one_websocket_without_the_key(
    gateway: Gateway,
) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    ran = gateway.cli("ws-ticket", "--json")

    assert ran.returncode == 0, ran.stderr
    ticket = json.loads(ran.stdout)
    assert gateway.api_key not in ran.stdout
    assert ticket["url"] == f"{gateway.ws_url}?ticket={ticket['ticket']}"
    with connect(ticket["url"], open_timeout=30) as socket:
        socket.send(json.dumps({"action": "subscribe", "job_id": "01HWZ06SCY7F9H1K3M5P7R9T1V"}))
        assert json.loads(socket.recv(timeout=30))["code"] == "NotFound"
    with pytest.raises(InvalidStatus) as refused:  # used up
        connect(ticket["url"], open_timeout=30)
    assert refused.value.response.status_code == 401


def test_given_a_tenants_jobs_when_usage_is_shown_then_a_table_of_cost_and_the_limits(
    gateway: Gateway,
) -> None:
    created = gateway.cli("tenants", "create", "usage-cli", "--aws-endpoint", gateway.aws_endpoint)
    key = created.stdout.split("api_key:")[1].strip()
    ran = gateway.cli(
        "submit", "text-insights", "Great service, thank you.", "--wait", AIGW_API_KEY=key
    )
    assert ran.returncode == 0, ran.stderr
    # A job is settled from the Jobs table's stream moments after it ends.
    deadline = time.monotonic() + 30
    while json.loads(gateway.cli("usage", "--json", AIGW_API_KEY=key).stdout)["jobs"] == 0:
        assert time.monotonic() < deadline, "the job was never settled"
        time.sleep(0.2)

    table = gateway.cli("usage", "--group-by", "pipeline", AIGW_API_KEY=key)
    as_json = gateway.cli("usage", "--json", AIGW_API_KEY=key)

    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].startswith("Usage ") and "1 jobs" in lines[0]
    header = next(line for line in lines if line.startswith("PIPELINE"))
    assert header.split() == ["PIPELINE", "JOBS", "COST", "UNITS"]
    row = lines[lines.index(header) + 1].split()
    # "Great service, thank you." is 3 units (the minimum) for each of 5 Comprehend calls.
    assert row[:5] == ["text-insights", "1", "$0.0015", "3", "comprehend"]
    assert any(line.split()[:4] == ["max_concurrent_jobs", "0", "/", "no"] for line in lines)
    report = json.loads(as_json.stdout)
    assert (report["jobs"], report["cost_usd"]) == (1, 0.0015)


def test_given_a_local_gateway_when_a_tenants_limits_are_set_then_its_usage_shows_them(
    gateway: Gateway,
) -> None:
    created = gateway.cli("tenants", "create", "limited", "--aws-endpoint", gateway.aws_endpoint)
    key = created.stdout.split("api_key:")[1].strip()

    updated = gateway.cli(
        "tenants", "update", "limited", "--aws-endpoint", gateway.aws_endpoint,
        "--max-concurrent-jobs", "2", "--monthly-budget-usd", "5", "--monthly-jobs", "none",
    )  # fmt: skip
    shown = json.loads(gateway.cli("usage", "--json", AIGW_API_KEY=key).stdout)["limits"]
    unknown = gateway.cli(
        "tenants", "update", "nobody", "--aws-endpoint", gateway.aws_endpoint, "--monthly-jobs", "1"
    )

    assert updated.returncode == 0, updated.stderr
    lines = dict(line.split(":", 1) for line in updated.stdout.splitlines())
    assert lines["max_concurrent_jobs"].strip() == "2"
    assert lines["monthly_budget_usd"].strip() == "$5.00"
    assert lines["monthly_jobs"].strip() == "no limit"
    assert shown["max_concurrent_jobs"] == {"limit": 2, "used": 0}
    # Counts of jobs print as whole numbers, not 2.0.
    assert type(shown["max_concurrent_jobs"]["limit"]) is int
    assert shown["monthly_budget_usd"]["limit"] == 5.0
    assert shown["monthly_jobs"]["limit"] is None
    assert unknown.returncode == 2
    assert "no tenant is named or has the id 'nobody'" in unknown.stderr


def test_given_models_then_a_table_of_each_models_features_and_the_llm_models(
    gateway: Gateway,
) -> None:
    shown = gateway.cli("models")
    as_json = gateway.cli("models", "--json")

    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("churn: ")
    assert lines[1] == "  predicts: stay, churn"
    assert lines[2].split() == ["FEATURE", "ACCEPTS", "REQUIRED"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[3:8]}
    assert rows["tenure_months"] == ["integer", "0", "to", "600", "yes"]
    assert rows["plan"] == ["basic", "|", "pro", "|", "enterprise", "yes"]
    assert rows["paperless_billing"] == ["true", "or", "false", "yes"]
    assert "  amazon.nova-micro-v1:0  (default)" in lines
    listed = json.loads(as_json.stdout)
    assert [model["name"] for model in listed["models"]] == ["churn"]


def test_given_subscriptions_commands_then_a_queue_is_subscribed_listed_and_deleted(
    gateway: Gateway,
) -> None:
    import boto3

    assert gateway.aws_endpoint is not None
    sqs = boto3.client(
        "sqs",
        endpoint_url=gateway.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    url = sqs.create_queue(QueueName="cli-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]

    created = gateway.cli(
        "subscriptions", "create", "--sqs", arn["QueueArn"], "--status", "SUCCEEDED", "--json"
    )
    assert created.returncode == 0, created.stderr
    subscription = json.loads(created.stdout)
    assert subscription["statuses"] == ["SUCCEEDED"] and subscription["status"] == "confirmed"

    listed = gateway.cli("subscriptions", "list")
    assert listed.returncode == 0, listed.stderr
    assert subscription["subscription_id"] in listed.stdout and "SUCCEEDED" in listed.stdout

    deleted = gateway.cli("subscriptions", "delete", subscription["subscription_id"], "--json")
    assert deleted.returncode == 0 and json.loads(deleted.stdout)["status"] == "deleted"
    again = gateway.cli("subscriptions", "delete", subscription["subscription_id"])
    assert again.returncode == EXIT_API_ERROR and "NotFound" in again.stderr


def test_given_a_tenant_set_to_cache_by_default_then_its_identical_request_comes_from_the_cache(
    gateway: Gateway,
) -> None:
    created = gateway.cli("tenants", "create", "cache-cli", "--aws-endpoint", gateway.aws_endpoint)
    key = created.stdout.split("api_key:")[1].strip()
    endpoint = ("--aws-endpoint", gateway.aws_endpoint)

    updated = gateway.cli(
        "tenants",
        "update",
        "cache-cli",
        *endpoint,
        "--cache-by-default",
        "true",
        "--cache-ttl-seconds",
        "600",
    )
    ran = gateway.cli("submit", "text-insights", "A lovely cached day.", "--wait", AIGW_API_KEY=key)
    again = gateway.cli(
        "submit", "text-insights", "A lovely cached day.", "--json", AIGW_API_KEY=key
    )
    refused = gateway.cli("tenants", "update", "cache-cli", *endpoint, "--cache-ttl-seconds", "0")

    assert updated.returncode == 0, updated.stderr
    assert "cache_by_default:     true" in updated.stdout
    assert "cache_ttl_seconds:    600" in updated.stdout
    assert ran.returncode == 0, ran.stderr
    hit = json.loads(again.stdout)
    assert hit["cached"] is True and hit["status"] == "SUCCEEDED"
    assert hit["usage"]["ai_cost_usd"] == 0
    assert refused.returncode != 0
    assert "cache_ttl_seconds must be from 1 to 2592000" in refused.stderr
