import base64
import json

import pytest

from shared.settings import SettingsError, load_settings


def test_defaults_run_locally_on_sqlite():
    settings = load_settings({})
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_dialect == "sqlite"
    assert settings.app_environment == "local"
    assert settings.storage_connection == "UseDevelopmentStorage=true"


def test_names_are_case_insensitive_and_functions_alias_is_read():
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql+psycopg://u@h/db",
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
            "log_level": "DEBUG",
        }
    )
    assert settings.database_dialect == "postgresql"
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({"DATABASE_POOL_SIZE": "many"}, "DATABASE_POOL_SIZE"),
        ({"DATABASE_POOL_SIZE": "0"}, "DATABASE_POOL_SIZE"),
        ({"APP_ENVIRONMENT": "staging"}, "APP_ENVIRONMENT"),
        ({"DATABASE_ENTRA_AUTH": "perhaps"}, "DATABASE_ENTRA_AUTH"),
        ({"HEALTH_CHECK_TIMEOUT_SECONDS": "-1"}, "HEALTH_CHECK_TIMEOUT_SECONDS"),
    ],
)
def test_a_bad_setting_fails_with_its_name(environ, named):
    with pytest.raises(SettingsError) as error:
        load_settings(environ)
    assert named in str(error.value)


def test_every_error_is_reported_at_once():
    with pytest.raises(SettingsError) as error:
        load_settings({"DATABASE_URL": "oracle://", "LOG_LEVEL": "LOUD"})
    assert "DATABASE_URL" in str(error.value) and "LOG_LEVEL" in str(error.value)


def test_process_environment_is_read(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://a@b/c")
    assert load_settings().database_dialect == "postgresql"


def test_example_settings_file_is_valid_and_complete():
    import json
    from pathlib import Path

    from shared.settings import Settings

    values = json.loads((Path(__file__).parents[3] / "local.settings.json.example").read_text())["Values"]
    load_settings(values)
    declared = {name.upper() for name in Settings.model_fields} - {"STORAGE_CONNECTION", "STORAGE_ACCOUNT_NAME"}
    declared = declared - {"WEBPUBSUB_CONNECTION_STRING"} | {"WebPubSubConnectionString"}  # its Azure name
    assert declared <= set(values), f"missing from the example: {declared - set(values)}"


def test_identity_based_storage_wins_over_the_connection_string():
    settings = load_settings({"AzureWebJobsStorage__accountName": "tagarelaprod"})
    assert settings.storage_target == "https://tagarelaprod.blob.core.windows.net"
    assert load_settings({}).storage_target == "UseDevelopmentStorage=true"


def test_production_refuses_the_local_defaults_and_names_what_is_missing():
    with pytest.raises(SettingsError) as error:
        load_settings({"APP_ENVIRONMENT": "production"})
    assert "DATABASE_URL" in str(error.value)
    assert "AzureWebJobsStorage__accountName" in str(error.value)


def test_production_with_real_resources_is_accepted():
    settings = load_settings(
        {
            "APP_ENVIRONMENT": "production",
            "DATABASE_URL": "mssql+pyodbc://@srv.database.windows.net/db?driver=ODBC+Driver+18+for+SQL+Server",
            "DATABASE_ENTRA_AUTH": "true",
            "AzureWebJobsStorage__accountName": "tagarelaprod",
            "PUBLIC_BASE_URL": "https://chat.example.com",
            "JWT_SIGNING_KEYS": json.dumps([{"kid": "k1", "private_key_pem": _ec_private_key_pem()}]),
            "MFA_ENCRYPTION_KEY": base64.b64encode(bytes(range(32))).decode(),
            "WEBPUBSUB_ENDPOINT": "https://tagarela.webpubsub.azure.com",
            "WEBPUBSUB_SIGNATURE_KEYS": "primary-key,secondary-key",
        }
    )
    assert settings.database_dialect == "mssql" and settings.database_entra_auth


def _ec_private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
