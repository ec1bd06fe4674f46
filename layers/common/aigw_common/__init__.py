"""Code every aigw function shares: models, errors, the job repository, text handling.

Deployed as a Lambda layer (`layers/common`, built by `sam build`), so it is on every
function's import path exactly as Lambda puts a layer's `python/` directory there.
"""
