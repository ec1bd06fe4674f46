"""The AWS limits the gateway sizes its work by, each with its source.

Where botocore's model carries a limit (a member's ``max``, or its documentation), the test
tests/gateway/test_limits.py reads it from the model; docs/aws-fidelity.md lists them all.
Where a page writes "MB" botocore's numbers are binary (Rekognition's 5 MB of image bytes is
``max: 5242880``), so MB here is MiB; Comprehend's "5 KB" is taken as 5,000 bytes, the smaller
reading, and the chunks stay under both.
"""

from __future__ import annotations

KIB = 1024
MIB = 1024 * KIB

# ---------------------------------------------------------------------------- Comprehend
#: DetectSentiment's Text: "The maximum string size is 5 KB" (botocore comprehend/2017-11-27;
#: https://docs.aws.amazon.com/comprehend/latest/dg/guidelines-and-limits.html).
COMPREHEND_SENTIMENT_BYTES = 5_000
#: DetectEntities, DetectKeyPhrases, DetectPiiEntities, DetectDominantLanguage: 100 KB.
COMPREHEND_TEXT_BYTES = 100_000
#: DetectDominantLanguage's Text: "The string must contain at least 20 characters".
LANGUAGE_DETECTION_MIN_CHARACTERS = 20

# ---------------------------------------------------------------------------- Translate
#: TranslateText's Text: "a maximum of 10,000 bytes" (botocore translate/2017-07-01).
TRANSLATE_TEXT_BYTES = 10_000

# ---------------------------------------------------------------------------- Rekognition
#: https://docs.aws.amazon.com/rekognition/latest/dg/limits.html
REKOGNITION_FORMATS = ("jpeg", "png")
#: "Maximum image size stored as an Amazon S3 object is limited to 15 MB".
REKOGNITION_S3_IMAGE_BYTES = 15 * MIB
#: Image.Bytes: max 5242880 (botocore rekognition/2016-06-27).
REKOGNITION_IMAGE_BYTES = 5 * MIB
#: "The minimum image dimensions is 80 pixels for both height and width."
REKOGNITION_MIN_PIXELS = 80
#: "The maximum image dimensions for DetectLabels [and DetectModerationLabels] is 10K pixels".
REKOGNITION_MAX_PIXELS = 10_000

# ---------------------------------------------------------------------------- Textract
#: https://docs.aws.amazon.com/textract/latest/dg/limits-document.html (asynchronous
#: operations): JPEG, PNG, PDF and TIFF; images 10 MB; PDF and TIFF 500 MB and 3,000 pages;
#: at most 10,000 pixels on any side.
TEXTRACT_FORMATS = ("pdf", "tiff", "jpeg", "png")
TEXTRACT_IMAGE_BYTES = 10 * MIB
TEXTRACT_DOCUMENT_BYTES = 500 * MIB
TEXTRACT_MAX_PAGES = 3_000
TEXTRACT_MAX_PIXELS = 10_000

# ---------------------------------------------------------------------------- payloads
#: A state's input or output, a task's parameters or result: 256 KB of UTF-8
#: (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html).
STEP_FUNCTIONS_PAYLOAD_BYTES = 262_144
#: A synchronous Lambda invocation's request: 6 MB, which Lambda enforces as 6,291,456 bytes
#: (RequestEntityTooLargeException, HTTP 413;
#: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
LAMBDA_SYNC_PAYLOAD_BYTES = 6_291_456
#: A REST API's request body
#: (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html).
API_GATEWAY_PAYLOAD_BYTES = 10 * MIB
