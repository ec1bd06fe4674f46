from pathlib import Path

from aigw.local.testing import runtime_fixture

APP_TEMPLATE = Path(__file__).parent / "app" / "template.yaml"

app = runtime_fixture(APP_TEMPLATE, time_scale=0.001)
