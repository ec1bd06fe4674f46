"""Add the record's length."""


def handler(event, context):
    return {**event, "length": len(event["text"])}
