"""Lambda: handlers run in this process (`bridge`), with per-invocation module state where a
library keeps it per sandbox (`sandbox_state`)."""
