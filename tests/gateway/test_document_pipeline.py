"""The document-insights pipeline's own pieces: page assembly, StartTextract, the callback.

Domain tests read realistic Textract Get* responses (``fixtures/textract_*.json``); handler
tests run against moto, with Textract and Step Functions' SendTask* answered (and recorded)
by local providers. Handlers are imported by file path, under a fresh name, after their
environment is set: they read it once, at import, as on a Lambda cold start.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_shapes import assert_output_shape
from moto import mock_aws
from samtranslator.yaml_helper import yaml_parse

from aigw.local.services.providers import ServiceError, registry

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
FIXTURES = Path(__file__).parent / "fixtures"
EVENTS = ROOT / "events"
APP_TEMPLATE = FIXTURES / "document_app" / "template.yaml"
REGION = "us-east-1"
TOPIC_ARN = f"arn:aws:sns:{REGION}:123456789012:TextractTopic"
ROLE_ARN = "arn:aws:iam::123456789012:role/TextractPublishRole"
EXECUTION_ID = f"arn:aws:states:{REGION}:123456789012:execution:DocumentInsights:tenant-a-job-1"
JOB_TAG_PATTERN = re.compile(r"[a-zA-Z0-9_.\-:]{1,64}")
REQUEST_TOKEN_PATTERN = re.compile(r"[a-zA-Z0-9\-_]{1,64}")

_fresh = itertools.count()


def load_module(function: str, module: str, *, fresh: bool = False) -> ModuleType:
    """Import functions/<function>/<module>.py; a fresh import gets a name of its own.

    A domain module keeps its own name, so that the handler's ``from pages import ...`` finds it.
    """
    name = f"_test_{function}_{module}_{next(_fresh)}" if fresh else module
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, FUNCTIONS / function / f"{module}.py")
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    spec.loader.exec_module(loaded)
    return loaded


pages = load_module("document_pages", "pages")
textract_request = load_module("start_textract", "textract_request")
textract_completion = load_module("textract_callback", "textract_completion")


@pytest.fixture(autouse=True)
def _domain_modules() -> None:
    """The handlers import the modules above by name; a runtime of an earlier test module,
    stopping, takes function modules out of sys.modules (they are loaded at collection)."""
    for module in (pages, textract_request, textract_completion):
        sys.modules.setdefault(module.__name__, module)


def textract_responses(name: str) -> list[dict[str, Any]]:
    responses = json.loads((FIXTURES / name).read_text())["responses"]
    operation = "GetDocumentAnalysis" if "analysis" in name else "GetDocumentTextDetection"
    for response in responses:
        assert_output_shape("textract", operation, response)
    return responses


def all_blocks(responses: list[dict[str, Any]], *, analysis: bool) -> list[dict[str, Any]]:
    return pages.compact(
        [block for response in responses for block in response["Blocks"]], analysis=analysis
    )


@dataclass
class FakeContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


def test_the_sample_events_are_what_the_handlers_accept() -> None:
    start = json.loads((EVENTS / "start_textract.json").read_text())
    pages_request = json.loads((EVENTS / "document_pages.json").read_text())
    callback = json.loads((EVENTS / "textract_callback.json").read_text())

    assert textract_request.StartTextractEvent.parse(start).options.features
    assert pages.PagesRequest.parse(pages_request).api == "StartDocumentAnalysis"
    completion = textract_completion.parse_completion(callback["Records"][0]["Sns"]["Message"])
    assert completion is not None and completion.status == "SUCCEEDED"


# ---------------------------------------------------------------------------- page assembly


def test_lines_are_assembled_per_page_across_result_pages_with_blank_pages_listed() -> None:
    # Given a three-page document whose results come in two Get* responses, page 3 blank
    responses = textract_responses("textract_text_detection.json")

    # When the blocks are assembled
    document = pages.assemble(all_blocks(responses, analysis=False), page_count=3)

    # Then every page is listed in order, with its lines and their confidence
    assert [page["page"] for page in document["pages"]] == [1, 2, 3]
    assert [line["text"] for line in document["pages"][0]["lines"]] == [
        "INVOICE 2024-117",
        "Acme Widgets Ltd. delivered 40 units on 3 May.",
    ]
    assert [line["text"] for line in document["pages"][1]["lines"]] == [
        "Payment is due within 30 days.",
        "Thank you for your business!",
    ]
    assert document["pages"][2]["lines"] == []
    assert all(
        90 < line["confidence"] < 100 and line["confidence"] == round(line["confidence"], 2)
        for page in document["pages"]
        for line in page["lines"]
    )
    # And the text is the lines, pages separated by a blank line
    assert document["text"] == (
        "INVOICE 2024-117\nAcme Widgets Ltd. delivered 40 units on 3 May.\n\n"
        "Payment is due within 30 days.\nThank you for your business!"
    )
    assert document["forms"] == [] and document["tables"] == []


def test_lines_follow_the_page_blocks_reading_order() -> None:
    # Given a two-column page: Textract's PAGE block lists the left column's lines first,
    # though the right column's first line was returned before them
    blocks = [
        {
            "Id": "p",
            "BlockType": "PAGE",
            "Page": 1,
            "Relationships": [{"Type": "CHILD", "Ids": ["left-1", "left-2", "right-1"]}],
        },
        {"Id": "right-1", "BlockType": "LINE", "Page": 1, "Text": "Right", "Confidence": 99.0},
        {"Id": "left-1", "BlockType": "LINE", "Page": 1, "Text": "Left one", "Confidence": 99.0},
        {"Id": "left-2", "BlockType": "LINE", "Page": 1, "Text": "Left two", "Confidence": 99.0},
    ]

    # When they are assembled
    document = pages.assemble(blocks, page_count=1)

    # Then the lines are in the PAGE block's order
    assert document["text"] == "Left one\nLeft two\nRight"


def test_forms_pair_each_key_with_its_value_words_and_selection_marks() -> None:
    # Given a form analysed with FORMS: a text value, a ticked box and an empty value
    responses = textract_responses("textract_analysis.json")

    # When the blocks are assembled
    document = pages.assemble(all_blocks(responses, analysis=True), page_count=1)

    # Then each key comes with its value's words, a selection mark by its status
    assert document["forms"] == [
        {"key": "Name:", "value": "Jane Doe", "page": 1},
        {"key": "Insured:", "value": "SELECTED", "page": 1},
        {"key": "Policy no.:", "value": "", "page": 1},
    ]


def test_tables_become_rows_of_cell_texts_by_row_and_column_index() -> None:
    # Given a table analysed with TABLES, one of its cells empty
    responses = textract_responses("textract_analysis.json")

    # When the blocks are assembled
    document = pages.assemble(all_blocks(responses, analysis=True), page_count=1)

    # Then the table is its grid of cell texts
    assert document["tables"] == [
        {
            "page": 1,
            "rows": [
                ["Date", "Item", "Amount"],
                ["2024-05-03", "Widgets", "$400.00"],
                ["2024-05-04", "Shipping", ""],
            ],
        }
    ]


def test_text_detection_keeps_pages_and_lines_without_their_geometry() -> None:
    blocks = textract_responses("textract_text_detection.json")[0]["Blocks"]

    kept = pages.compact(blocks, analysis=False)

    assert {block["BlockType"] for block in blocks} == {"PAGE", "LINE", "WORD"}
    assert [block["Id"] for block in kept] == [
        block["Id"] for block in blocks if block["BlockType"] in ("PAGE", "LINE")
    ]
    assert all("Geometry" not in block for block in kept)


def test_analysis_also_keeps_the_blocks_forms_and_tables_are_made_of() -> None:
    blocks = textract_responses("textract_analysis.json")[0]["Blocks"]

    kept = pages.compact(blocks, analysis=True)

    assert len(kept) == len(blocks)
    assert kept[1] == {key: value for key, value in blocks[1].items() if key != "Geometry"}


def test_analysed_text_is_split_into_chunks_that_rebuild_it() -> None:
    text = "The invoice is due in thirty days. " * 400  # 14,000 bytes

    chunks, truncated = pages.analysis_input(text)

    assert not truncated
    assert len(chunks) > 1
    assert "".join(chunk["text"] for chunk in chunks) == text
    assert [chunk["offset"] for chunk in chunks] == list(
        itertools.accumulate((len(chunk["text"]) for chunk in chunks[:-1]), initial=0)
    )


def test_analysed_text_is_cut_at_the_byte_limit_without_splitting_a_character() -> None:
    # Given text whose byte limit falls inside a two-byte character
    text = "é" * 60_000  # 120,000 bytes of UTF-8

    # When it is prepared for analysis
    chunks, truncated = pages.analysis_input(text)

    # Then at most the limit is analysed, as whole characters, and the cut is reported
    analysed = "".join(chunk["text"] for chunk in chunks)
    assert truncated
    assert analysed == "é" * (pages.MAX_ANALYSED_BYTES // 2)
    assert len(analysed.encode()) <= pages.MAX_ANALYSED_BYTES


@pytest.mark.parametrize("text", ["", " \n\n "])
def test_a_document_without_text_has_nothing_to_analyse(text: str) -> None:
    assert pages.analysis_input(text) == ([], False)


def test_a_job_textract_reports_failed_cannot_be_assembled() -> None:
    with pytest.raises(pages.TextractJobFailed, match="job-1 is FAILED: unsupported document"):
        pages.check_job_status("job-1", "FAILED", "unsupported document")


# ---------------------------------------------------------------------------- AWS in moto


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


@pytest.fixture
def task_tokens_table(aws: None) -> str:
    """The TaskTokens table, created from the template's own key schema and TTL."""
    resources = yaml_parse(APP_TEMPLATE.read_text())["Resources"]
    properties = resources["TaskTokensTable"]["Properties"]
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    dynamodb.create_table(
        TableName="TaskTokens",
        AttributeDefinitions=properties["AttributeDefinitions"],
        KeySchema=properties["KeySchema"],
        BillingMode=properties["BillingMode"],
    )
    dynamodb.update_time_to_live(
        TableName="TaskTokens", TimeToLiveSpecification=properties["TimeToLiveSpecification"]
    )
    return "TaskTokens"


