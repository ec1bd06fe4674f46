import os


def handler(event, context):
    if event.get("fail"):
        raise RuntimeError(f"asked to fail: {event['fail']}")
    return {name: os.environ.get(name) for name in ("FLAG", "ENABLED", "COUNT")}
