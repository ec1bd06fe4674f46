"""AWS error facts that botocore's service models do not carry, each with its source.

botocore's models (``botocore/data/<service>/<version>/service-2.json``, what the AWS SDKs
are generated from) list every operation's modeled errors with their HTTP status and fault.
What they leave out is here, with where it comes from:

* the *common errors* every AWS API can answer although no operation lists them
  (``ThrottlingException``, ``ServiceUnavailable``...);
* how Step Functions names the error of a Task: aws-sdk integrations, and the optimized
  Lambda, DynamoDB and Step Functions integrations;
* the ``States.*`` error names of the Amazon States Language.

The state machines' Retry/Catch names (tests/infrastructure/test_error_names.py) and the
errors the local providers answer with (``aigw.local.services.providers``) are checked against the
models and these tables. docs/aws-fidelity.md lists every fact with its source.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any, Literal

import botocore.session
from botocore.model import OperationModel, ServiceModel, StructureShape

Kind = Literal["throttling", "server", "client"]

_session_lock = threading.Lock()


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def service_model(service: str) -> ServiceModel:
    """botocore's model of a service, by boto3 name (``sagemaker-runtime``)."""
    with _session_lock:
        return _session().get_service_model(service)


@functools.cache
def _raw_shapes(service: str) -> dict[str, Any]:
    # The loaded model keeps a shape's "fault" flag (server-side error) only in its source.
    with _session_lock:
        loader = _session().get_component("data_loader")
        return dict(loader.load_service_model(service, "service-2")["shapes"])


def operation_model(service: str, operation: str) -> OperationModel:
    return service_model(service).operation_model(operation[:1].upper() + operation[1:])


# ----------------------------------------------------------------------------------------
# Common errors


@dataclass(frozen=True)
class CommonError:
    """An error every AWS API can answer: its HTTP status and whether a retry can help."""

    status: int
    kind: Kind


#: "Common Errors" of the AWS API references, the same list for every service (e.g.
#: https://docs.aws.amazon.com/comprehend/latest/APIReference/CommonErrors.html). Codes
#: as sent on the wire; their HTTP status as the page gives it.
COMMON_ERRORS: dict[str, CommonError] = {
    "AccessDeniedException": CommonError(400, "client"),
    "IncompleteSignature": CommonError(400, "client"),
    "InternalFailure": CommonError(500, "server"),
    "InvalidAction": CommonError(400, "client"),
    "InvalidClientTokenId": CommonError(403, "client"),
    "NotAuthorized": CommonError(400, "client"),
    "OptInRequired": CommonError(403, "client"),
    "RequestExpired": CommonError(400, "client"),
    "ServiceUnavailable": CommonError(503, "server"),
    "ThrottlingException": CommonError(400, "throttling"),
    "ValidationError": CommonError(400, "client"),
}

#: Errors a service answers on every operation besides the common ones, which its model does
#: not list: S3's own codes ("List of error codes", https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html),
#: among them the 403 ``AccessDenied`` a GetObject of a missing key answers a caller without
#: ``s3:ListBucket`` (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html).
#: DynamoDB's ``SerializationException`` (400): a request whose JSON does not fit the
#: operation's input, such as a plain value where an ``AttributeValue`` map belongs ("Unexpected
#: value type in payload"), as DynamoDB answered a PutItem of ``{"psd_segid": "45"}``
#: (https://github.com/JuliaCloud/AWSSDK.jl/issues/11) and as dynalite's tests, written against
#: DynamoDB, expect (https://github.com/architect/dynalite, test/helpers.js, ``ValueStruct``).
SERVICE_ERRORS: dict[str, dict[str, CommonError]] = {
    "dynamodb": {"SerializationException": CommonError(400, "client")},
    "s3": {
        "AccessDenied": CommonError(403, "client"),
        "InternalError": CommonError(500, "server"),
        "SlowDown": CommonError(503, "throttling"),
    },
}

