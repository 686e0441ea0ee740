"""Settings.from_env: the deploy rules that depend on the platform it runs on."""

from __future__ import annotations

import pytest

from messenger.config import ConfigError, Settings

ON_HEROKU = {"DYNO": "web.1", "ALLOW_EPHEMERAL_SQLITE": "true"}


def test_forwarded_hops_defaults_to_one_on_a_dyno_and_zero_elsewhere():
    assert Settings.from_env(ON_HEROKU).forwarded_hops == 1
    assert Settings.from_env({}).forwarded_hops == 0


def test_an_explicit_forwarded_hops_wins_over_the_dyno_default():
    assert Settings.from_env({**ON_HEROKU, "FORWARDED_HOPS": "0"}).forwarded_hops == 0
    assert Settings.from_env({**ON_HEROKU, "FORWARDED_HOPS": "2"}).forwarded_hops == 2
    assert Settings.from_env({"FORWARDED_HOPS": "1"}).forwarded_hops == 1


@pytest.mark.parametrize("platform", [{"DYNO": "web.1"}, {"EPHEMERAL_DISK": "true"}])
def test_sqlite_on_an_ephemeral_disk_is_refused_naming_the_fix(platform):
    with pytest.raises(ConfigError, match="MONGODB_URI") as refused:
        Settings.from_env(platform)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "fix", [{"ALLOW_EPHEMERAL_SQLITE": "true"}, {"MONGODB_URI": "mongodb://db.example/messenger"}]
)
def test_an_ephemeral_disk_is_accepted_with_mongodb_or_when_the_loss_is_accepted(fix):
    assert Settings.from_env({"DYNO": "web.1", **fix}).ephemeral_disk
    assert Settings.from_env({"EPHEMERAL_DISK": "true", **fix}).ephemeral_disk


def test_a_persistent_disk_keeps_sqlite():
    settings = Settings.from_env({"EPHEMERAL_DISK": "false"})
    assert (settings.ephemeral_disk, settings.store_kind) == (False, "sqlite")


def test_without_redis_one_worker_runs_whatever_web_concurrency_says():
    assert Settings.from_env({"WEB_CONCURRENCY": "4"}).workers == 1
    assert Settings.from_env({"WEB_CONCURRENCY": "4", "REDIS_URL": "redis://r:6379"}).workers == 4


def test_redis_tls_verify_turns_off_certificate_checks_only_for_rediss_urls_when_asked():
    assert Settings.from_env({"REDIS_URL": "rediss://r:6380"}).redis_options == {}
    none = {"REDIS_URL": "rediss://r:6380", "REDIS_TLS_VERIFY": "none"}
    assert Settings.from_env(none).redis_options == {"ssl_cert_reqs": "none"}
    plain = {"REDIS_URL": "redis://r:6379", "REDIS_TLS_VERIFY": "none"}
    assert Settings.from_env(plain).redis_options == {}  # redis-py refuses TLS options without TLS
    with pytest.raises(ConfigError, match="REDIS_TLS_VERIFY"):
        Settings.from_env({"REDIS_TLS_VERIFY": "optional"})


# Attachments' bytes -------------------------------------------------------------------------------
S3 = {"ATTACHMENTS_S3_URL": "s3://team-files/messenger/attachments/"}


def test_attachments_go_to_s3_when_its_url_is_set_else_gridfs_with_mongodb_else_beside_sqlite():
    assert Settings.from_env({**S3, "MONGODB_URI": "mongodb://db"}).blob_store_kind == "s3"
    assert Settings.from_env({"MONGODB_URI": "mongodb://db"}).blob_store_kind == "gridfs"
    local = Settings.from_env({"MESSENGER_DB": "/var/lib/messenger/m.db"})
    assert (local.blob_store_kind, local.attachments_dir) == ("local", "/var/lib/messenger/attachments")


def test_attachments_are_never_kept_on_an_ephemeral_disk_unless_its_loss_is_accepted():
    assert Settings.from_env({"DYNO": "web.1", "MONGODB_URI": "mongodb://db"}).blob_store_kind == "gridfs"
    with pytest.raises(ConfigError, match="MONGODB_URI"):
        Settings.from_env({"DYNO": "web.1", **S3})  # messages would still be kept on the disk
    assert Settings.from_env(ON_HEROKU).blob_store_kind == "local"  # the accepted loss, a demo


@pytest.mark.parametrize(
    ("url", "bucket_and_prefix"),
    [
        ("s3://files", ("files", "")),
        ("s3://files/", ("files", "")),
        ("s3://files/a/b", ("files", "a/b/")),
        ("s3://files/a/b/", ("files", "a/b/")),
    ],
)
def test_the_s3_url_names_the_bucket_and_a_key_prefix(url, bucket_and_prefix):
    settings = Settings.from_env({"ATTACHMENTS_S3_URL": url})
    assert settings.attachments_s3_bucket_and_prefix == bucket_and_prefix


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ATTACHMENTS_S3_URL": "https://files.s3.amazonaws.com"}, "ATTACHMENTS_S3_URL"),
        ({"ATTACHMENTS_S3_URL": "s3:///prefix"}, "ATTACHMENTS_S3_URL"),
        ({"ATTACHMENTS_S3_URL": "s3://files?region=eu"}, "ATTACHMENTS_S3_URL"),
        ({"ATTACHMENTS_S3_ENDPOINT": "https://minio.internal:9000"}, "ATTACHMENTS_S3_URL"),
        ({**S3, "ATTACHMENTS_S3_ENDPOINT": "minio.internal:9000"}, "ATTACHMENTS_S3_ENDPOINT"),
        ({**S3, "AWS_ACCESS_KEY_ID": "AKIA0000"}, "AWS_SECRET_ACCESS_KEY"),
        ({"MAX_ATTACHMENT_BYTES": "0"}, "MAX_ATTACHMENT_BYTES"),
    ],
)
def test_attachment_settings_that_cannot_work_are_refused_at_start(env, named):
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)


def test_uploads_are_bounded_to_25_mib_by_default_and_the_secret_key_is_never_shown():
    settings = Settings.from_env({**S3, "AWS_ACCESS_KEY_ID": "AKIA0000", "AWS_SECRET_ACCESS_KEY": "s3cr3t"})
    assert Settings().max_attachment_bytes == 25 * 1024 * 1024
    assert "s3cr3t" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ACCOUNT_DELETION": "bogus"}, "ACCOUNT_DELETION"),
        ({"USERNAME_COOLDOWN_DAYS": "-1"}, "USERNAME_COOLDOWN_DAYS"),
    ],
)
def test_leaving_settings_are_checked_without_a_mail_server_too(env, named):
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)  # no SMTP_URL: these were once checked only with one


def test_max_image_pixels_is_read_and_bounded_by_pillows_own_limit():
    assert Settings.from_env({}).max_image_pixels == 50_000_000
    assert Settings.from_env({"MAX_IMAGE_PIXELS": "12000000"}).max_image_pixels == 12_000_000
    for refused in ("0", "-1", "178956971"):
        with pytest.raises(ConfigError, match="MAX_IMAGE_PIXELS"):
            Settings.from_env({"MAX_IMAGE_PIXELS": refused})
