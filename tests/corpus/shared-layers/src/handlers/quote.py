"""Price a basket with the pricing layer, logging through Powertools (its layer)."""

from aws_lambda_powertools import Logger
from pricing import total

from handlers.common import basket

logger = Logger()


@logger.inject_lambda_context
def handler(event, context):
    items = basket(event)
    logger.info("quoting", extra={"lines": len(items)})
    return {"items": items, "net": total(items)}
