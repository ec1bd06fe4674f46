"""The price table the cost model uses: AWS list prices in us-east-1, first tier, no free tier.

Taken on 2026-11-27 from memory of the AWS pricing pages and checked where a public copy of
the page could be searched (marked ``verified``); re-check before quoting money. Tiers
beyond the first and free tiers are ignored (they only lower both designs' costs alike).
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_DATE = "2026-11-27"
REGION = "us-east-1"


@dataclass(frozen=True)
class Price:
    key: str
    dollars: float
    unit: str
    source: str


_TABLE = [
    # -------------------------------------------------------------- gateway overhead
    Price(
        "sfn_standard_transition",
        0.025 / 1000,
        "state transition (Standard; retries count)",
        "aws.amazon.com/step-functions/pricing (verified: $0.025 per 1,000)",
    ),
    Price(
        "sfn_express_request",
        1.00 / 1e6,
        "Express execution request",
        "aws.amazon.com/step-functions/pricing (verified: $1.00 per million)",
    ),
    Price(
        "sfn_express_gb_second",
        0.00001667,
        "Express GB-second (duration rounded up to 100 ms, memory in 64 MB chunks)",
        "aws.amazon.com/step-functions/pricing (verified: first 1,000 GB-hours)",
    ),
    Price(
        "lambda_request",
        0.20 / 1e6,
        "Lambda invocation",
        "aws.amazon.com/lambda/pricing (memory)",
    ),
    Price(
        "lambda_arm_gb_second",
        0.0000133334,
        "Lambda GB-second, arm64 (billed per 1 ms)",
        "aws.amazon.com/lambda/pricing (memory; first 7.5 billion GB-s/month)",
    ),
    Price(
        "dynamodb_wru",
        0.625 / 1e6,
        "DynamoDB on-demand write request unit (1 KB; transactional x2)",
        "aws.amazon.com/dynamodb/pricing (verified: after the Nov 2024 cut)",
    ),
    Price(
        "dynamodb_rru",
        0.125 / 1e6,
        "DynamoDB on-demand read request unit (4 KB strong, 2 x 4 KB eventual)",
        "aws.amazon.com/dynamodb/pricing (verified: after the Nov 2024 cut)",
    ),
    Price(
        "sns_publish",
        0.50 / 1e6,
        "SNS publish request (each 64 KB chunk; PublishBatch = 1 request per 64 KB)",
        "aws.amazon.com/sns/pricing (memory); deliveries to Lambda are free",
    ),
    # -------------------------------------------------------------- front door and storage
    Price(
        "apigw_rest_request",
        3.50 / 1e6,
        "API Gateway REST API request",
        "aws.amazon.com/api-gateway/pricing (memory; first 333 million)",
    ),
    Price(
        "apigw_ws_message",
        1.00 / 1e6,
        "API Gateway WebSocket message (32 KB increments)",
        "aws.amazon.com/api-gateway/pricing (memory)",
    ),
    Price(
        "s3_put",
        0.005 / 1000,
        "S3 PUT/COPY/POST/LIST request",
        "aws.amazon.com/s3/pricing (memory; S3 Standard)",
    ),
    Price(
        "s3_get",
        0.0004 / 1000,
        "S3 GET and other requests",
        "aws.amazon.com/s3/pricing (memory; S3 Standard)",
    ),
    # -------------------------------------------------------------- AI services
    Price(
        "comprehend_unit",
        0.0001,
        "Comprehend NLP/PII unit of 100 characters, 3-unit minimum per request",
        "aws.amazon.com/comprehend/pricing (verified: units and 3-unit minimum; price memory)",
    ),
    Price(
        "translate_character",
        15.00 / 1e6,
        "Translate character (standard real-time)",
        "aws.amazon.com/translate/pricing (memory)",
    ),
    Price(
        "textract_detect_page",
        1.50 / 1000,
        "Textract DetectDocumentText page (sync or async; first million pages)",
        "aws.amazon.com/textract/pricing (memory)",
    ),
    Price(
        "textract_analyze_tables_forms_page",
        65.00 / 1000,
        "Textract AnalyzeDocument page with TABLES + FORMS (first million pages)",
        "aws.amazon.com/textract/pricing (memory)",
    ),
    Price(
        "rekognition_image",
        0.001,
        "Rekognition image API call (DetectLabels/Text/Faces/ModerationLabels, first 1M)",
        "aws.amazon.com/rekognition/pricing (memory)",
    ),
    Price(
        "sagemaker_data_gb",
        0.016,
        "SageMaker real-time inference data processed, per GB in + out",
        "aws.amazon.com/sagemaker/pricing (memory); endpoint instance hours are fixed, "
        "not per job, and are left out",
    ),
]

PRICES: dict[str, Price] = {price.key: price for price in _TABLE}


def price(key: str) -> float:
    return PRICES[key].dollars
