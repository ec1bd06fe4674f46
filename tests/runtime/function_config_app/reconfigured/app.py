import os

# Read once, at the cold start: a new execution environment reads it again.
MODE_AT_IMPORT = os.environ.get("MODE")


def handler(event, context):
    if os.environ.get("MODE") == "fail":
        raise RuntimeError("failing as configured")
    return {"import": MODE_AT_IMPORT, "invocation": os.environ.get("MODE")}