def stored_tokens() -> dict[str, dict[str, str]]:
    """The TaskTokens items by tag, their values as strings."""
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName="TaskTokens")["Items"]
    plain = [{key: next(iter(value.values())) for key, value in item.items()} for item in items]
    return {item["tag"]: item for item in plain}


@pytest.fixture
def provide() -> Iterator[Callable[[str, str, Callable[[dict[str, Any]], Any]], None]]:
    """Answer an AWS operation from a function for the rest of the test."""
    registered: list[tuple[str, str]] = []

    def _provide(service: str, operation: str, answer: Callable[[dict[str, Any]], Any]) -> None:
        registry.register(service, operation, answer)
        registered.append((service, operation))

    yield _provide
    for service, operation in registered:
        registry.unregister(service, operation)


# ---------------------------------------------------------------------------- StartTextract


@pytest.fixture
def start_textract(task_tokens_table: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("TASK_TOKENS_TABLE", task_tokens_table)
    monkeypatch.setenv("TEXTRACT_TOPIC_ARN", TOPIC_ARN)
    monkeypatch.setenv("TEXTRACT_ROLE_ARN", ROLE_ARN)
    return load_module("start_textract", "app", fresh=True)


def start_event(**changes: Any) -> dict[str, Any]:
    event = {
        "task_token": "token-for-attempt-0",
        "execution_id": EXECUTION_ID,
        "attempt": 0,
        "tenant_id": "tenant-a",
        "job_id": "01J00000000000000000000000",
        "document": {"bucket": "documents", "key": "uploads/tenant-a/invoice.pdf"},
        "options": {},
    }
    return event | changes


def test_the_token_is_stored_before_textract_is_started(start_textract, provide) -> None:
    # Given Textract, which notes what the TaskTokens table holds when it is called
    seen: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def start(params: dict[str, Any]) -> dict[str, Any]:
        seen.append((params, stored_tokens()))
        return {"JobId": "textract-job-1"}

    provide("textract", "StartDocumentTextDetection", start)

    # When the step starts a document without features
    result = start_textract.handler(start_event(), FakeContext())

    # Then the token was findable under the job's tag before Textract was called
    ((params, tokens_at_call),) = seen
    tag = params["JobTag"]
    assert tokens_at_call[tag]["task_token"] == "token-for-attempt-0"
    # And Textract was asked for text detection with the tag and the SNS channel
    assert params == {
        "DocumentLocation": {
            "S3Object": {"Bucket": "documents", "Name": "uploads/tenant-a/invoice.pdf"}
        },
        "ClientRequestToken": tag,
        "JobTag": tag,
        "NotificationChannel": {"SNSTopicArn": TOPIC_ARN, "RoleArn": ROLE_ARN},
    }
    # And the token item now also names the Textract job, and expires
    item = stored_tokens()[tag]
    assert item["textract_job_id"] == "textract-job-1"
    assert int(item["expires_at"]) > 0
    assert result == {"job_tag": tag, "textract_job_id": "textract-job-1"}


def test_forms_and_tables_start_a_document_analysis(start_textract, provide) -> None:
    requests: list[dict[str, Any]] = []
    provide(
        "textract",
        "StartDocumentAnalysis",
        lambda params: requests.append(params) or {"JobId": "textract-job-2"},
    )

    start_textract.handler(
        start_event(options={"features": ["TABLES", "FORMS", "TABLES"], "language": "en"}),
        FakeContext(),
    )

    assert requests[0]["FeatureTypes"] == ["FORMS", "TABLES"]


def test_job_tags_are_valid_for_textract_and_new_for_every_attempt() -> None:
    first = textract_request.job_tag(EXECUTION_ID, 0)

    assert JOB_TAG_PATTERN.fullmatch(first) and REQUEST_TOKEN_PATTERN.fullmatch(first)
    assert textract_request.job_tag(EXECUTION_ID, 0) == first
    assert textract_request.job_tag(EXECUTION_ID, 1) != first
    assert textract_request.job_tag(EXECUTION_ID + "-other", 0) != first


def test_textract_throttling_raises_an_exception_named_after_the_error_code(
    start_textract, provide
) -> None:
    # Given Textract that throttles
    def throttled(params: dict[str, Any]) -> dict[str, Any]:
        raise ServiceError("ThrottlingException", "Rate exceeded")

    provide("textract", "StartDocumentTextDetection", throttled)

    # When the step starts a document
    with pytest.raises(textract_request.TextractError) as raised:
        start_textract.handler(start_event(), FakeContext())

    # Then the error's class is named as Step Functions' Retry expects
    assert type(raised.value).__name__ == "ThrottlingException"
    assert str(raised.value) == "Rate exceeded"
    assert type(raised.value) is textract_request.textract_error("ThrottlingException")


def test_a_completion_that_beats_start_textract_leaves_no_token_behind(
    start_textract, provide
) -> None:
    # Given a job so quick that the callback uses and deletes the token before Start* returns
    def start_and_complete_at_once(params: dict[str, Any]) -> dict[str, Any]:
        boto3.client("dynamodb", region_name=REGION).delete_item(
            TableName="TaskTokens", Key={"tag": {"S": params["JobTag"]}}
        )
        return {"JobId": "textract-job-3"}

    provide("textract", "StartDocumentTextDetection", start_and_complete_at_once)

    # When the step starts it
    start_textract.handler(start_event(), FakeContext())

    # Then recording the job id does not bring the used token back
    assert stored_tokens() == {}


def test_an_event_without_a_task_token_is_refused(start_textract) -> None:
    event = start_event()
    del event["task_token"]

    with pytest.raises(ValueError, match="task_token"):
        start_textract.handler(event, FakeContext())


# ---------------------------------------------------------------------------- the callback


@pytest.fixture
def textract_callback(task_tokens_table: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("TASK_TOKENS_TABLE", task_tokens_table)
    return load_module("textract_callback", "app", fresh=True)


@pytest.fixture
def step_functions(provide) -> list[tuple[str, dict[str, Any]]]:
    """Records SendTaskSuccess / SendTaskFailure calls (and answers them)."""
    calls: list[tuple[str, dict[str, Any]]] = []
    for operation in ("SendTaskSuccess", "SendTaskFailure"):
        provide(
            "stepfunctions",
            operation,
            lambda params, operation=operation: calls.append((operation, params)) or {},
        )
    return calls


def store_token(tag: str, token: str) -> None:
    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName="TaskTokens",
        Item={"tag": {"S": tag}, "task_token": {"S": token}, "expires_at": {"N": "1"}},
    )


def sns_event(
    tag: str | None, status: str = "SUCCEEDED", message: str | None = None
) -> dict[str, Any]:
    completion = {
        "JobId": "textract-job-1",
        "Status": status,
        "API": "StartDocumentAnalysis",
        "JobTag": tag,
        "Timestamp": 1714730000000,
        "DocumentLocation": {"S3ObjectName": "uploads/invoice.pdf", "S3Bucket": "documents"},
    }
    body = message if message is not None else json.dumps(completion)
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                    "TopicArn": TOPIC_ARN,
                    "Message": body,
                    "MessageAttributes": {},
                },
            }
        ]
    }


