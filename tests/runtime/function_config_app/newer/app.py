import os

# Read once, at the cold start: a new execution environment reads it again.
MODE_AT_IMPORT = os.environ.get("MODE")

type Answer = dict[str, str | None]  # Python 3.12 syntax: this function runs in a worker


def handler(event, context) -> Answer:
    if os.environ.get("MODE") == "fail":
        raise RuntimeError("failing as configured")
    return {"import": MODE_AT_IMPORT, "invocation": os.environ.get("MODE")}
