"""Book one leg of a trip; the reference names the leg and the trip."""


def handler(event, context):
    return {"reference": f"{event['leg']}-{event['trip']}"}
