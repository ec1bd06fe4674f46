"""What every handler reads from its event."""


def basket(event: dict) -> dict[str, int]:
    return {name: int(count) for name, count in event.get("items", {}).items()}
