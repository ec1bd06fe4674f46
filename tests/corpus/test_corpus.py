"""Anybody's SAM + Step Functions app, unmodified, on the offline runtime.

Each app of tests/corpus (written here, after shapes common in public SAM samples) is
deployed as it is, and its spec.yaml is run against it: what was not run and why, then the
steps a user would take and what AWS documents they should see."""

from __future__ import annotations

import pytest
from corpus_spec import AppSpec, SpecRun, apps

from aigw.local.runtime import LocalRuntime

APPS = apps()


@pytest.mark.parametrize("spec", APPS, ids=[spec.name for spec in APPS])
def test_the_app_deploys_and_behaves_as_on_aws(spec: AppSpec) -> None:
    with LocalRuntime(
        spec.directory / "template.yaml",
        parameters=spec.parameters,
        stack_name=spec.name,
        time_scale=spec.time_scale,
    ) as runtime:
        not_run = {lid: why for lid, _, why in runtime.report.not_run}
        assert sorted(not_run) == sorted(spec.not_run), runtime.report.describe()
        for logical_id, reason in spec.not_run.items():
            assert reason in not_run[logical_id], (logical_id, not_run[logical_id])
        notes = dict(runtime.report.notes)
        assert sorted(notes) == sorted(spec.notes), runtime.report.describe()
        for logical_id, note in spec.notes.items():
            assert note in notes[logical_id], (logical_id, notes[logical_id])
        SpecRun(runtime, spec).run()
