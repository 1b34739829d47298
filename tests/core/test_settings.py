import pytest
from pydantic import ValidationError

from app.core.config import Settings


def test_dev_generates_and_keeps_a_secret_key(tmp_path):
    settings = Settings(data_dir=tmp_path)
    key = settings.signing_key()
    assert len(key) >= 32
    assert Settings(data_dir=tmp_path).signing_key() == key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_production_requires_a_strong_secret_key(tmp_path):
    with pytest.raises(ValidationError, match="required"):
        Settings(env="production", data_dir=tmp_path)
    with pytest.raises(ValidationError, match="too weak"):
        Settings(env="production", secret_key="changeme", data_dir=tmp_path)
    strong = "k" * 10 + "0123456789abcdefghijklmnopqrstuvwxyz"
    with pytest.raises(ValidationError, match="dev backends deliver nothing"):
        Settings(env="production", secret_key=strong)
    production = Settings(
        env="production",
        secret_key=strong,
        sms_backend="twilio",
        email_backend="smtp",
        twilio_account_sid="AC1",
        twilio_auth_token="t",
    )
    assert production.env == "production"


def test_default_database_is_sqlite_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("HEARTH_DATABASE_URL", raising=False)
    settings = Settings(data_dir=tmp_path)
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path.resolve() / 'hearth.db'}"