def test_a_succeeded_job_completes_the_step_with_its_id_and_api(
    textract_callback, step_functions
) -> None:
    # Given a step waiting under a tag
    store_token("tag-1", "waiting-token")

    # When Textract reports the tagged job SUCCEEDED
    textract_callback.handler(sns_event("tag-1"), FakeContext())

    # Then the step gets the job's id and API, and the token is forgotten
    assert step_functions == [
        (
            "SendTaskSuccess",
            {
                "taskToken": "waiting-token",
                "output": json.dumps(
                    {"textract_job_id": "textract-job-1", "api": "StartDocumentAnalysis"}
                ),
            },
        )
    ]
    assert stored_tokens() == {}


@pytest.mark.parametrize("status", ["FAILED", "ERROR", "PARTIAL_SUCCESS"])
def test_a_job_that_did_not_succeed_fails_the_step_with_textract_job_failed(
    textract_callback, step_functions, status: str
) -> None:
    store_token("tag-1", "waiting-token")

    textract_callback.handler(sns_event("tag-1", status), FakeContext())

    assert step_functions == [
        (
            "SendTaskFailure",
            {
                "taskToken": "waiting-token",
                "error": "Textract.JobFailed",
                "cause": f"Textract job textract-job-1 ended {status}",
            },
        )
    ]
    assert stored_tokens() == {}


