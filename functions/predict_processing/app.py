"""The predict workflow's pre- and post-processing: one function for both stages, so the
second call of an execution finds it warm.

Events (from statemachines/predict.asl.json):
``{"stage": "pre", "model", "features"}`` -> ``{"model", "endpoint_name", "content_type",
"accept", "body"}``; ``{"stage": "post", "model", "body"}`` -> ``{"model", "prediction"}``.
UnknownModel, InvalidFeatures and InvalidModelOutput reach Step Functions by name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from processing import ModelCatalogue, postprocess, preprocess
from pydantic import BaseModel, Field, TypeAdapter


class Settings(BaseModel):
    """The environment, validated at cold start."""

    #: The models configuration, shipped with the function (functions/predict_processing/
    #: models.json); a relative path is taken from the function's code directory.
    models_config: Path = Field(alias="MODELS_CONFIG")
    task_root: Path = Field(alias="LAMBDA_TASK_ROOT", default=Path(__file__).parent)

    def models_file(self) -> Path:
        path = (
            self.models_config
            if self.models_config.is_absolute()
            else (self.task_root / self.models_config)
        )
        if not path.is_file():
            raise RuntimeError(f"MODELS_CONFIG: {path} is not a file")
        return path


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

settings = Settings.model_validate(dict(os.environ))
# A broken configuration fails the cold start, not some later request.
catalogue = ModelCatalogue.model_validate_json(settings.models_file().read_bytes())
logger = Logger()
tracer = Tracer()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = _requests.validate_python(event)
    logger.append_keys(model=request.model, stage=request.stage)  # never the features
    model = catalogue.get(request.model)
    if isinstance(request, PreprocessRequest):
        return preprocess(model, request.features).model_dump()
    return postprocess(model, request.body).model_dump()
