"""The OpenAPI 3.1 description of the REST API, served at ``/openapi.json`` (browsable at ``/docs``).

Written by hand (the aiohttp helpers produce 3.0 or do not install); a test validates it with
openapi-spec-validator and checks that every operation in it is a registered route and is exercised
against the real runtime.
"""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_document"]

_J = "application/json"
_P = "application/problem+json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(schema: dict[str, Any], desc: str = "OK", code: str = "200") -> dict[str, Any]:
    return {code: {"description": desc, "content": {_J: {"schema": schema}}}}


def _problems(*codes: int) -> dict[str, Any]:
    text = {400: "Bad query", 401: "Not authenticated", 403: "Role may not do this, or cross-site request",
            404: "Unknown tag, device, alarm or fault", 405: "Read-only tag", 409: "Not allowed in the alarm's state",
            413: "Body too large", 415: "Needs Content-Type: application/json or the X-PLC-Request header",
            422: "Value refused (type, range, fault vocabulary)", 503: "Queue full, stopping, or no historian"}
    return {str(c): {"description": text[c], "content": {_P: {"schema": _ref("Problem")}}} for c in codes}


def _body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {_J: {"schema": schema}}}


def _param(name: str, where: str, desc: str, *, required: bool = False, schema: dict[str, Any] | None = None
           ) -> dict[str, Any]:
    return {"name": name, "in": where, "description": desc, "required": required or where == "path",
            "schema": schema or {"type": "string"}}


_TAG = _param("tag", "path", "Tag key DEVICE.tag, e.g. SEP-V100.LIC100_SP")
_FROM = _param("from", "query", "Start, Unix seconds or ISO 8601 (default: to - 1 h)")
_TO = _param("to", "query", "End, Unix seconds or ISO 8601 (default: the current simulated time)")
_LIMIT = _param("limit", "query", "Rows per page, 1..5000 (default 1000)", schema={"type": "integer"})
_WRITE = ["401", "403", "415", "503"]


