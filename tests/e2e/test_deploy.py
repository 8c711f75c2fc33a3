"""The deployment recipes in docs/deploy, checked as far as this machine allows:
- the configuration reference names every flag and `DESKGATE_*` variable the binary has;
- the example nginx load balancer passes `nginx -t`;
- the systemd unit passes `systemd-analyze verify`;
- the Kubernetes manifest parses and holds together (selectors, ports, probes answered by a real
  deskgate, secrets referenced rather than inlined), without a cluster;
- the Containerfile's stages fit together. It cannot be built here: there is no container engine.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import BIN, ROOT

DEPLOY = ROOT / "docs" / "deploy"
REFERENCE = (DEPLOY / "configuration.md").read_text()


def documented(name: str) -> bool:
    return f"`{name}`" in REFERENCE


def test_the_configuration_reference_names_every_flag_and_variable():
    help_text = "".join(
        subprocess.run([BIN, *args, "--help"], capture_output=True, text=True, check=True).stdout
        for args in ([], ["serve"])
    )
    flags = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", help_text)) - {"--help", "--version"}
    # Variables read directly (secrets, the log filter) do not show in --help: take every
    # DESKGATE_* name the source spells out.
    sources = "".join(p.read_text() for p in (ROOT / "crates" / "deskgate" / "src").rglob("*.rs"))
    variables = set(re.findall(r"DESKGATE_[A-Z_]+", help_text)) | set(re.findall(r'"(DESKGATE_[A-Z_]+)"', sources))
    assert {"--listen", "--database-url", "DESKGATE_VAULT_KEY", "DESKGATE_LOG"} <= flags | variables
    missing = sorted(name for name in flags | variables if not documented(name))
    assert not missing, f"configuration.md does not describe: {missing}"


def test_the_example_load_balancer_passes_nginx_t():
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "nginx is not installed (scripts/test installs Debian's nginx)"
    prefix = Path(tempfile.mkdtemp(prefix="deskgate-nginx-"))
    # A throwaway certificate and log path stand in for the production ones.
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=deskgate.example.com", "-keyout", str(prefix / "key.pem"), "-out", str(prefix / "cert.pem")],
                   check=True, capture_output=True)
    conf = (DEPLOY / "nginx.conf").read_text()
    for production, stand_in in [("/etc/ssl/deskgate/fullchain.pem", prefix / "cert.pem"),
                                 ("/etc/ssl/deskgate/privkey.pem", prefix / "key.pem"),
                                 ("/var/log/nginx/", f"{prefix}/")]:
        assert production in conf
        conf = conf.replace(production, str(stand_in))
    # MCP URLs carry their token: no log format may hold the raw request line or URI.
    for log_format in re.findall(r"log_format\s+\w+\s+((?:'[^']*'\s*)+);", conf):
        assert not re.search(r"\$(request|uri|request_uri|args|query_string)\b", log_format), log_format
    assert re.search(r"^\s*error_log\s+\S+\s+crit;", conf, re.MULTILINE), "the error log quotes request lines"
    (prefix / "nginx.conf").write_text(conf)
    checked = subprocess.run([nginx, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", "stderr",
                              "-g", f"pid {prefix}/nginx.pid;"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr and "test is successful" in checked.stderr


def test_the_systemd_unit_verifies():
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    unit = (DEPLOY / "deskgate.service").read_text()
    assert "ExecStart=/usr/local/bin/deskgate serve" in unit
    assert "EnvironmentFile=/etc/deskgate/deskgate.env" in unit
    # Verify points at the binary just built (the unit's path exists only once installed).
    path = Path(tempfile.mkdtemp(prefix="deskgate-unit-")) / "deskgate.service"
    path.write_text(unit.replace("/usr/local/bin/deskgate", str(Path(BIN).resolve())))
    verified = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True)
    # Unknown or misspelled settings are only warnings: any output at all is a failure.
    assert verified.returncode == 0 and not verified.stderr.strip() and not verified.stdout.strip(), (
        verified.stdout + verified.stderr)
    for line in (DEPLOY / "deskgate.env.example").read_text().splitlines():
        if m := re.match(r"#?(DESKGATE_[A-Z_]+)=", line):
            assert documented(m.group(1)), m.group(1)


def test_the_kubernetes_manifest_holds_together():
    documents = [d for d in yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text()) if d]
    by_kind = {d["kind"]: d for d in documents}
    assert set(by_kind) == {"Deployment", "Service", "PodDisruptionBudget", "Ingress"}, set(by_kind)
    for d in documents:
        assert d["apiVersion"] and d["metadata"]["name"] == "deskgate"

    deployment = by_kind["Deployment"]
    spec = deployment["spec"]
    assert spec["replicas"] >= 2
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    (container,) = spec["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    env = {e["name"]: e for e in container["env"]}
    assert env["DESKGATE_LISTEN"]["value"].endswith(f":{ports['http']}")
    for name in env:
        assert documented(name), f"{name} is not in configuration.md"
    # Secrets are referenced, never written into the manifest.
    for name in ("DESKGATE_DATABASE_URL", "DESKGATE_VAULT_KEY", "DESKGATE_ADMIN_TOKEN"):
        assert "value" not in env[name] and env[name]["valueFrom"]["secretKeyRef"]["name"] == "deskgate", name
    probes = {kind: container[kind]["httpGet"] for kind in ("readinessProbe", "livenessProbe", "startupProbe")}
    assert probes["readinessProbe"]["path"] == "/readyz"
    assert probes["livenessProbe"]["path"] == "/healthz"
    for probe in probes.values():
        assert probe["port"] in ports
    assert spec["template"]["spec"]["securityContext"]["runAsNonRoot"] is True

    service = by_kind["Service"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert all(p["targetPort"] in ports for p in service["spec"]["ports"])
    assert by_kind["PodDisruptionBudget"]["spec"]["minAvailable"] < spec["replicas"]
    # The access log would record MCP tokens (they are in the URL).
    assert by_kind["Ingress"]["metadata"]["annotations"]["nginx.ingress.kubernetes.io/enable-access-log"] == "false"
    backend = by_kind["Ingress"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}

    # The probe paths are real: a running deskgate answers them.
    workdir = Path(tempfile.mkdtemp(prefix="deskgate-probes-"))
    process = subprocess.Popen(
        [BIN, "serve", "--listen", "127.0.0.1:0", "--database-url", f"sqlite:{workdir / 'probe.db'}",
         "--vault-key-file", str(workdir / "probe.key"), "--log-format", "json"],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        address = None
        deadline = time.time() + 30
        while address is None and time.time() < deadline:
            line = process.stderr.readline()
            if m := re.search(r'"listen":"([^"]+)"', line):
                address = m.group(1)
            elif not line and process.poll() is not None:
                break
        assert address, "deskgate did not start"
        for kind, probe in probes.items():
            with urllib.request.urlopen(f"http://{address}{probe['path']}", timeout=10) as response:
                assert response.status == 200, kind
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_the_containerfile_stages_fit_together():
    text = (DEPLOY / "Containerfile").read_text()
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?", text, re.MULTILINE)
    assert len(stages) == 2 and stages[0][1] == "build", stages
    assert "cargo build --release --locked -p deskgate" in text
    assert re.search(r"^COPY --from=build /usr/local/bin/deskgate /usr/local/bin/deskgate$", text, re.MULTILINE)
    assert re.search(r"^USER 10001", text, re.MULTILINE), "the image must not run as root"
    port = re.search(r"DESKGATE_LISTEN=0\.0\.0\.0:(\d+)", text).group(1)
    assert re.search(rf"^EXPOSE {port}$", text, re.MULTILINE)
    assert 'CMD ["serve"]' in text
    # The workspace's toolchain.
    rust_version = re.search(r'rust-version = "([\d.]+)"', (ROOT / "Cargo.toml").read_text()).group(1)
    assert stages[0][0] == f"rust:{rust_version}-bookworm", stages[0]
    ignored = (DEPLOY / "Containerfile.dockerignore").read_text().split()
    assert "target" in ignored and ".git" in ignored
