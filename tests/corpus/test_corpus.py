"""Anybody's SAM + Step Functions app, unmodified, on the offline runtime.

Each app of tests/corpus (written here, after shapes common in public SAM samples) is
deployed as it is, and its spec.yaml is run against it: what was not run and why, then the
steps a user would take and what AWS documents they should see."""

from __future__ import annotations

import pytest
from corpus_spec import CORPUS, AppSpec, SpecRun, apps

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


def test_aigw_local_serves_any_template_without_the_gateways_parts() -> None:
    """Given a SAM app that is not aigw, when `aigw local --template` serves it, then the
    banner has its API's URL and what was deployed, no tenant or key, and the API answers
    over HTTP as API Gateway would."""
    import httpx

    from aigw.local_gateway.testing import aigw_local

    template = CORPUS / "orders-api" / "template.yaml"
    with aigw_local("--template", str(template), "--providers", "none") as banner:
        answer = httpx.get(f"{banner['REST API']}/orders/o-404", timeout=30)

    assert banner["REST API"].endswith("/Prod")
    assert "API key" not in banner and "Tenant" not in banner
    assert "resources created" in banner["Deployed"] or "emulated" in banner["Deployed"]
    assert answer.status_code == 404
    assert answer.json() == {"message": "no order o-404"}


def test_the_corpus_is_the_size_the_issue_asks_for_and_each_app_says_what_it_exercises() -> None:
    assert len(APPS) >= 15
    assert all(spec.summary and spec.exercises and spec.steps for spec in APPS)
    assert all(isinstance(line, str) for spec in APPS for line in spec.exercises + spec.limits)


def test_the_runtime_doc_lists_every_corpus_app() -> None:
    doc = (CORPUS.parents[1] / "docs" / "local-runtime.md").read_text()
    assert [spec.name for spec in APPS if f"(../tests/corpus/{spec.name}/)" not in doc] == []