def _schemas() -> dict[str, Any]:
    num_or_null = {"type": ["number", "null"]}
    time = {"type": "string", "format": "date-time"}
    return {
        "Problem": {"type": "object", "description": "RFC 9457 problem details",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                                   "status": {"type": "integer"}, "detail": {"type": "string"},
                                   "instance": {"type": "string"}, "tag": {"type": "string"},
                                   "reason": {"type": "string"}}},
        "Quality": {"type": "object", "required": ["name", "code", "severity"],
                    "properties": {"name": {"type": "string", "examples": ["Good", "BadSensorFailure"]},
                                   "code": {"type": "integer", "description": "OPC UA StatusCode"},
                                   "severity": {"enum": ["good", "uncertain", "bad"]}}},
        "Reading": {"type": "object", "required": ["tag", "device", "value", "unit", "quality", "source_time"],
                    "properties": {"tag": {"type": "string"}, "device": {"type": "string"},
                                   "value": {**num_or_null, "description": "null when the quality is Bad"},
                                   "unit": {"type": "string"}, "quality": _ref("Quality"), "source_time": time,
                                   "state": {"type": ["string", "null"]}}},
        "Readings": {"type": "object", "required": ["tick", "time", "readings"],
                     "properties": {"tick": {"type": "integer"}, "time": time,
                                    "readings": {"type": "array", "items": _ref("Reading")}}},
        "Tag": {"type": "object", "required": ["tag", "device", "signal", "kind", "unit", "range", "access"],
                "properties": {"tag": {"type": "string"}, "device": {"type": "string"}, "name": {"type": "string"},
                               "signal": {"type": "string"}, "description": {"type": "string"},
                               "kind": {"enum": ["analog", "discrete", "multistate", "counter"]},
                               "unit": {"type": "string"}, "range": {"type": "array", "items": {"type": "number"}},
                               "access": {"enum": ["ro", "rw"]},
                               "write_limits": {"type": ["array", "null"], "items": {"type": "number"}},
                               "states": {"type": "array", "items": {"type": "string"}},
                               "precision": {"type": "integer"},
                               "modbus": {"type": ["object", "null"]}, "opcua": {"type": "object"},
                               "alarm_limits": {"type": ["object", "null"]}}},
        "WriteAccepted": {"type": "object", "properties": {"tag": {"type": "string"}, "value": {"type": "number"},
                                                           "applies_at_tick": {"type": "integer"}}},
        "Alarm": {"type": "object", "required": ["id", "state", "active", "acked"],
                  "properties": {"id": {"type": "string"}, "tag": {"type": "string"}, "kind": {"type": "string"},
                                 "message": {"type": "string"},
                                 "state": {"enum": ["NORMAL", "UNACKED", "ACKED", "RTN_UNACKED", "SHELVED",
                                                    "SUPPRESSED", "OUT_OF_SERVICE"]},
                                 "active": {"type": "boolean"}, "acked": {"type": "boolean"},
                                 "condition": {"type": "boolean"}, "confirmed": {"type": "boolean"},
                                 "priority": {"type": "integer"}, "severity": {"type": "integer"},
                                 "since": {"type": ["string", "null"]},
                                 "shelved_until": {"type": ["string", "null"]}}},
        "Alarms": {"type": "object", "properties": {
            "tick": {"type": "integer"}, "active_count": {"type": "integer"}, "unacked_count": {"type": "integer"},
            "highest_priority": {"type": "integer"}, "alarms": {"type": "array", "items": _ref("Alarm")}}},
        "Shelve": {"type": "object", "required": ["duration", "reason"],
                   "properties": {"duration": {"type": ["number", "string"], "examples": [1800, "30m"]},
                                  "reason": {"type": "string"}}},
        "Sample": {"type": "object", "properties": {"time": time, "t": {"type": "number"}, "value": num_or_null,
                                                    "quality": _ref("Quality")}},
        "History": {"type": "object", "required": ["tag", "samples", "gaps", "next"], "properties": {
            "tag": {"type": "string"}, "from": time, "to": time, "samples": {"type": "array", "items": _ref("Sample")},
            "gaps": {"type": "array", "items": {"type": "object", "properties": {
                "time": time, "t": {"type": "number"}, "samples_lost": {"type": "integer"},
                "reason": {"type": "string"}}}},
            "next": {"type": ["string", "null"], "description": "pass as ?page= for the next page"}}},
        "Events": {"type": "object", "properties": {"events": {"type": "array", "items": {"type": "object"}}}},
        "Fault": {"type": "object", "description": "A scenario-file event without 'at' (applies at the next tick)",
                  "properties": {"action": {"enum": ["inject_fault", "force_slug", "start_degradation", "trip_pump"],
                                            "default": "inject_fault"},
                                 "target": {"type": "string", "examples": ["V100.oil_level", "LIC100.valve"]},
                                 "value": {"type": "number"},
                                 "params": {"type": "object", "examples": [{"kind": "freeze"},
                                                                           {"kind": "drift", "rate": 0.01}]}}},
        "Faults": {"type": "object", "properties": {"faults": {"type": "array", "items": {"type": "object"}}}},
        "Accepted": {"type": "object", "properties": {"id": {"type": "string"}, "action": {"type": "string"},
                                                      "applies_at_tick": {"type": "integer"}}},
        "Sim": {"type": "object", "properties": {"paused": {"type": "boolean"}, "speed": {"type": "number"},
                                                 "tick": {"type": "integer"}, "time": time,
                                                 "period": {"type": "number"}}},
        "SimAction": {"type": "object", "required": ["action"], "properties": {
            "action": {"enum": ["pause", "resume", "step", "speed"]},
            "ticks": {"type": "integer", "minimum": 1, "description": "step: ticks to advance"},
            "speed": {"type": "number", "minimum": 0, "description": "speed: x real time, 0 = max"}}},
        "Token": {"type": "object", "properties": {"access_token": {"type": "string"},
                                                   "token_type": {"const": "Bearer"},
                                                   "expires_in": {"type": "number"}, "role": {"type": "string"}}},
        "Login": {"type": "object", "required": ["username", "password"],
                  "properties": {"username": {"type": "string"}, "password": {"type": "string"}}},
        "Overview": {"type": "object", "description": "Units, instruments, loops and streams drawn by the HMI"},
    }