def test_a_completion_for_an_unknown_tag_is_skipped(textract_callback, step_functions) -> None:
    # Given no step waiting under the message's tag (a duplicate or stale message)
    store_token("another-tag", "other-token")

    # When the message arrives, nothing is raised (SNS would retry it forever) or sent
    textract_callback.handler(sns_event("stale-tag"), FakeContext())

    assert step_functions == []
    assert list(stored_tokens()) == ["another-tag"]


@pytest.mark.parametrize(
    "message", ["not json", json.dumps({"JobId": "x", "Status": "SUCCEEDED"}), "[]"]
)
def test_a_message_that_is_not_a_tagged_completion_is_skipped(
    textract_callback, step_functions, message: str
) -> None:
    textract_callback.handler(sns_event(None, message=message), FakeContext())

    assert step_functions == []


@pytest.mark.parametrize("code", ["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"])
def test_a_step_that_no_longer_waits_is_skipped_and_its_token_forgotten(
    textract_callback, provide, code: str
) -> None:
    # Given a token whose execution has already timed out or stopped
    store_token("tag-1", "expired-token")

    def gone(params: dict[str, Any]) -> dict[str, Any]:
        raise ServiceError(code, "Provided task does not exist anymore")

    provide("stepfunctions", "SendTaskSuccess", gone)

    # When its job completes, the message is consumed without an error
    textract_callback.handler(sns_event("tag-1"), FakeContext())

    assert stored_tokens() == {}


