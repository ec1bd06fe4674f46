"""``aigw.AsyncClient``: the gateway's API from Python, with asyncio (httpx)."""

from __future__ import annotations

import asyncio
import builtins
import datetime
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from aigw.client._core import (
    AUTO,
    MAX_RETRY_AFTER,
    RETRY_STATUSES,
    TERMINAL,
    JobUpdate,
    PollSchedule,
    as_body,
    backoff,
    error_for,
    job_id_of,
    prompt_body,
    pushed_update,
    subscribe_message,
    websocket_options,
)
from aigw.client._core import (
    content_type as guess_content_type,
)
from aigw.client.config import resolve
from aigw.client.errors import (
    ApiError,
    ResponseError,
    TransportError,
    UploadError,
    WaitTimeoutError,
)
from aigw.client.models import (
    OPERATIONS,
    EventSubscription,
    EventSubscriptionList,
    Job,
    JobList,
    JobStatus,
    ModelList,
    PipelineList,
    PipelineListPipelines,
    PipelineName,
    Prompt,
    PromptList,
    PromptListPrompts,
    RunResult,
    SubmittedJob,
    Upload,
    UsageReport,
    WebSocketTicket,
)

LOG = logging.getLogger("aigw.client")
Input = Mapping[str, Any] | BaseModel
OnUpdate = Callable[[JobUpdate], None]


