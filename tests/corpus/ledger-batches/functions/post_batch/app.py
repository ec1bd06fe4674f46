"""Post one batch of ledger entries: the child workflow's input is the batch."""


def handler(event, context):
    batch = event["BatchInput"]
    entries = event["Items"]
    refused = [entry["index"] for entry in entries if entry["cents"] < 0]
    if refused:
        raise ValueError(f"entries {refused} are negative")
    return {
        "account": batch["account"],
        "currency": batch["currency"],
        "first": entries[0]["index"],
        "count": len(entries),
        "cents": sum(entry["cents"] for entry in entries),
    }
