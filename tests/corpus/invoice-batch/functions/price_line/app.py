"""Price one invoice line: quantity times unit price, in cents."""


def handler(event, context):
    line = event["line"]
    if line.get("unit_cents", 0) < 0:
        raise ValueError(f"negative price on line {event['position']}")
    return {
        "position": event["position"],
        "cents": line["quantity"] * line["unit_cents"],
        "currency": event["currency"],
    }
