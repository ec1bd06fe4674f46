"""Summarise a record (a type parameter with a default: Python 3.13+ syntax)."""

type Summary[T = str] = dict[str, T]


def handler(event, context) -> Summary:
    return {"summary": event["text"][:20] + "..."}