#: Each service's Common Errors page, the source of COMMON_ERRORS for it.
COMMON_ERRORS_PAGES: dict[str, str] = {
    "comprehend": "https://docs.aws.amazon.com/comprehend/latest/APIReference/CommonErrors.html",
    "translate": "https://docs.aws.amazon.com/translate/latest/APIReference/CommonErrors.html",
    "textract": "https://docs.aws.amazon.com/textract/latest/dg/CommonErrors.html",
    "rekognition": "https://docs.aws.amazon.com/rekognition/latest/APIReference/CommonErrors.html",
    "sagemaker-runtime": "https://docs.aws.amazon.com/sagemaker/latest/APIReference/CommonErrors.html",
    "bedrock-runtime": "https://docs.aws.amazon.com/bedrock/latest/APIReference/CommonErrors.html",
    "dynamodb": "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/CommonErrors.html",
    "lambda": "https://docs.aws.amazon.com/lambda/latest/api/CommonErrors.html",
    "stepfunctions": "https://docs.aws.amazon.com/step-functions/latest/apireference/CommonErrors.html",
    "s3": "https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html",
    "apigatewaymanagementapi": "https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/CommonErrors.html",
}

#: Modeled errors that mean "slow down": a retry after a back-off succeeds. Their names say
#: so (the models mark no throttling trait on them); ModelNotReadyException is SageMaker's
#: "still loading, try again" (HTTP 429).
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "RequestLimitExceeded",
        "ExecutionLimitExceeded",
        "KmsThrottlingException",
        "ModelNotReadyException",
    }
)


@dataclass(frozen=True)
class ServiceErrorFacts:
    """What AWS answers for one error code of one operation."""

    code: str
    status: int
    sender_fault: bool
    kind: Kind
    #: The error shape's member that carries the message (``Message``/``message``): botocore
    #: puts it at the top of the parsed error too. None when the shape has none.
    message_member: str | None
    modeled: bool


def _code(shape: StructureShape) -> str:
    return str(shape.error_code or shape.name)


def modeled_errors(service: str, operation: str) -> dict[str, StructureShape]:
    """The operation's modeled errors by their code."""
    return {_code(shape): shape for shape in operation_model(service, operation).error_shapes}


def error_facts(service: str, operation: str, code: str) -> ServiceErrorFacts:
    """What AWS answers when ``operation`` fails with ``code``: from the operation's model,
    else from the common errors. Anything else is not an error the operation can answer."""
    shape = modeled_errors(service, operation).get(code)
    if shape is not None:
        error = shape.metadata.get("error", {})
        server = bool(_raw_shapes(service)[shape.name].get("fault"))
        # Without an explicit status, a client error is a 400 and a server fault a 500.
        status = int(error.get("httpStatusCode") or (500 if server else 400))
        if code in THROTTLING_CODES:
            kind: Kind = "throttling"
        elif server or status >= 500:
            kind = "server"
        else:
            kind = "client"
        member = next((name for name in shape.members if name.lower() == "message"), None)
        return ServiceErrorFacts(code, status, not server, kind, member, modeled=True)
    common = COMMON_ERRORS.get(code) or SERVICE_ERRORS.get(service, {}).get(code)
    if common is not None:
        # No shape: the parsed error has only its Error {Code, Message}.
        return ServiceErrorFacts(
            code, common.status, common.status < 500, common.kind, None, modeled=False
        )
    raise LookupError(
        f"{service} {operation} cannot answer {code}: it is neither one of the operation's "
        f"modeled errors ({', '.join(sorted(modeled_errors(service, operation)))}) nor a "
        "common error (nor one the service answers on every operation)"
    )


# ----------------------------------------------------------------------------------------
# Step Functions: the error names of Task states


#: Step Functions names an aws-sdk task's error ``<Prefix>.<Name>``, the prefix being the
#: service's client name in the AWS SDK for Java 2.x ("DynamoDb", "AcmPca"); the
#: integration name is that prefix in lower case. Source:
#: https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html
#: (its examples AcmPca.ResourceNotFoundException and S3.BucketAlreadyExistsException) and
#: https://docs.aws.amazon.com/step-functions/latest/dg/connect-ddb.html ("the exception
#: prefix will be DynamoDb" for the aws-sdk integration). The services aigw calls:
AWS_SDK_ERROR_PREFIXES: dict[str, str] = {
    "comprehend": "Comprehend",
    "translate": "Translate",
    "textract": "Textract",
    "rekognition": "Rekognition",
    "sagemakerruntime": "SageMakerRuntime",
    "bedrockruntime": "BedrockRuntime",
    "dynamodb": "DynamoDb",
    "s3": "S3",
    "sfn": "Sfn",
}

