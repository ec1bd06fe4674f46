"""Sleep longer than the function's Timeout (a type parameter default: Python 3.13+)."""

import time

type Seconds[T = float] = T


def handler(event, context):
    pause: Seconds = float(event.get("seconds", 0))
    time.sleep(pause)
    return {"slept": pause, "left_ms": context.get_remaining_time_in_millis()}
