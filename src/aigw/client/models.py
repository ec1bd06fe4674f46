"""The API's shapes, generated from api/openapi.yaml by scripts/generate_sdk_models.py.

Do not edit: edit the OpenAPI document and run the script."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

PipelineName = Literal[
    "text-insights",
    "document-insights",
    "image-insights",
    "predict",
    "llm-generate",
    "document-summary",
]
JobStatus = Literal["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"]
CacheOption = bool
BedrockModelId = str
PromptName = str


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    code: Literal[
        "InvalidInput",
        "Unauthorized",
        "Forbidden",
        "NotFound",
        "Conflict",
        "PayloadTooLarge",
        "RateLimited",
        "QuotaExceeded",
        "UpstreamError",
        "Timeout",
        "Internal",
    ]
    message: str
    request_id: str
    limit: Literal["max_concurrent_jobs", "monthly_budget_usd", "monthly_jobs"] | None = None


class Error(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    error: ErrorDetail


class TextInput(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    text: str


class DocumentInput(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    s3_uri: str | None = None
    document_base64: str | None = None


class ImageInput(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    s3_uri: str | None = None
    image_base64: str | None = None


class PredictInput(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    model: str
    features: dict[str, str | float | bool]


class TextOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    cache: CacheOption | None = None
    language: str | None = None
    target_language: str | None = None


class DocumentOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    features: list[Literal["FORMS", "TABLES"]] | None = None
    language: str | None = None
    cache: CacheOption | None = None


class NoOptions(BaseModel):
    """The pipeline has no options of its own."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    cache: CacheOption | None = None


class LlmGenerateInput(BaseModel):
    """A prompt template (`name` or `name@version`) with its variables, or a conversation
    (messages, starting with the user's, roles alternating) with an optional system prompt.
    At most 100,000 bytes of UTF-8 text reach the model.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    prompt: str | None = None
    variables: dict[str, Any] | None = None
    messages: list[LlmMessage] | None = None
    system: str | None = None


class LlmMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    role: Literal["user", "assistant"]
    content: str


class LlmOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    model: BedrockModelId | None = None
    fallback_models: list[BedrockModelId] | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop_sequences: list[str] | None = None
    redact_pii: bool | None = None
    language: Literal["en", "es"] | None = None
    cache: CacheOption | None = None


class DocumentSummaryOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    instructions: str | None = None
    model: BedrockModelId | None = None
    fallback_models: list[BedrockModelId] | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    redact_pii: bool | None = None
    language: Literal["en", "es"] | None = None
    cache: CacheOption | None = None


class LlmParameters(BaseModel):
    """Defaults of the generations that use the prompt; a job's options win."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop_sequences: list[str] | None = None


class PromptCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: PromptName
    template: str
    system: str | None = None
    variables: dict[str, Any]
    model: BedrockModelId | None = None
    parameters: LlmParameters | None = None


class PromptVersionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    template: str
    system: str | None = None
    variables: dict[str, Any]
    model: BedrockModelId | None = None
    parameters: LlmParameters | None = None


