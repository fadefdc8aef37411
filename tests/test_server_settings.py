"""The dashboard's server settings (.streamlit/config.toml) match the library's limits and stay safe."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import explainers.images as images

CONFIG = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"


def settings() -> dict:
    return tomllib.loads(CONFIG.read_text(encoding="utf-8"))


def test_upload_limit_matches_the_decode_limit():
    upload_bytes = settings()["server"]["maxUploadSize"] * 1024 * 1024  # Streamlit's MB
    assert upload_bytes == 50 * 2**20
    if "EXPLAINERS_MAX_FILE_MB" not in os.environ:  # the limit a server gets without an override
        assert upload_bytes == images.MAX_FILE_BYTES


def test_usage_statistics_off_and_xsrf_protection_on():
    config = settings()
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["enableAgentApi"] is False


def test_every_setting_is_a_real_streamlit_option():
    from streamlit import config as st_config

    known = st_config._config_options_template
    for section, values in settings().items():
        for key in values:
            assert f"{section}.{key}" in known, f"{section}.{key} is not a Streamlit option"


def _start_banner(monkeypatch, flags: dict) -> tuple[list[str], list[str]]:
    """What Streamlit prints at start and which outside lookups it makes, with this project's config files (read
    from the project root, as ``bash scripts/dashboard.sh`` runs) and ``flags`` given on the command line."""
    from streamlit import config as st_config
    from streamlit import cli_util, net_util
    from streamlit.web import bootstrap

    lookups: list[str] = []
    printed: list[str] = []
    monkeypatch.setattr(net_util, "get_external_ip", lambda: lookups.append("external (checkip.amazonaws.com)"))
    monkeypatch.setattr(net_util, "get_internal_ip", lambda: lookups.append("internal") or "10.1.2.3")
    monkeypatch.setattr(cli_util, "print_to_cli", lambda message, **_: printed.append(str(message)))
    monkeypatch.chdir(CONFIG.parents[1])
    try:
        st_config.get_config_options(force_reparse=True, options_from_flags=flags)
        assert st_config.get_option("browser.gatherUsageStats") is False
        bootstrap._print_url(False)
        return printed, lookups
    finally:
        st_config.get_config_options(force_reparse=True)


def test_the_local_dashboard_listens_on_loopback_and_looks_nothing_up(monkeypatch):
    printed, lookups = _start_banner(monkeypatch, {})
    assert lookups == []  # no "Network URL", no external address from checkip.amazonaws.com
    assert any("127.0.0.1" in line for line in printed) and not any("Network" in line for line in printed)
    # scripts/dashboard.sh passes only the user's own options: it sets no address of its own
    script = (CONFIG.parents[1] / "scripts" / "dashboard.sh").read_text(encoding="utf-8")
    command = [line for line in script.splitlines() if line.startswith("exec ")]
    assert command == ['exec .venv/bin/python -m ui.app.launch "$@"']


def test_a_team_server_opts_in_to_every_interface_on_its_command_line(monkeypatch):
    """README's team command (``--server.address 0.0.0.0 --server.headless true``) listens everywhere; then, and
    only then, Streamlit names the network address (and looks up the public one: opted in)."""
    printed, lookups = _start_banner(monkeypatch, {"server.address": "0.0.0.0", "server.headless": True})
    assert "internal" in lookups and any("Network" in line for line in printed)
    readme = (CONFIG.parents[1] / "README.md").read_text(encoding="utf-8")
    assert "bash scripts/dashboard.sh --server.address 0.0.0.0" in readme
