"""The local engine's plumbing (tools/local/dynamodb_local.py, backend.start_dynamodb)."""

import base64
import hashlib

import pytest

from tools.local import backend, dynamodb_local


def test_integrity_is_npms_sha512_format(tmp_path):
    f = tmp_path / "pkg.tgz"
    f.write_bytes(b"dynamodb local")
    assert dynamodb_local.integrity_of(f) == "sha512-" + base64.b64encode(hashlib.sha512(b"dynamodb local").digest()).decode()
    assert dynamodb_local.INTEGRITY.startswith("sha512-") and dynamodb_local.integrity_of(f) != dynamodb_local.INTEGRITY


def test_without_java_it_says_how_to_install_it(monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(dynamodb_local.shutil, "which", lambda name: None)
    with pytest.raises(dynamodb_local.Unavailable, match="apt-get install openjdk-17-jre-headless"):
        backend.start_dynamodb()


def test_make_run_without_java_falls_back_to_moto_with_a_warning(monkeypatch, capsys):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(dynamodb_local.shutil, "which", lambda name: None)
    server, endpoint = backend.start_dynamodb(fallback_to_moto=True)
    try:
        assert endpoint.startswith("http://127.0.0.1:") and "moto" in server.engine
        assert "warning" in capsys.readouterr().err
    finally:
        server.stop()