#: The same page: "add the Exception suffix for potential error names ... even if the suffix
#: isn't yet part of the service-provided error name" (BucketAlreadyExists becomes
#: S3.BucketAlreadyExistsException).
AWS_SDK_SUFFIX_RULE = (
    "https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html"
)


def aws_sdk_error_name(prefix: str, code: str) -> str:
    """How Step Functions names ``code`` from an aws-sdk task (S3.BucketAlreadyExistsException)."""
    return f"{prefix}.{code if code.endswith('Exception') else code + 'Exception'}"


def aws_sdk_base_error_name(prefix: str) -> str:
    """The name of an error whose code the service model lacks (a common error such as
    Comprehend's ThrottlingException): the SDK's base exception, ``DynamoDb.DynamoDbException``.

    Observed on AWS: a task denied by IAM (AccessDeniedException, a common error no DynamoDB
    or S3 operation models) fails with DynamoDb.DynamoDbException and S3.S3Exception
    (https://dev.to/aws-builders/handling-errors-with-stepfunctions-sns-sdk-integration-34g8);
    the AWS SDK for Java 2.x raises ``<Client>Exception`` for a code its model lacks.
    """
    return f"{prefix}.{prefix}Exception"


#: Lambda's optimized integration (``lambda:invoke``): the service errors Step Functions
#: documents for it, besides ``Lambda.<Invoke error>`` and the function's own errors
#: (``errorType``: the exception class name). Source:
#: https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
LAMBDA_ERRORS = frozenset(
    {
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
        "Lambda.Unknown",
    }
)
LAMBDA_ERRORS_PAGE = (
    "https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html"
)

#: The optimized DynamoDB integration prefixes DynamoDB's error with "DynamoDB" (upper-case
#: DB), where the aws-sdk integration writes "DynamoDb": the connect-ddb page.
DYNAMODB_OPTIMIZED_PREFIX = "DynamoDB"
DYNAMODB_OPTIMIZED_PAGE = "https://docs.aws.amazon.com/step-functions/latest/dg/connect-ddb.html"

#: Nested executions (``states:startExecution``): "Use StepFunctions.ExecutionLimitExceeded
#: on Retry to ensure that your execution is started".
STEP_FUNCTIONS_OPTIMIZED_PREFIX = "StepFunctions"
STEP_FUNCTIONS_OPTIMIZED_PAGE = (
    "https://docs.aws.amazon.com/step-functions/latest/dg/concepts-nested-workflows.html"
)


def optimized_error_names(prefix: str, code: str) -> frozenset[str]:
    """An optimized integration's names for a service error code.

    The pages above spell it as the code (StepFunctions.ExecutionLimitExceeded,
    DynamoDB.ConditionalCheckFailedException); the SDK behind the integration names its
    exception class with the suffix (ExecutionLimitExceededException), which is what
    Step Functions' interpreter as ported by LocalStack reports for nested executions.
    A Retry names both where they differ.
    """
    return frozenset({f"{prefix}.{code}", aws_sdk_error_name(prefix, code)})


#: The Amazon States Language's own names (https://states-language.net/spec.html#appendix-a)
#: and the two Step Functions adds (States.DataLimitExceeded, States.Runtime:
#: https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
STATES_ERRORS = frozenset(
    {
        "States.ALL",
        "States.HeartbeatTimeout",
        "States.Timeout",
        "States.TaskFailed",
        "States.Permissions",
        "States.ResultPathMatchFailure",
        "States.ParameterPathFailure",
        "States.QueryEvaluationError",
        "States.BranchFailed",
        "States.NoChoiceMatched",
        "States.IntrinsicFailure",
        "States.ExceedToleratedFailureThreshold",
        "States.ItemReaderFailed",
        "States.ResultWriterFailed",
        "States.DataLimitExceeded",
        "States.Runtime",
    }
)
