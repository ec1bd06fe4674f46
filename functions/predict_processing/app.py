"""The predict workflow's pre- and post-processing: one function for both stages, so the
second call of an execution finds it warm.

Events (from statemachines/predict.asl.json):
``{"stage": "pre", "model", "features"}`` -> ``{"model", "endpoint_name", "content_type",
"accept", "body"}``; ``{"stage": "post", "model", "body"}`` -> ``{"model", "prediction"}``.
UnknownModel, InvalidFeatures and InvalidModelOutput reach Step Functions by name.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from aigw_common.lazy import LazyTracer
from aigw_common.predict_models import load_catalogue, postprocess, preprocess
from aigw_common.state_input import Fields

STAGES = ("pre", "post")

# The model catalogue is the layer's (aigw_common/predict_models.json), the one the API
# validates submissions against; a broken one fails the cold start, not a later request.
catalogue = load_catalogue()
logger = Logger()
tracer = LazyTracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    stage, name, payload = read_request(event)
    logger.append_keys(model=name, stage=stage)  # never the features
    model = catalogue.get(name)
    if stage == "pre":
        return asdict(preprocess(model, payload))
    return asdict(postprocess(model, payload))


def read_request(event: Any) -> tuple[str, str, Any]:
    """The stage, the model's name and the stage's input: the features (checked by
    preprocess, which names every bad one) or the endpoint's answer."""
    fields = Fields("PredictRequest", event, extra="ignore")
    stage = fields.choice("stage", STAGES)
    name = fields.string("model")
    payload = None
    if stage == "pre":
        payload = fields.value("features")
    elif stage == "post":
        payload = fields.string("body")
    fields.check()
    return stage, name, payload
