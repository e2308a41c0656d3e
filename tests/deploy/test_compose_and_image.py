"""The compose file and the Dockerfile say what the README says (no Docker engine here:
docker-compose parses the file without one, and the image's commands run outside it)."""

import os
import subprocess
import sys
import time

import yaml

from tests.conftest import ROOT
from tests.service.conftest import free_port

from .conftest import Dockerfile, require_tool


def compose(*args: str) -> str:
    exe = require_tool("docker-compose")
    r = subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), *args], cwd=ROOT, capture_output=True,
                       text=True, timeout=120, env={**os.environ, "COMPOSE_PROJECT_NAME": "wavestream"})
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_compose_file_is_valid_with_the_services_and_profiles_the_readme_names():
    cfg = yaml.safe_load(compose("--profile", "gpu", "--profile", "monitoring", "config"))
    services = cfg["services"]
    assert set(services) == {"server", "server-gpu", "lb", "prometheus"}
    # what plain `docker compose up` starts: the services outside any profile
    assert {n for n, s in services.items() if not s.get("profiles")} == {"server", "lb"}
    for name in ("server", "server-gpu"):
        s = services[name]
        assert s["healthcheck"]["test"] == ["CMD", "wavestream", "health"]
        assert {str(p) for p in s["expose"]} == {"50051", "9464"}
        assert any(v["target"] == "/models" if isinstance(v, dict) else v.endswith(":/models:ro") for v in s["volumes"])
        assert "ports" not in s  # replicas are reached through the load balancer, so --scale never clashes
    assert services["server"]["build"]["target"] == "cpu"
    gpu = services["server-gpu"]
    assert gpu["build"]["target"] == "gpu" and gpu["environment"]["WAVESTREAM_DEVICE"] == "cuda"
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"
    lb = services["lb"]
    assert lb["image"].startswith("nginx")
    assert any(str(p.get("target", p) if isinstance(p, dict) else p).endswith("50051") for p in lb["ports"])
    assert "server:50051" in lb["environment"]["WAVESTREAM_UPSTREAMS"]
    assert services["prometheus"]["profiles"] == ["monitoring"] and gpu["profiles"] == ["gpu"]
    prom = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    sd = prom["scrape_configs"][0]["dns_sd_configs"][0]
    assert set(sd["names"]) == {"server", "server-gpu"} and sd["port"] == 9464


def test_readme_gives_the_deployment_commands():
    readme = (ROOT / "README.md").read_text()
    for cmd in ("docker compose up", "docker compose up --scale server=3", "docker compose --profile gpu up",
                "docker compose --profile monitoring up", "WAVESTREAM_TOKEN", "WAVESTREAM_TLS_CERT"):
        assert cmd in readme, cmd


def test_dockerfile_slim_non_root_ports_and_health():
    for target in ("cpu", "gpu"):
        d = Dockerfile(target)
        assert d.base_image.startswith("python:3.11") and d.base_image.endswith("-slim")
        assert d.user not in ("", "root", "0")
        assert d.exposed == {50051, 9464}
        assert d.entrypoint == ["wavestream", "serve"] and d.healthcheck == ["wavestream", "health"]
        assert any("pip install ." in i for i in d.instructions)  # pyproject.toml: one source of dependencies
    assert Dockerfile("gpu").env["WAVESTREAM_DEVICE"] == "cuda"


def test_the_images_entrypoint_and_healthcheck_work_outside_the_container(tmp_path):
    image = Dockerfile("cpu")
    port = free_port()
    bin_dir = os.path.dirname(sys.executable)
    env = {**os.environ, **image.env, "WAVESTREAM_PORT": str(port), "WAVESTREAM_METRICS_PORT": str(free_port()),
           "WAVESTREAM_MODEL_DIR": str(tmp_path),  # empty: the shipped weights serve
           "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    health = lambda: subprocess.run(image.healthcheck, env=env, capture_output=True, text=True, timeout=30)  # noqa: E731
    before = health()
    assert before.returncode != 0  # nothing is listening yet: unhealthy
    server = subprocess.Popen(image.entrypoint, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while (r := health()).returncode != 0:
            assert server.poll() is None, server.stderr.read()
            assert time.time() < deadline, r.stdout + r.stderr
            time.sleep(0.5)
        assert "SERVING" in r.stdout
    finally:
        server.terminate()
        assert server.wait(60) == 0


def test_without_weights_the_entrypoint_refuses_clearly(tmp_path):
    image = Dockerfile("cpu")
    env = {**os.environ, **image.env, "WAVESTREAM_PORT": str(free_port()), "WAVESTREAM_METRICS_PORT": "0",
           "WAVESTREAM_MODEL_DIR": str(tmp_path), "WAVESTREAM_MODEL": "wavenet-base",  # a size that ships untrained
           "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    env.pop("WAVESTREAM_UNTRAINED", None)
    r = subprocess.run(image.entrypoint, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "cannot start" in r.stderr and "no trained weights" in r.stderr
