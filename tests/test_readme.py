"""The README documents what a user types."""

from dataclasses import fields

from service.config import ServerConfig
from tests.conftest import ROOT


def test_every_server_flag_and_variable_is_documented():
    readme = (ROOT / "README.md").read_text()
    for f in fields(ServerConfig):
        assert f"`--{f.name.replace('_', '-')}`" in readme
        assert f"`WAVESTREAM_{f.name.upper()}`" in readme


def test_readme_opens_with_serve_and_test():
    first_block = (ROOT / "README.md").read_text().split("```")[1]
    assert first_block.splitlines()[1].startswith("make serve") and "make test" in first_block
