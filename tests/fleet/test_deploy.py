"""deploy/: the StatefulSet and compose file pass offline validation and agree with the fleet's shards."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tests.runtime._proc import CLI, clean_env

DEPLOY = ROOT / "deploy"
K8S_VERSION = "1.33.0"  # the pod-index label the StatefulSet reads needs >= 1.28
SCHEMA = DEPLOY / "schemas" / "compose-spec.json"
VENV = ROOT / ".venv" / "bin"


def k8s_docs() -> list[dict[str, Any]]:
    return [d for f in sorted((DEPLOY / "kubernetes").glob("*.yaml"))
            for d in yaml.safe_load_all(f.read_text(encoding="utf-8")) if d]


def check_compose(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VENV / "check-jsonschema"), "--schemafile", str(SCHEMA), str(path)],
                          capture_output=True, text=True, timeout=120, check=False, env=clean_env())


class TestKubernetes:
    def test_every_manifest_passes_strict_validation(self) -> None:
        import kubernetes_validate

        docs = k8s_docs()
        assert {d["kind"] for d in docs} == {"StatefulSet", "Service"}
        for doc in docs:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)

    def test_the_validator_can_fail(self) -> None:
        import kubernetes_validate

        sts = next(d for d in k8s_docs() if d["kind"] == "StatefulSet")
        sts["spec"]["replica"] = 3  # a typo: unknown field
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(sts, K8S_VERSION, strict=True)

    def test_statefulset_shape(self) -> None:
        """Ordinal selects the shard, K = replicas, headless Service, PVC on DATA_DIR, probes on /health."""
        sts = next(d for d in k8s_docs() if d["kind"] == "StatefulSet")
        svc = next(d for d in k8s_docs() if d["kind"] == "Service")
        spec = sts["spec"]
        (c,) = spec["template"]["spec"]["containers"]
        fleet, flag, shard = c["args"]
        assert flag == "--shard"
        assert shard == f"$(SHARD_INDEX)/{spec['replicas']}"
        assert (ROOT / fleet).is_file()  # the image's WORKDIR is the repository layout (Dockerfile)
        env = {e["name"]: e for e in c["env"]}
        assert env["SHARD_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"] == (
            "metadata.labels['apps.kubernetes.io/pod-index']")
        assert svc["spec"]["clusterIP"] == "None"
        assert spec["serviceName"] == svc["metadata"]["name"]
        (claim,) = spec["volumeClaimTemplates"]
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        assert mounts[claim["metadata"]["name"]] == env["DATA_DIR"]["value"]
        http = next(p for p in c["ports"] if p["name"] == "http")
        assert str(http["containerPort"]) == env["API_PORT"]["value"]
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            assert c[probe]["httpGet"] == {"path": "/health", "port": "http"}
        assert {"cpu", "memory"} <= set(c["resources"]["requests"])

    def test_gateway_ports_are_declared(self) -> None:
        from plc_emulator.fleet import load_fleet

        sts = next(d for d in k8s_docs() if d["kind"] == "StatefulSet")
        (c,) = sts["spec"]["template"]["spec"]["containers"]
        fleet = load_fleet(ROOT / c["args"][0])
        declared = {p["containerPort"] for p in c["ports"]}
        assert {g.port for g in fleet.gateways} <= declared


class TestCompose:
    def test_passes_the_vendored_compose_schema(self) -> None:
        r = check_compose(DEPLOY / "compose.yaml")
        assert r.returncode == 0, r.stdout + r.stderr

    def test_the_validator_can_fail(self, tmp_path: Path) -> None:
        bad = tmp_path / "compose.yaml"
        bad.write_text((DEPLOY / "compose.yaml").read_text().replace("restart:", "restartt:"), encoding="utf-8")
        r = check_compose(bad)
        assert r.returncode == 1
        assert "restartt" in r.stdout + r.stderr

    def test_shards_match_the_statefulset(self) -> None:
        doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
        services = doc["services"]
        sts = next(d for d in k8s_docs() if d["kind"] == "StatefulSet")
        k = sts["spec"]["replicas"]
        assert sorted(s["command"][2] for s in services.values()) == [f"{i}/{k}" for i in range(k)]
        for key in ("API_PORT", "OPCUA_PORT"):
            assert len({s["environment"][key] for s in services.values()}) == k  # one host: all differ


def test_three_shard_processes_serve_disjoint_rtus_without_an_address_clash() -> None:
    """Three processes started as the StatefulSet would (shard I/3) expand to disjoint, clash-free sets."""
    fleet = str(ROOT / "tag_maps" / "fleets" / "oil_field.yaml")
    procs = [subprocess.Popen([CLI, "fleet", "expand", fleet, "--shard", f"{i}/3", "--format", "json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
             for i in range(3)]
    shards = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        shards.append(json.loads(out))
    ids = [r["id"] for s in shards for r in s]
    assert len(ids) == len(set(ids)) == 1000
    listeners = [{(r["modbus_port"], r["unit"]) for r in s} for s in shards]
    ports = [{r["modbus_port"] for r in s} for s in shards]
    for i, j in ((0, 1), (0, 2), (1, 2)):
        assert not listeners[i] & listeners[j]
        assert not ports[i] & ports[j]


def test_validators_are_installed() -> None:
    assert shutil.which("check-jsonschema", path=str(VENV)) is not None