class SubmitJob(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    pipeline: PipelineName
    input: dict[str, Any]
    options: dict[str, Any] | None = None


class RunPipeline(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    input: dict[str, Any]
    options: dict[str, Any] | None = None


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    filename: str
    content_type: Literal["application/pdf", "image/png", "image/jpeg", "image/tiff"]
    size: int


class Prompt(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    name: str
    version: int
    latest_version: int
    template: str
    system: str | None = None
    variables: dict[str, Any]
    model: str | None = None
    parameters: dict[str, Any]
    created_at: str


class PromptListPrompts(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    name: str
    latest_version: int
    created_at: str
    updated_at: str


class PromptList(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    prompts: list[PromptListPrompts]
    next_token: str | None = None


class PipelineListPipelines(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    name: PipelineName
    mode: Literal["sync", "async"]
    description: str
    input_schema: dict[str, Any]
    options_schema: dict[str, Any]


class PipelineList(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    pipelines: list[PipelineListPipelines]


class ModelList(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    models: list[PredictModel]
    llm_models: list[LlmModel]


class PredictModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    name: str
    description: str
    features_schema: dict[str, Any]
    labels: list[str]
    output_schema: dict[str, Any]


class LlmModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    id: BedrockModelId
    default: bool


class EventSubscriptionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    protocol: Literal["sqs", "https", "email"]
    endpoint: str
    pipelines: list[PipelineName] | None = None
    statuses: list[JobStatus] | None = None


class EventSubscription(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    subscription_id: str
    protocol: Literal["sqs", "https", "email"]
    endpoint: str
    pipelines: list[PipelineName]
    statuses: list[JobStatus]
    status: Literal["confirmed", "pending_confirmation", "deleted"]
    created_at: str


class EventSubscriptionList(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    subscriptions: list[EventSubscription]


class WebSocketTicket(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    ticket: str
    expires_at: str


class UploadUpload(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    url: str
    fields: dict[str, str]


class UploadInput(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    s3_uri: str


class Upload(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    upload: UploadUpload
    input: UploadInput
    expires_at: str


class SubmittedJobLinks(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    self_: str = Field(alias="self")


class SubmittedJob(BaseModel):
    """A job as submitted; a cache hit (200) is the whole job, as GET /jobs/{job_id} shows it."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    job_id: str
    status: JobStatus
    links: SubmittedJobLinks
    pipeline: PipelineName | None = None
    created_at: str | None = None
    updated_at: str | None = None
    result: dict[str, Any] | None = None
    result_url: str | None = None
    usage: Usage | None = None
    cached: bool | None = None


class JobError(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    code: str
    message: str
    step: str | None = None
    retryable: bool


class JobProgress(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    step: str | None = None
    percent: int | None = None


class Job(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    job_id: str
    pipeline: PipelineName
    status: JobStatus
    created_at: str
    updated_at: str
    progress: JobProgress | None = None
    result: (
        TextInsightsResult
        | DocumentInsightsResult
        | ImageInsightsResult
        | PredictResult
        | LlmGenerateResult
        | DocumentSummaryResult
        | None
    ) = None
    result_url: str | None = None
    error: JobError | None = None
    usage: Usage | None = None
    cached: bool | None = None


class UsageItem(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    service: str
    operation: str
    unit: str
    quantity: float
    unit_price_usd: float
    cost_usd: float


class Usage(BaseModel):
    """What a job consumed, from the AI calls it made, priced from the gateway's price table
    (docs/governance.md).
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    items: list[UsageItem]
    ai_cost_usd: float
    cached: bool
    basis: Literal["measured", "estimate"] | None = None


class JobList(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    jobs: list[Job]
    next_token: str | None = None


class RunResult(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    pipeline: PipelineName
    status: Literal["SUCCEEDED"]
    result: dict[str, Any]
    usage: Usage
    cached: bool | None = None


class UsageGroup(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    key: str
    jobs: int
    cache_hits: int | None = None
    failed: int | None = None
    cost_usd: float
    units: dict[str, float]


class LimitUse(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    limit: float | None
    used: float


class JobLimitUse(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    limit: int | None
    used: int


class UsageReportLimits(BaseModel):
    """The tenant's limits and their use now: jobs running, this month's spent plus reserved
    dollars (what the budget is checked against), this month's jobs.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    max_concurrent_jobs: JobLimitUse
    monthly_budget_usd: LimitUse
    monthly_jobs: JobLimitUse


class UsageReport(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    from_: str = Field(alias="from")
    to: str
    currency: Literal["USD"]
    group_by: Literal["day", "pipeline", "service"]
    jobs: int
    cache_hits: int
    failed: int
    cost_usd: float
    groups: list[UsageGroup]
    limits: UsageReportLimits
    month_to_date_usd: float
    month_reserved_usd: float


class TextSpan(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    text: str | None = None
    type: str | None = None
    score: float
    begin: int
    end: int


class TextInsightsResultLanguage(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    code: str | None = None
    score: float | None = None


class TextInsightsResultTranslation(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    source: str | None = None
    target: str | None = None
    text: str | None = None


class TextInsightsResultSentimentScores(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    positive: float | None = None
    negative: float | None = None
    neutral: float | None = None
    mixed: float | None = None


class TextInsightsResultSentiment(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    label: Literal["POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"] | None = None
    scores: TextInsightsResultSentimentScores | None = None


class TextInsightsResultStats(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    characters: int | None = None
    chunks: int | None = None


class TextInsightsResult(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    language: TextInsightsResultLanguage
    translation: TextInsightsResultTranslation | None = None
    sentiment: TextInsightsResultSentiment
    entities: list[TextSpan]
    key_phrases: list[TextSpan]
    pii: list[TextSpan]
    stats: TextInsightsResultStats


class DocumentInsightsResultDocument(BaseModel):
    """Where the full extraction is: an S3 object with {pages: [{page, lines: [{text,
    confidence}]}], text, forms: [{key, value, page}], tables: [{page, rows}]}.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    bucket: str
    key: str
    pages: int
    characters: int
    truncated: bool
    url: str | None = None


class DocumentInsightsResult(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    document: DocumentInsightsResultDocument
    insights: TextInsightsResult | None


class ImageInsightsResultLabels(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    name: str | None = None
    confidence: float | None = None


class ImageInsightsResultText(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    text: str | None = None
    confidence: float | None = None


class ImageInsightsResultFacesBox(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    left: float | None = None
    top: float | None = None
    width: float | None = None
    height: float | None = None


class ImageInsightsResultFaces(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    confidence: float | None = None
    box: ImageInsightsResultFacesBox | None = None


class ImageInsightsResultModeration(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    name: str | None = None
    confidence: float | None = None


class ImageInsightsResult(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    labels: list[ImageInsightsResultLabels]
    text: list[ImageInsightsResultText]
    faces: list[ImageInsightsResultFaces]
    moderation: list[ImageInsightsResultModeration]


class PredictResultPrediction(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    label: str | None = None
    score: float | None = None
    scores: dict[str, float] | None = None


class PredictResult(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    model: str
    prediction: PredictResultPrediction


class LlmGenerateResultUsage(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    input_tokens: int
    output_tokens: int


class LlmGenerateResultPrompt(BaseModel):
    """the prompt template version that was rendered"""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    name: str | None = None
    version: int | None = None


class LlmGenerateResult(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    text: str
    model: str
    stop_reason: Literal[
        "end_turn",
        "tool_use",
        "max_tokens",
        "stop_sequence",
        "guardrail_intervened",
        "content_filtered",
        "malformed_model_output",
        "malformed_tool_use",
        "model_context_window_exceeded",
    ]
    usage: LlmGenerateResultUsage
    fallback_used: bool
    prompt: LlmGenerateResultPrompt | None = None
    pii_masked: int | None = None


class DocumentSummaryResultDocument(BaseModel):
    """Where the full extraction is (as in document-insights)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    bucket: str
    key: str
    pages: int
    characters: int
    truncated: bool
    url: str | None = None


class DocumentSummaryResult(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    document: DocumentSummaryResultDocument
    summary: LlmGenerateResult


class Operation(NamedTuple):
    """One API operation: its method, its path and the model of its answer."""

    method: str
    path: str
    response: type[BaseModel] | None


OPERATIONS: dict[str, Operation] = {
    "listPipelines": Operation("GET", "/pipelines", PipelineList),
    "listModels": Operation("GET", "/models", ModelList),
    "createUpload": Operation("POST", "/uploads", Upload),
    "createWebSocketTicket": Operation("POST", "/ws-tickets", WebSocketTicket),
    "createEventSubscription": Operation("POST", "/subscriptions", EventSubscription),
    "listEventSubscriptions": Operation("GET", "/subscriptions", EventSubscriptionList),
    "deleteEventSubscription": Operation(
        "DELETE", "/subscriptions/{subscription_id}", EventSubscription
    ),
    "submitJob": Operation("POST", "/jobs", SubmittedJob),
    "listJobs": Operation("GET", "/jobs", JobList),
    "getJob": Operation("GET", "/jobs/{job_id}", Job),
    "cancelJob": Operation("DELETE", "/jobs/{job_id}", Job),
    "getUsage": Operation("GET", "/usage", UsageReport),
    "runPipeline": Operation("POST", "/run/{pipeline}", RunResult),
    "createPrompt": Operation("POST", "/prompts", Prompt),
    "listPrompts": Operation("GET", "/prompts", PromptList),
    "getPrompt": Operation("GET", "/prompts/{name}", Prompt),
    "addPromptVersion": Operation("PUT", "/prompts/{name}", Prompt),
    "deletePrompt": Operation("DELETE", "/prompts/{name}", None),
}


PIPELINES = (
    "text-insights",
    "document-insights",
    "image-insights",
    "predict",
    "llm-generate",
    "document-summary",
)


#: Whether a pipeline runs synchronously (POST /run) or only as a job.
PIPELINE_MODES = {
    "text-insights": "sync",
    "document-insights": "async",
    "image-insights": "sync",
    "predict": "sync",
    "llm-generate": "sync",
    "document-summary": "async",
}


for _model in list(globals().values()):
    if hasattr(_model, "model_rebuild") and _model.__module__ == __name__:
        _model.model_rebuild()
