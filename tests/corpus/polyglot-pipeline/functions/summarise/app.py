"""Summarise a record (a type alias statement: Python 3.12+ syntax)."""

type Summary = dict[str, str]


def handler(event, context) -> Summary:
    return {"summary": event["text"][:20] + "..."}