def test_a_throttled_send_raises_so_that_the_message_is_retried(textract_callback, provide) -> None:
    # Given Step Functions that throttles
    store_token("tag-1", "waiting-token")

    def throttled(params: dict[str, Any]) -> dict[str, Any]:
        raise ServiceError("ThrottlingException", "Rate exceeded")

    provide("stepfunctions", "SendTaskSuccess", throttled)

    # When the completion arrives, the error reaches Lambda (which retries the event)
    with pytest.raises(Exception, match="Rate exceeded"):
        textract_callback.handler(sns_event("tag-1"), FakeContext())

    # And the token is still there for the retry
    assert list(stored_tokens()) == ["tag-1"]


def test_completion_statuses_are_read_in_any_case() -> None:
    message = {
        "JobId": "j",
        "Status": "Succeeded",
        "API": "StartDocumentTextDetection",
        "JobTag": "t",
    }

    completion = textract_completion.parse_completion(json.dumps(message))

    assert textract_completion.task_result(completion) == textract_completion.TaskSuccess(
        {"textract_job_id": "j", "api": "StartDocumentTextDetection"}
    )


# ---------------------------------------------------------------------------- AssemblePages


@pytest.fixture
def document_pages(aws: None, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="documents")
    monkeypatch.setenv("DOCUMENTS_BUCKET", "documents")
    return load_module("document_pages", "app", fresh=True)


