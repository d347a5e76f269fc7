"""Freshness checks declared by asset key (`assets.freshness`) against the assets the fields define."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from impressox_pipelines.assets.freshness import FRESHNESS_WINDOWS, freshness_checks
from impressox_pipelines.sensors.freshness import build_freshness_checks_sensor


def test_every_freshness_target_is_an_asset_of_the_code_location():
    from impressox_pipelines.definitions import build_definitions

    graph = build_definitions().resolve_asset_graph()
    for key in FRESHNESS_WINDOWS:
        node = graph.get(dg.AssetKey(key))
        assert node.is_materializable, f"{key} is not defined by any field (only a stub from its check)"
        assert graph.get_check_keys_for_assets({dg.AssetKey(key)}), f"{key} has no freshness check"


def test_a_stale_asset_fails_its_check_and_a_fresh_one_passes():
    checks = freshness_checks()
    sensor = build_freshness_checks_sensor(checks)
    assert sensor.name == "freshness_checks_sensor"
    price_check = next(c for c in checks if {k.asset_key for k in c.check_keys} == {dg.AssetKey("price_snapshots")})
    assert FRESHNESS_WINDOWS["price_snapshots"] <= timedelta(minutes=15)

    with dg.instance_for_test() as instance:
        # Only the check runs; the asset itself is the market field's (here an external spec).
        run_check = {"assets": [dg.AssetSpec("price_snapshots"), price_check], "instance": instance,
                     "selection": dg.AssetSelection.checks_for_assets("price_snapshots")}
        never = dg.materialize(**run_check)
        evaluation = never.get_asset_check_evaluations()[0]
        assert not evaluation.passed and "never" in (evaluation.description or "").lower()

        instance.report_runless_asset_event(dg.AssetMaterialization("price_snapshots"))
        fresh = dg.materialize(**run_check)
        assert fresh.get_asset_check_evaluations()[0].passed
