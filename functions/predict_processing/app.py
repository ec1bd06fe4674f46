"""The predict workflow's pre- and post-processing: one function for both stages, so the
second call of an execution finds it warm.

Events (from statemachines/predict.asl.json):
``{"stage": "pre", "model", "features"}`` -> ``{"model", "endpoint_name", "content_type",
"accept", "body"}``; ``{"stage": "post", "model", "body"}`` -> ``{"model", "prediction"}``.
UnknownModel, InvalidFeatures and InvalidModelOutput reach Step Functions by name.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field, TypeAdapter

from aigw_common.lazy import LazyTracer
from aigw_common.predict_models import load_catalogue, postprocess, preprocess


class PreprocessRequest(BaseModel):
    stage: Literal["pre"]
    model: str
    features: Any  # checked by preprocess, which names every bad feature


class PostprocessRequest(BaseModel):
    stage: Literal["post"]
    model: str
    body: str


_requests: TypeAdapter[PreprocessRequest | PostprocessRequest] = TypeAdapter(
    Annotated[PreprocessRequest | PostprocessRequest, Field(discriminator="stage")]
)

# The model catalogue is the layer's (aigw_common/predict_models.json), the one the API
# validates submissions against; a broken one fails the cold start, not a later request.
catalogue = load_catalogue()
logger = Logger()
tracer = LazyTracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = _requests.validate_python(event)
    logger.append_keys(model=request.model, stage=request.stage)  # never the features
    model = catalogue.get(request.model)
    if isinstance(request, PreprocessRequest):
        return preprocess(model, request.features).model_dump()
    return postprocess(model, request.body).model_dump()