class AsyncClient:
    """A client of one gateway, for asyncio: :class:`aigw.Client`'s methods, awaitable.

    ``url``, ``api_key`` and ``ws_url`` come from the arguments, else ``AIGW_URL``,
    ``AIGW_API_KEY`` and ``AIGW_WS_URL``, else the profile (``profile`` or ``AIGW_PROFILE``)
    of ``~/.config/aigw/config.toml``; ``stack`` reads the URLs from a deployed stack.
    Requests that fail with 429 or 5xx, or do not reach the gateway, are retried up to
    ``max_retries`` times with backoff that honours ``Retry-After``. Use it as a context
    manager or ``close()`` it.
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        ws_url: str | None = None,
        profile: str | None = None,
        stack: str | None = None,
        region: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        settings = resolve(
            url=url, api_key=api_key, ws_url=ws_url, profile=profile, stack=stack, region=region
        )
        self.url, self.api_key, self.ws_url = settings.url, settings.api_key, settings.ws_url
        self.max_retries = max_retries
        self._http = httpx.AsyncClient(
            base_url=self.url + "/",
            headers={"x-api-key": self.api_key, "user-agent": "aigw-python"},
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ the API
    async def pipelines(self) -> builtins.list[PipelineListPipelines]:
        """The pipelines, their mode (sync or async) and their input JSON Schemas."""
        answer = await self._call("listPipelines")
        assert isinstance(answer, PipelineList)
        return answer.pipelines

    async def models(self) -> ModelList:
        """The predict models (each one's features as JSON Schema, its labels and output
        schema) and the LLM models the gateway may call."""
        answer = await self._call("listModels")
        assert isinstance(answer, ModelList)
        return answer

    async def upload(self, path: str | Path, content_type: str | None = None) -> dict[str, str]:
        """Upload a document or image through a presigned POST; returns the input to
        submit it with (``{"s3_uri": ...}``)."""
        path = Path(path)
        kind = guess_content_type(path, content_type)
        size = path.stat().st_size
        request = {"filename": path.name, "content_type": kind, "size": size}
        upload = await self._call("createUpload", json=request)
        assert isinstance(upload, Upload)

        async def post() -> httpx.Response:
            # No API key: the form's policy and signature are the credentials.
            async with httpx.AsyncClient(timeout=self._http.timeout) as storage:
                return await storage.post(
                    upload.upload.url,
                    data=upload.upload.fields,
                    files={"file": (path.name, path.read_bytes(), kind)},
                )

        response = await self._retrying(post, raise_errors=False)
        if response.status_code >= 300:
            raise UploadError(response.status_code, response.text[:300])
        return {"s3_uri": upload.input.s3_uri}

    async def submit(
        self,
        pipeline: PipelineName | str,
        input: Input,
        options: Input | None = None,
        *,
        idempotency_key: str | None = AUTO,
    ) -> SubmittedJob:
        """Start a job. Retries reuse one idempotency key, so they never start a second
        job; pass your own key to make retries across processes safe too (None: none)."""
        key = uuid.uuid4().hex if idempotency_key is AUTO else idempotency_key
        body: dict[str, Any] = {"pipeline": pipeline, "input": as_body(input)}
        if options is not None:
            body["options"] = as_body(options)
        headers = {"Idempotency-Key": key} if key else {}
        answer = await self._call("submitJob", json=body, headers=headers)
        assert isinstance(answer, SubmittedJob)
        return answer

    async def get(self, job: str | Job | SubmittedJob) -> Job:
        """The job now: status, progress, result (or ``result_url``), error, usage."""
        answer = await self._call("getJob", job_id=job_id_of(job))
        assert isinstance(answer, Job)
        return answer

    async def pages(
        self,
        *,
        status: JobStatus | str | None = None,
        pipeline: PipelineName | str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[JobList]:
        """The caller's jobs, newest first, one page at a time (``next_token`` followed)."""
        params: dict[str, Any] = {"status": status, "pipeline": pipeline, "limit": page_size}
        params = {name: value for name, value in params.items() if value is not None}
        while True:
            page = await self._call("listJobs", params=params)
            assert isinstance(page, JobList)
            yield page
            if not page.next_token:
                return
            params["next_token"] = page.next_token

    async def list(
        self,
        *,
        status: JobStatus | str | None = None,
        pipeline: PipelineName | str | None = None,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[Job]:
        """The caller's jobs, newest first, across pages; at most ``limit`` of them."""
        count = 0
        async for page in self.pages(status=status, pipeline=pipeline, page_size=page_size):
            for job in page.jobs:
                if limit is not None and count >= limit:
                    return
                count += 1
                yield job

    async def cancel(self, job: str | Job | SubmittedJob) -> Job:
        """Cancel a job that has not ended (cancelling twice is fine); the job, CANCELLED."""
        answer = await self._call("cancelJob", job_id=job_id_of(job))
        assert isinstance(answer, Job)
        return answer

    async def subscribe_events(
        self,
        protocol: str,
        endpoint: str,
        *,
        pipelines: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
    ) -> EventSubscription:
        """Have SNS deliver this tenant's job events (and only them: the gateway sets the
        filter) to an SQS queue (``"sqs"``, its ARN; its policy must let the topic send),
        an HTTPS endpoint (``"https"``) or an email address (``"email"``), optionally
        only some pipelines' or statuses' events. An https endpoint or an address gets
        nothing until it confirms (``status`` says ``pending_confirmation``)."""
        body: dict[str, Any] = {"protocol": protocol, "endpoint": endpoint}
        if pipelines:
            body["pipelines"] = list(pipelines)
        if statuses:
            body["statuses"] = list(statuses)
        answer = await self._call("createEventSubscription", json=body)
        assert isinstance(answer, EventSubscription)
        return answer

    async def event_subscriptions(self) -> builtins.list[EventSubscription]:
        """This tenant's event subscriptions (at most 10)."""
        answer = await self._call("listEventSubscriptions")
        assert isinstance(answer, EventSubscriptionList)
        return answer.subscriptions

    async def unsubscribe_events(self, subscription_id: str) -> EventSubscription:
        """Delete an event subscription; it, with ``status`` ``deleted``."""
        answer = await self._call("deleteEventSubscription", subscription_id=subscription_id)
        assert isinstance(answer, EventSubscription)
        return answer

    async def websocket_ticket(self) -> WebSocketTicket:
        """A ticket that opens one WebSocket connection within 60 s, for a client that
        cannot send the ``x-api-key`` header on a handshake (a browser): hand it
        ``ticket_url(ws_url, ticket.ticket)``. This client itself sends the header."""
        answer = await self._call("createWebSocketTicket")
        assert isinstance(answer, WebSocketTicket)
        return answer

    async def usage(
        self,
        start: datetime.date | str | None = None,
        end: datetime.date | str | None = None,
        *,
        group_by: str = "day",
    ) -> UsageReport:
        """The tenant's usage and AI cost from ``start`` to ``end`` (inclusive, UTC days;
        default this month so far), grouped by ``day``, ``pipeline`` or ``service``, with
        its limits and their use now."""
        params = {"from": start, "to": end, "group_by": group_by}
        params = {name: str(value) for name, value in params.items() if value is not None}
        answer = await self._call("getUsage", params=params)
        assert isinstance(answer, UsageReport)
        return answer

    async def run(
        self, pipeline: PipelineName | str, input: Input, options: Input | None = None
    ) -> RunResult:
        """Run a synchronous (Express) pipeline and return its result."""
        body: dict[str, Any] = {"input": as_body(input)}
        if options is not None:
            body["options"] = as_body(options)
        answer = await self._call("runPipeline", pipeline=pipeline, json=body)
        assert isinstance(answer, RunResult)
        return answer

    async def result(self, job: str | Job) -> dict[str, Any]:
        """A succeeded job's result, inline or fetched from its ``result_url``."""
        found = job if isinstance(job, Job) else await self.get(job)
        if found.result is not None:
            return found.result.model_dump(mode="json", by_alias=True, exclude_unset=True)
        if found.result_url:
            url = found.result_url

            async def fetch() -> httpx.Response:
                async with httpx.AsyncClient(timeout=30) as storage:
                    return await storage.get(url)

            return dict((await self._retrying(fetch)).json())
        raise ValueError(f"job {found.job_id} has no result (status {found.status})")

    async def wait(
        self,
        job: str | Job | SubmittedJob,
        timeout: float | None = None,
        *,
        on_update: OnUpdate | None = None,
        use_websocket: bool = True,
    ) -> Job:
        """Wait until the job ends and return it (whatever its status: check it). Listens
        on the WebSocket when there is a ``ws_url``, else or when that fails polls with
        backoff; ``on_update`` hears every change of status or progress. Raises
        :class:`WaitTimeoutError` after ``timeout`` seconds."""
        job_id = job_id_of(job)
        deadline = time.monotonic() + (timeout if timeout is not None else math.inf)
        seen: builtins.list[tuple[str, str | None, int | None]] = []

        def report(update: JobUpdate) -> None:
            state = (update.status, update.step, update.percent)
            if not seen or seen[-1] != state:
                seen.append(state)
                if on_update is not None:
                    on_update(update)

        if use_websocket and self.ws_url:
            ended = await self._wait_websocket(job_id, deadline, timeout, report)
            if ended is not None:
                return ended
        schedule = PollSchedule()
        while True:
            found = await self.get(job_id)
            report(JobUpdate.of_job(found))
            if found.status in TERMINAL:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeoutError(job_id, timeout or 0, found.status)
            await asyncio.sleep(schedule.pause(remaining))

    # ------------------------------------------------------------------ prompt templates
    async def create_prompt(
        self,
        name: str,
        template: str,
        variables: Mapping[str, Any],
        *,
        system: str | None = None,
        model: str | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> Prompt:
        """Create a prompt template (its version 1). ``template`` (and ``system``) may use
        ``{{variable}}``; ``variables`` is the JSON Schema of the variables object.
        Creating it again with the same definition returns it (a safe retry)."""
        body = {"name": name, **prompt_body(template, variables, system, model, parameters)}
        answer = await self._call("createPrompt", json=body)
        assert isinstance(answer, Prompt)
        return answer

    async def add_prompt_version(
        self,
        name: str,
        template: str,
        variables: Mapping[str, Any],
        *,
        system: str | None = None,
        model: str | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> Prompt:
        """Add a version to a prompt template (earlier versions never change); the latest
        version when it already has this definition."""
        body = prompt_body(template, variables, system, model, parameters)
        answer = await self._call("addPromptVersion", name=name, json=body)
        assert isinstance(answer, Prompt)
        return answer

    async def prompt(self, name: str, version: int | None = None) -> Prompt:
        """A version of a prompt template (the latest without ``version``)."""
        params = {"version": version} if version is not None else None
        answer = await self._call("getPrompt", name=name, params=params)
        assert isinstance(answer, Prompt)
        return answer

    async def prompts(self, *, page_size: int | None = None) -> AsyncIterator[PromptListPrompts]:
        """The caller's prompt templates by name, with their latest version (all pages)."""
        params: dict[str, Any] = {"limit": page_size} if page_size else {}
        while True:
            page = await self._call("listPrompts", params=params)
            assert isinstance(page, PromptList)
            for found in page.prompts:
                yield found
            if not page.next_token:
                return
            params["next_token"] = page.next_token

    async def delete_prompt(self, name: str) -> None:
        """Delete a prompt template and all its versions."""
        await self._call("deletePrompt", name=name)

    # ------------------------------------------------------------------ plumbing
    async def _wait_websocket(
        self,
        job_id: str,
        deadline: float,
        timeout: float | None,
        report: Callable[[JobUpdate], None],
    ) -> Job | None:
        """The ended job, or None when the WebSocket cannot be used (then poll)."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException

        assert self.ws_url is not None
        status = None
        try:
            async with connect(self.ws_url, **websocket_options(self.api_key)) as socket:
                await socket.send(subscribe_message(job_id))
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise WaitTimeoutError(job_id, timeout or 0, status)
                    try:
                        # A quiet socket is checked on now and then: an event lost on the
                        # way must not leave us waiting for ever.
                        raw = await asyncio.wait_for(socket.recv(), min(remaining, 15.0))
                    except TimeoutError:
                        found = await self.get(job_id)
                        report(JobUpdate.of_job(found))
                        if found.status in TERMINAL:
                            return found
                        continue
                    update = pushed_update(raw, job_id)
                    if update is not None:
                        status = update.status
                        report(update)
                        if update.terminal:
                            return await self.get(job_id)
        except WaitTimeoutError:
            raise
        except (OSError, WebSocketException) as error:
            reason = str(error).replace(self.api_key, "***")  # never log the key
            LOG.info("WebSocket %s unusable (%s); polling instead", self.ws_url, reason)
            return None

    async def _call(
        self,
        operation_id: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **path: str,
    ) -> BaseModel | None:
        operation = OPERATIONS[operation_id]
        url = operation.path.format(**path).lstrip("/")
        response = await self._retrying(
            lambda: self._http.request(
                operation.method, url, json=json, params=params, headers=headers
            )
        )
        if operation.response is None:  # 204: nothing to read
            return None
        try:
            return operation.response.model_validate_json(response.content)
        except ValidationError as error:
            raise ResponseError(
                f"{operation.method} {url}: the answer is not a {operation.response.__name__} "
                f"({error.error_count()} problems, first: {error.errors()[0]['msg']})"
            ) from error

    async def _retrying(
        self, send: Callable[[], Awaitable[httpx.Response]], *, raise_errors: bool = True
    ) -> httpx.Response:
        attempt = 0
        while True:
            failure: ApiError | None = None
            try:
                response = await send()
            except httpx.TransportError as error:
                # Nothing listening is unlikely to change in seconds: fail fast then.
                refused = isinstance(error, httpx.ConnectError) and attempt >= 1
                if attempt >= self.max_retries or refused:
                    raise TransportError(f"cannot reach {self.url}: {error}") from None
            else:
                if response.status_code < 400:
                    return response
                failure = error_for(response.status_code, response.content, response.headers)
                if (
                    response.status_code not in RETRY_STATUSES
                    or attempt >= self.max_retries
                    or (failure.retry_after or 0) > MAX_RETRY_AFTER
                ):
                    if raise_errors:
                        raise failure
                    return response
            attempt += 1
            pause = backoff(attempt, failure)
            LOG.info("retry %d in %.1f s (%s)", attempt, pause, failure or "no connection")
            await asyncio.sleep(pause)