def _paths() -> dict[str, Any]:
    return {
        "/readings": {"get": {
            "operationId": "getReadings", "summary": "Current value, unit, quality and source time of every tag",
            "parameters": [_param("device", "query", "Only this device"),
                           _param("tag", "query", "Only these tags (repeat or comma-separate)")],
            "responses": {**_ok(_ref("Readings")), **_problems(401, 404)}}},
        "/readings/{tag}": {"get": {
            "operationId": "getReading", "summary": "One tag's reading", "parameters": [_TAG],
            "responses": {**_ok(_ref("Reading")), **_problems(401, 404)}}},
        "/tags": {"get": {
            "operationId": "getTags", "summary": "The tag map: types, ranges, limits, Modbus address, OPC UA node id",
            "parameters": [_param("device", "query", "Only this device")],
            "responses": {**_ok({"type": "array", "items": _ref("Tag")}), **_problems(401)}}},
        "/tags/{tag}": {"put": {
            "operationId": "putTag", "summary": "Write a tag (operator; runtime.* engineer); applied at the next tick",
            "parameters": [_TAG],
            "requestBody": _body({"type": "object", "required": ["value"], "properties": {
                "value": {"type": ["number", "boolean", "string"], "description": "EU value, 0/1 or a state name"}}}),
            "responses": {**_ok(_ref("WriteAccepted"), "Queued", "202"), **_problems(401, 403, 404, 405, 415, 422,
                                                                                     503)}}},
        "/overview": {"get": {
            "operationId": "getOverview", "summary": "The plant as the HMI draws it (units, instruments, loops)",
            "responses": {**_ok(_ref("Overview")), **_problems(401)}}},
        "/alarms": {"get": {
            "operationId": "getAlarms", "summary": "ISA-18.2 state of every alarm",
            "responses": {**_ok(_ref("Alarms")), **_problems(401)}}},
        "/alarms/{id}/ack": {"post": {
            "operationId": "ackAlarm", "summary": "Acknowledge (operator)",
            "parameters": [_param("id", "path", "Alarm id, e.g. SEP-V100.inlet_pressure.HI")],
            "responses": {**_ok(_ref("Accepted"), "Queued", "202"), **_problems(401, 403, 404, 409, 415, 503)}}},
        "/alarms/{id}/shelve": {"post": {
            "operationId": "shelveAlarm", "summary": "Timed shelving with a reason (operator)",
            "parameters": [_param("id", "path", "Alarm id")], "requestBody": _body(_ref("Shelve")),
            "responses": {**_ok(_ref("Accepted"), "Queued", "202"),
                          **_problems(401, 403, 404, 409, 415, 422, 503)}}},
        "/alarms/{id}/unshelve": {"post": {
            "operationId": "unshelveAlarm", "summary": "Unshelve (operator)",
            "parameters": [_param("id", "path", "Alarm id")],
            "responses": {**_ok(_ref("Accepted"), "Queued", "202"), **_problems(401, 403, 404, 409, 415, 503)}}},
        "/history": {"get": {
            "operationId": "getHistory", "summary": "Raw samples of one tag from the historian, paged, gaps shown",
            "parameters": [_param("tag", "query", "Tag key", required=True), _FROM, _TO, _LIMIT,
                           _param("page", "query", "The 'next' token of the previous page")],
            "responses": {**_ok(_ref("History")), **_problems(400, 401, 404, 503)}}},
        "/events": {"get": {
            "operationId": "getEvents", "summary": "Historian events (alarms, faults, writes) in a window",
            "parameters": [_FROM, _TO, _LIMIT],
            "responses": {**_ok(_ref("Events")), **_problems(400, 401, 503)}}},
        "/faults": {
            "get": {"operationId": "getFaults", "summary": "Active faults",
                    "responses": {**_ok(_ref("Faults")), **_problems(401)}},
            "post": {"operationId": "postFault", "summary": "Inject a fault or scenario action (engineer)",
                     "requestBody": _body(_ref("Fault")),
                     "responses": {**_ok(_ref("Accepted"), "Queued", "202"), **_problems(401, 403, 415, 422, 503)}}},
        "/faults/{id}": {"delete": {
            "operationId": "deleteFault", "summary": "Clear a fault (engineer); * clears all",
            "parameters": [_param("id", "path", "Fault id (its target), or *")],
            "responses": {**_ok(_ref("Accepted"), "Queued", "202"), **_problems(401, 403, 404, 415, 503)}}},
        "/sim": {
            "get": {"operationId": "getSim", "summary": "Pacing state",
                    "responses": {**_ok(_ref("Sim")), **_problems(401)}},
            "post": {"operationId": "postSim", "summary": "Pause, resume, step or set the speed (engineer)",
                     "requestBody": _body(_ref("SimAction")),
                     "responses": {**_ok(_ref("Sim")), **_problems(401, 403, 415, 422, 503)}}},
        "/stream": {"get": {
            "operationId": "getStream",
            "summary": "Server-Sent Events: 'snapshot' (full state) then one 'changes' event per scan",
            "responses": {"200": {"description": "text/event-stream",
                                  "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                          **_problems(401)}}},
        "/token": {"post": {
            "operationId": "postToken", "summary": "Exchange a user name and password for an expiring bearer token",
            "security": [], "requestBody": _body(_ref("Login")),
            "responses": {**_ok(_ref("Token")), **_problems(401, 415)}}},
        "/health": {"get": {
            "operationId": "getHealth", "summary": "200 while scans are on time and every check passes, else 503",
            "security": [], "responses": {**_ok({"type": "object"}),
                                          "503": {"description": "Unhealthy",
                                                  "content": {_J: {"schema": {"type": "object"}}}}}}},
        "/metrics": {"get": {
            "operationId": "getMetrics", "summary": "Prometheus text format", "security": [],
            "responses": {"200": {"description": "Metrics",
                                  "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    }


def openapi_document(title: str = "plc-emulator") -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{title} REST API", "version": "1",
                 "description": "Readings, tags, alarms, history, faults and simulation control of the emulated "
                                "PLC. State-changing requests need Content-Type: application/json (or the "
                                "X-PLC-Request header) and are refused from other origins."},
        "servers": [{"url": "/"}],
        "security": [{}, {"bearer": []}, {"basic": []}],
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "token from POST /token"},
                "basic": {"type": "http", "scheme": "basic", "description": "loopback or TLS only"},
            },
        },
    }
