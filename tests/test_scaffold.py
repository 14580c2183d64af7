"""``grade rubric init``: which registered version the scaffold takes as the graded one when the
reference solution's registry holds several (a Staging beside Production, aliases beside
``@champion``)."""

from __future__ import annotations

import shutil

from grader.scaffold import read_reference


def _client(store, monkeypatch):
    """A client of the copy; MLflow resolves a ``models:/m-...`` source through the global URI."""
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{store / 'mlflow.db'}"
    monkeypatch.chdir(store.parent)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri), previous


def test_production_wins_over_a_newer_staging_version_and_champion_over_other_aliases(
    reference_store_sqlite, tmp_path, monkeypatch
):
    import mlflow

    store = tmp_path / "ref"
    shutil.copytree(reference_store_sqlite, store)
    client, previous = _client(store, monkeypatch)
    try:
        production, newer = _register_more(client)
    finally:
        mlflow.set_tracking_uri(previous)
    found = read_reference(store, "california_housing")
    assert (found.stage, found.alias) == ("Production", "")  # not the newest version in any stage

    client, previous = _client(store, monkeypatch)
    try:
        for version in client.search_model_versions("name='housing-best'"):
            client.transition_model_version_stage("housing-best", version.version, "None")
        client.set_registered_model_alias("housing-best", "backup", newer)  # sorts first
        client.set_registered_model_alias("housing-best", "champion", production)
    finally:
        mlflow.set_tracking_uri(previous)
    found = read_reference(store, "california_housing")
    assert (found.stage, found.alias) == ("", "champion")


def _register_more(client) -> tuple[str, str]:
    """A newer version of the Production model's run, in stage Staging: (Production's, the new one)."""
    [production] = client.get_latest_versions("housing-best", stages=["Production"])
    newer = client.create_model_version("housing-best", production.source, production.run_id)
    client.transition_model_version_stage("housing-best", newer.version, "Staging")
    return production.version, newer.version
