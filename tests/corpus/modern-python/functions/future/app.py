"""A function for a runtime newer than any interpreter installed here."""

type Greeting[T = str] = T


def handler(event, context) -> Greeting:
    return "hello"
