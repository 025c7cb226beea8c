"""Users, roles, tokens, Basic only on loopback/TLS, and refusal of cross-site requests."""

from __future__ import annotations

import base64
from types import SimpleNamespace
from typing import Any

import pytest
from multidict import CIMultiDict

from plc_emulator.http.auth import Authenticator
from plc_emulator.http.problems import Problem
from plc_emulator.opcua.security import Role, UserRecord
from tests.http.conftest import PASSWORDS, Rig

pytestmark = pytest.mark.integration

SP = "SEP-V100.LIC100_SP"
ESD = "PLC.esd_trip"


async def token(rig: Rig, user: str) -> dict[str, str]:
    status, body, _ = await rig.call("POST", "/token", body={"username": user, "password": PASSWORDS[user]})
    assert status == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] > 0
    return {"Authorization": f"Bearer {body['access_token']}"}


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def test_viewer_is_refused_the_write_and_nothing_is_applied(secured: Rig) -> None:
    before = secured.value(SP)
    for hdrs in ({}, await token(secured, "vic")):  # anonymous is viewer once there is a users file
        status, problem, _ = await secured.call("PUT", f"/tags/{SP}", body={"value": 60}, headers=hdrs)
        assert status == 403
        assert problem["reason"] == "ACCESS_DENIED"
    assert (await secured.call("GET", "/readings", headers=await token(secured, "vic")))[0] == 200
    await secured.step()
    assert secured.value(SP) == before
    assert secured.plc.snapshot.commands == ()


async def test_roles_operator_writes_engineer_drives_the_simulation(secured: Rig) -> None:
    op, eng = await token(secured, "olga"), await token(secured, "ed")
    assert (await secured.call("PUT", f"/tags/{SP}", body={"value": 60}, headers=op))[0] == 202
    assert (await secured.call("POST", "/sim", body={"action": "pause"}, headers=op))[0] == 403
    assert (await secured.call("POST", "/faults", body={"action": "trip_pump"}, headers=op))[0] == 403
    assert (await secured.call("PUT", "/tags/PLC.speed", body={"value": 2}, headers=op))[0] == 403
    assert (await secured.call("POST", "/sim", body={"action": "speed", "speed": 2}, headers=eng))[0] == 200
    await secured.step()
    assert secured.value(SP) == 60.0


async def test_bad_credentials(secured: Rig) -> None:
    status, _, _ = await secured.call("POST", "/token", body={"username": "olga", "password": "nope"})
    assert status == 401
    assert (await secured.call("POST", "/token", body={"username": "nobody", "password": "x"}))[0] == 401
    status, problem, headers = await secured.call("GET", "/readings", headers={"Authorization": "Bearer forged"})
    assert status == 401
    assert "Bearer" in headers["WWW-Authenticate"]
    assert problem["status"] == 401
    assert (await secured.call("GET", "/readings", headers={"Authorization": "Digest x"}))[0] == 401


async def test_basic_on_loopback(secured: Rig) -> None:
    status, _, _ = await secured.call("PUT", f"/tags/{SP}", body={"value": 55}, headers=basic("olga", "operator-pw"))
    assert status == 202
    assert (await secured.call("GET", "/readings", headers=basic("olga", "wrong")))[0] == 401


def _request(headers: dict[str, str], *, remote: str, secure: bool = False) -> Any:
    return SimpleNamespace(headers=CIMultiDict(headers), remote=remote, secure=secure)


async def test_basic_is_refused_off_loopback_without_tls(users: dict[str, UserRecord]) -> None:
    auth = Authenticator(users, Role.VIEWER)
    hdrs = basic("olga", "operator-pw")
    with pytest.raises(Problem) as exc:
        await auth.principal(_request(hdrs, remote="192.0.2.7"))
    assert exc.value.status == 401
    assert exc.value.slug == "basic-needs-tls"
    assert (await auth.principal(_request(hdrs, remote="192.0.2.7", secure=True))).role is Role.OPERATOR
    assert (await auth.principal(_request(hdrs, remote="::1"))).name == "olga"


async def test_tokens_expire(users: dict[str, UserRecord]) -> None:
    now = [1000.0]
    auth = Authenticator(users, None, token_ttl=60.0, clock=lambda: now[0])
    tok, ttl = auth.issue((await auth.check_password("ed", "engineer-pw")) or pytest.fail("login"))
    hdrs = {"Authorization": f"Bearer {tok}"}
    assert (await auth.principal(_request(hdrs, remote="127.0.0.1"))).role is Role.ENGINEER
    now[0] += ttl
    with pytest.raises(Problem) as exc:
        await auth.principal(_request(hdrs, remote="127.0.0.1"))
    assert exc.value.status == 401
    with pytest.raises(Problem):  # anonymous off
        await auth.principal(_request({}, remote="127.0.0.1"))


async def test_cross_site_form_post_cannot_trip_the_esd(plant: Rig) -> None:
    """Anonymous is engineer here (no users file), so only the CSRF rules stand in the way."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    evil = {"Origin": "http://evil.example"}
    cases = [
        ({**form, **evil}, "value=1", 403),  # a cross-site HTML form
        (form, "value=1", 415),  # no Origin, but a form content type and no custom header
        ({"Content-Type": "text/plain"}, '{"value": 1}', 415),  # the text/plain JSON trick
        ({"Content-Type": "application/json", **evil}, '{"value": 1}', 403),  # script on another site
        ({"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, '{"value": 1}', 403),
    ]
    for hdrs, body, want in cases:
        status, problem, _ = await plant.call("PUT", f"/tags/{ESD}", body=body, headers=hdrs)
        assert status == want, (hdrs, problem)
    assert (await plant.call("POST", "/sim", body="action=pause", headers={**form, **evil}))[0] == 403
    assert (await plant.call("DELETE", "/faults/*"))[0] == 415  # no body, no header
    await plant.step(2)
    assert plant.value("PLC.esd_active") == 0.0
    assert plant.plc.paused
    assert plant.plc.snapshot.commands == ()
    own = {"Content-Type": "application/json", "Origin": plant.base}
    assert (await plant.call("PUT", f"/tags/{ESD}", body='{"value": 1}', headers=own))[0] == 202


async def test_cors_is_off(plant: Rig) -> None:
    headers = {"Origin": "http://evil.example", "Access-Control-Request-Method": "PUT"}
    status, _, resp_headers = await plant.call("OPTIONS", f"/tags/{SP}", headers=headers)
    assert status >= 400
    assert "Access-Control-Allow-Origin" not in resp_headers
    status, _, resp_headers = await plant.call("GET", "/readings", headers={"Origin": "http://evil.example"})
    assert status == 200
    assert "Access-Control-Allow-Origin" not in resp_headers
