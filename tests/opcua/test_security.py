"""Security matrix: anonymous off, wrong password, untrusted certificate, roles, every secure policy."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from asyncua import Client, ua
from asyncua.crypto import security_policies as sp

from plc_emulator.opcua.certs import create_certificate, load_server_pki
from plc_emulator.opcua.security import (
    ALL_POLICIES,
    ConfigError,
    Role,
    SecurityConfig,
    UserRecord,
    hash_password,
)
from plc_emulator.opcua.server import OpcUaAdapter
from tests.opcua.fakes import FakePlc, make_tagmap

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

PASSWORDS = {"vera": ("viewer-pw", Role.VIEWER), "otto": ("operator-pw", Role.OPERATOR),
             "erin": ("engineer-pw", Role.ENGINEER)}
CLIENT_URI = "urn:plc-emulator:test-client"

POLICY_CLASSES = {
    "Basic256Sha256": sp.SecurityPolicyBasic256Sha256,
    "Aes128_Sha256_RsaOaep": sp.SecurityPolicyAes128Sha256RsaOaep,
    "Aes256_Sha256_RsaPss": sp.SecurityPolicyAes256Sha256RsaPss,
}


@dataclass
class Secured:
    adapter: OpcUaAdapter
    plc: FakePlc
    pki: Path
    trusted: tuple[Path, Path]
    untrusted: tuple[Path, Path]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def secured(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Secured]:
    base = tmp_path_factory.mktemp("pki")
    pki = base / "server"
    certs = []
    for name in ("trusted", "untrusted"):
        cert, key = base / f"{name}.der", base / f"{name}.pem"
        create_certificate(common_name=name, application_uri=CLIENT_URI, hostname="localhost", cert_path=cert,
                           key_path=key, client=True)
        certs.append((cert, key))
    (pki / "trusted").mkdir(parents=True)
    shutil.copy(certs[0][0], pki / "trusted" / "client.der")
    users = {n: UserRecord(name=n, role=r, password_hash=hash_password(pw))
             for n, (pw, r) in PASSWORDS.items()}
    security = SecurityConfig(policies=ALL_POLICIES, anonymous=False, users=users, pki_dir=pki)
    tm = make_tagmap()
    plc = FakePlc(tm).start()
    adapter = OpcUaAdapter(tm, plc, security=security)
    await adapter.start()
    try:
        yield Secured(adapter=adapter, plc=plc, pki=pki, trusted=certs[0], untrusted=certs[1])
    finally:
        await adapter.stop()
        plc.stop()


def client(s: Secured, user: str | None = None, password: str | None = None) -> Client:
    c = Client(s.adapter.endpoint, timeout=10)
    c.application_uri = CLIENT_URI
    if user is not None:
        c.set_user(user)
        c.set_password(password if password is not None else PASSWORDS[user][0])
    return c


async def write_sp(c: Client, ns: int, value: float, node_id: str = "LIC100.sp") -> ua.StatusCode:
    params = ua.WriteParameters()
    params.NodesToWrite.append(ua.WriteValue(NodeId=ua.NodeId(node_id, ns), AttributeId=ua.AttributeIds.Value,
                                             Value=ua.DataValue(ua.Variant(value, ua.VariantType.Double))))
    return (await c.uaclient.write(params))[0]


async def inject(c: Client, ns: int, plant: str) -> Any:
    sim = c.get_node(ua.NodeId(f"{plant}.Simulation", ns))
    return await sim.call_method(ua.NodeId(f"{plant}.Simulation.InjectFault", ns),
                                 "SEP-V100.inlet_pressure", "bias", '{"offset": 1.0}')


class TestLogin:
    async def test_anonymous_refused_when_disabled(self, secured: Secured) -> None:
        with pytest.raises(ua.UaStatusCodeError, match="BadIdentityTokenRejected"):
            async with client(secured):
                pass

    async def test_wrong_password_refused(self, secured: Secured) -> None:
        with pytest.raises(ua.UaStatusCodeError, match="BadUserAccessDenied"):
            async with client(secured, "otto", "not-the-password"):
                pass

    async def test_unknown_user_refused(self, secured: Secured) -> None:
        with pytest.raises(ua.UaStatusCodeError, match="BadUserAccessDenied"):
            async with client(secured, "mallory", "x"):
                pass


class TestRoles:
    async def test_viewer_reads_but_cannot_write(self, secured: Secured) -> None:
        secured.plc.submitted.clear()
        async with client(secured, "vera") as c:
            ns = await c.get_namespace_index(secured.adapter.tagmap.opcua.namespace_uri)
            assert await c.get_node(ua.NodeId("LIC100.sp", ns)).read_value() is not None
            assert (await write_sp(c, ns, 55.0)).name == "BadUserAccessDenied"
            with pytest.raises(ua.UaStatusCodeError, match="BadUserAccessDenied"):
                await inject(c, ns, secured.adapter.tagmap.plant)
        assert secured.plc.submitted == []

    async def test_operator_writes_setpoints_but_cannot_inject_faults(self, secured: Secured) -> None:
        secured.plc.submitted.clear()
        plant = secured.adapter.tagmap.plant
        async with client(secured, "otto") as c:
            ns = await c.get_namespace_index(secured.adapter.tagmap.opcua.namespace_uri)
            assert (await write_sp(c, ns, 42.0)).is_good()
            with pytest.raises(ua.UaStatusCodeError, match="BadUserAccessDenied"):
                await inject(c, ns, plant)
            sim = c.get_node(ua.NodeId(f"{plant}.Simulation", ns))
            with pytest.raises(ua.UaStatusCodeError, match="BadUserAccessDenied"):
                await sim.call_method(ua.NodeId(f"{plant}.Simulation.Pause", ns))
            # simulation control tags are engineer-only too
            params = ua.WriteParameters()
            params.NodesToWrite.append(ua.WriteValue(
                NodeId=ua.NodeId("PLC.step", ns), AttributeId=ua.AttributeIds.Value,
                Value=ua.DataValue(ua.Variant(1, ua.VariantType.UInt32))))
            assert (await c.uaclient.write(params))[0].name == "BadUserAccessDenied"
        assert [(cmd.target, cmd.value) for cmd in secured.plc.submitted] == [("LIC100.sp", 42.0)]

    async def test_engineer_injects_faults(self, secured: Secured) -> None:
        secured.plc.submitted.clear()
        async with client(secured, "erin") as c:
            ns = await c.get_namespace_index(secured.adapter.tagmap.opcua.namespace_uri)
            await inject(c, ns, secured.adapter.tagmap.plant)
        [cmd] = secured.plc.submitted
        assert (cmd.target, dict(cmd.params)) == ("V100.pressure", {"kind": "bias", "offset": 1.0})


class TestSecureChannels:
    @pytest.mark.parametrize("policy", [p for p in ALL_POLICIES if p != "None"])
    async def test_every_policy_and_mode(self, secured: Secured, policy: str) -> None:
        name, mode = policy.split(":")
        c = client(secured, "otto")
        await c.set_security(POLICY_CLASSES[name], str(secured.trusted[0]), str(secured.trusted[1]),
                             server_certificate=str(secured.adapter.server_certificate),
                             mode=getattr(ua.MessageSecurityMode, mode))
        async with c:
            ns = await c.get_namespace_index(secured.adapter.tagmap.opcua.namespace_uri)
            dv = await c.get_node(ua.NodeId("SEP-V100.inlet_pressure", ns)).read_data_value(
                raise_on_bad_status=False)
            assert dv.StatusCode.is_good()

    async def test_untrusted_certificate_refused(self, secured: Secured) -> None:
        c = client(secured, "otto")
        await c.set_security(sp.SecurityPolicyBasic256Sha256, str(secured.untrusted[0]),
                             str(secured.untrusted[1]),
                             server_certificate=str(secured.adapter.server_certificate),
                             mode=ua.MessageSecurityMode.SignAndEncrypt)
        with pytest.raises(ua.UaStatusCodeError, match="BadCertificateUntrusted"):
            async with c:
                pass


class TestPkiErrors:
    async def test_certificate_created_with_san(self, secured: Secured) -> None:
        from cryptography import x509

        cert = x509.load_der_x509_certificate((secured.pki / "own" / "cert.der").read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert secured.adapter.tagmap.opcua.application_uri in san.get_values_for_type(
            x509.UniformResourceIdentifier)
        assert "127.0.0.1" in [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]

    async def test_missing_key_is_one_line(self, tmp_path: Path) -> None:
        (tmp_path / "own").mkdir()
        (tmp_path / "own" / "cert.der").write_bytes(b"\x30\x00")
        with pytest.raises(ConfigError, match=r"private key .*key.pem is missing") as err:
            load_server_pki(tmp_path)
        assert "\n" not in str(err.value)

    async def test_garbage_certificate(self, tmp_path: Path) -> None:
        (tmp_path / "own").mkdir()
        (tmp_path / "own" / "cert.der").write_bytes(b"not a certificate")
        (tmp_path / "own" / "key.pem").write_bytes(b"not a key")
        with pytest.raises(ConfigError, match=r"certificate .*cert.der is not a valid DER certificate"):
            load_server_pki(tmp_path)

    async def test_nobody_could_log_in(self) -> None:
        tm = make_tagmap()
        adapter = OpcUaAdapter(tm, FakePlc(tm), security=SecurityConfig(anonymous=False))
        with pytest.raises(ConfigError, match="nobody could log in"):
            await adapter.build()


async def test_trust_all_accepts_unknown_certificates(tmp_path: Path) -> None:
    cert, key = tmp_path / "c.der", tmp_path / "c.pem"
    create_certificate(common_name="c", application_uri=CLIENT_URI, hostname="localhost", cert_path=cert,
                       key_path=key, client=True)
    tm = make_tagmap()
    plc = FakePlc(tm, paused=True)
    security = SecurityConfig(policies=("Basic256Sha256:SignAndEncrypt",), pki_dir=tmp_path / "pki",
                              trust_all=True)
    async with OpcUaAdapter(tm, plc, security=security) as adapter:
        c = Client(adapter.endpoint, timeout=10)
        c.application_uri = CLIENT_URI
        await c.set_security(sp.SecurityPolicyBasic256Sha256, str(cert), str(key),
                             server_certificate=str(adapter.server_certificate),
                             mode=ua.MessageSecurityMode.SignAndEncrypt)
        async with c:
            assert await c.get_namespace_index(tm.opcua.namespace_uri) > 0
