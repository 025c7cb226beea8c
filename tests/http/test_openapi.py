"""The OpenAPI 3.1 document validates, matches the routes, and every operation answers as documented."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import validate

from plc_emulator.http import ROUTES
from tests.http.conftest import Rig

pytestmark = pytest.mark.integration

_HTML = {("GET", "/"), ("GET", "/docs"), ("GET", "/openapi.json")}


def _template(path: str) -> str:
    return re.sub(r"\{(\w+):[^}]*\}", r"{\1}", path)


def _operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(m.upper(), p) for p, item in doc["paths"].items() for m in item}


async def test_document_validates_and_matches_the_routes(plant: Rig) -> None:
    status, doc, _ = await plant.call("GET", "/openapi.json")
    assert status == 200
    assert doc["openapi"] == "3.1.0"
    validate(doc)
    routes: set[tuple[str, str]] = set()
    for method, path, _, _ in ROUTES:
        if (method, path) in _HTML:
            continue
        m = re.fullmatch(r"(.*)\{action:([^}]*)\}", path)
        if m:
            routes |= {(method, _template(m.group(1)) + a) for a in m.group(2).split("|")}
        else:
            routes.add((method, _template(path)))
    assert routes == _operations(doc)


# one request per documented operation (body, expected status)
_CALLS: dict[tuple[str, str], tuple[str, Any, int]] = {
    ("GET", "/readings"): ("/readings", None, 200),
    ("GET", "/readings/{tag}"): ("/readings/SEP-V100.oil_level", None, 200),
    ("GET", "/tags"): ("/tags", None, 200),
    ("PUT", "/tags/{tag}"): ("/tags/SEP-V100.LIC100_SP", {"value": 50}, 202),
    ("GET", "/overview"): ("/overview", None, 200),
    ("GET", "/alarms"): ("/alarms", None, 200),
    ("POST", "/alarms/{id}/ack"): ("/alarms/PMP-P100.status.TRIPPED/ack", {}, 202),
    ("POST", "/alarms/{id}/shelve"): ("/alarms/PMP-P100.status.TRIPPED/shelve", {"duration": 60, "reason": "t"}, 202),
    ("POST", "/alarms/{id}/unshelve"): ("/alarms/PMP-P100.status.TRIPPED/unshelve", {}, 202),
    ("GET", "/history"): ("/history?tag=SEP-V100.oil_level", None, 200),
    ("GET", "/events"): ("/events", None, 200),
    ("GET", "/faults"): ("/faults", None, 200),
    ("POST", "/faults"): ("/faults", {"target": "V100.pressure", "params": {"kind": "freeze"}}, 202),
    ("DELETE", "/faults/{id}"): ("/faults/*", {}, 202),
    ("GET", "/sim"): ("/sim", None, 200),
    ("POST", "/sim"): ("/sim", {"action": "pause"}, 200),
    ("POST", "/token"): ("/token", {"username": "nobody", "password": "x"}, 401),
    ("GET", "/health"): ("/health", None, 200),
    ("GET", "/metrics"): ("/metrics", None, 200),
}


async def test_every_operation_answers_a_documented_status(plant: Rig) -> None:
    doc = (await plant.call("GET", "/openapi.json"))[1]
    await plant.call("POST", "/faults", body={"action": "trip_pump"})
    await plant.step(2)
    for op in sorted(_operations(doc)):
        if op == ("GET", "/stream"):
            continue  # test_stream.py reads it event by event
        path, body, want = _CALLS[op]
        status, answer, headers = await plant.call(op[0], path, body=body)
        assert status == want, (op, answer)
        assert str(status) in doc["paths"][op[1]][op[0].lower()]["responses"], op
        if status >= 400:
            assert headers["Content-Type"].startswith("application/problem+json")
        await plant.step()
    async with plant.session.get(plant.base + "/stream") as r:
        assert r.status == 200
        assert "200" in doc["paths"]["/stream"]["get"]["responses"]


async def test_docs_page_and_hmi_are_served(plant: Rig) -> None:
    for path, marker in (("/docs", "openapi.json"), ("/", "hmi.js")):
        async with plant.session.get(plant.base + path) as r:
            text = await r.text()
            assert r.status == 200
            assert r.content_type == "text/html"
            assert marker in text
            assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
