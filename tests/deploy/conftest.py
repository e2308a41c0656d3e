"""System tools the deployment tests drive for real (nginx, docker-compose).

`.ci/run` installs them and sets WAVESTREAM_REQUIRE_SYSTEM_TOOLS=1, so in CI a missing tool
fails; on a developer's machine without them these tests are skipped with the reason.
"""

import json
import os
import re
import shlex
import shutil

import pytest

from tests.conftest import ROOT


def require_tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if path:
        return path
    if os.environ.get("WAVESTREAM_REQUIRE_SYSTEM_TOOLS") == "1":
        pytest.fail(f"{name} is required here (.ci/run installs it)")
    pytest.skip(f"{name} is not installed (apt-get install {'nginx-light' if name == 'nginx' else name})")


class Dockerfile:
    """The instructions of one build target of the project's Dockerfile (its stage and the ones it builds on)."""

    def __init__(self, target: str):
        text = (ROOT / "Dockerfile").read_text()
        lines, current = [], ""
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            current += line[:-1] + " " if line.endswith("\\") else line
            if not line.endswith("\\"):
                lines.append(current)
                current = ""
        stages: dict[str, list[str]] = {}
        parents: dict[str, str] = {}
        name = None
        self.args = {}
        for line in lines:
            op, _, rest = line.partition(" ")
            if op.upper() == "FROM":
                m = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
                name = m.group(2)
                parents[name] = m.group(1)
                stages[name] = []
            elif name is None and op.upper() == "ARG":
                k, _, v = rest.partition("=")
                self.args[k] = v
            elif name is not None:
                stages[name].append(line)
        chain, stage = [], target
        while stage in stages:
            chain.insert(0, stage)
            stage = parents[stage]
        self.base_image = re.sub(r"\$\{(\w+)\}", lambda m: self.args.get(m.group(1), ""), stage)
        self.instructions = [l for s in chain for l in stages[s]]

    def _all(self, op: str) -> list[str]:
        return [l.partition(" ")[2] for l in self.instructions if l.partition(" ")[0].upper() == op]

    def _last(self, op: str) -> str:
        return self._all(op)[-1]

    @property
    def env(self) -> dict[str, str]:
        env = {}
        for rest in self._all("ENV"):
            for item in shlex.split(rest):
                k, _, v = item.partition("=")
                env[k] = v
        return env

    @property
    def user(self) -> str:
        return self._last("USER")

    @property
    def exposed(self) -> set[int]:
        return {int(p) for rest in self._all("EXPOSE") for p in rest.split()}

    @property
    def entrypoint(self) -> list[str]:
        return json.loads(self._last("ENTRYPOINT"))

    @property
    def healthcheck(self) -> list[str]:
        rest = self._last("HEALTHCHECK")
        return json.loads(rest[rest.index("CMD") + 3:].strip())
