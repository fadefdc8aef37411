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