def paged(responses: list[dict[str, Any]], calls: list[dict[str, Any]]) -> Callable:
    """A Get* operation answering the responses in turn, following NextToken."""

    tokens = [response.get("NextToken") for response in responses]

    def get(params: dict[str, Any]) -> dict[str, Any]:
        calls.append(params)
        token = params.get("NextToken")
        return responses[0 if token is None else tokens.index(token) + 1]

    return get


def pages_event(api: str = "StartDocumentTextDetection", **options: Any) -> dict[str, Any]:
    return {
        "tenant_id": "tenant-a",
        "job_id": "01J00000000000000000000000",
        "textract_job_id": "textract-job-1",
        "api": api,
        "options": options,
    }


def test_pages_are_read_page_after_page_stored_in_s3_and_summarised(
    document_pages, provide
) -> None:
    # Given a finished text detection job whose results come in two responses
    calls: list[dict[str, Any]] = []
    responses = textract_responses("textract_text_detection.json")
    provide("textract", "GetDocumentTextDetection", paged(responses, calls))

    # When AssemblePages runs
    result = document_pages.handler(pages_event(language="en"), FakeContext())

    # Then it read every response, 1000 blocks at a time
    assert calls == [
        {"JobId": "textract-job-1", "MaxResults": 1000},
        {"JobId": "textract-job-1", "MaxResults": 1000, "NextToken": "AAAAAFakeNextToken0001"},
    ]
    # And stored the whole document in S3
    key = "results/tenant-a/01J00000000000000000000000/document.json"
    s3 = boto3.client("s3", region_name=REGION)
    stored = json.loads(s3.get_object(Bucket="documents", Key=key)["Body"].read())
    assert stored == pages.assemble(all_blocks(responses, analysis=False), page_count=3)
    # And returned its summary and the text in chunks, with the job's language
    assert result == {
        "document": {
            "bucket": "documents",
            "key": key,
            "pages": 3,
            "characters": len(stored["text"]),
            "truncated": False,
        },
        "chunks": [{"text": stored["text"], "offset": 0}],
        "language": "en",
    }


def test_an_analysis_job_is_read_with_get_document_analysis(document_pages, provide) -> None:
    calls: list[dict[str, Any]] = []
    provide(
        "textract",
        "GetDocumentAnalysis",
        paged(textract_responses("textract_analysis.json"), calls),
    )

    result = document_pages.handler(pages_event("StartDocumentAnalysis"), FakeContext())

    assert len(calls) == 1
    assert result["document"]["pages"] == 1
    assert result["language"] is None


def test_a_job_textract_reports_failed_raises_textract_job_failed(document_pages, provide) -> None:
    provide(
        "textract",
        "GetDocumentTextDetection",
        lambda params: {"JobStatus": "FAILED", "StatusMessage": "Unsupported document format"},
    )

    with pytest.raises(pages.TextractJobFailed, match="Unsupported document format"):
        document_pages.handler(pages_event(), FakeContext())


def test_textract_errors_while_reading_are_named_after_their_code(document_pages, provide) -> None:
    def throttled(params: dict[str, Any]) -> dict[str, Any]:
        raise ServiceError("ProvisionedThroughputExceededException", "slow down")

    provide("textract", "GetDocumentTextDetection", throttled)

    with pytest.raises(pages.TextractError) as raised:
        document_pages.handler(pages_event(), FakeContext())

    assert type(raised.value).__name__ == "ProvisionedThroughputExceededException"
