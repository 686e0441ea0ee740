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


def test_max_image_pixels_is_read_and_bounded_by_pillows_own_limit():
    assert Settings.from_env({}).max_image_pixels == 50_000_000
    assert Settings.from_env({"MAX_IMAGE_PIXELS": "12000000"}).max_image_pixels == 12_000_000
    for refused in ("0", "-1", "178956971"):
        with pytest.raises(ConfigError, match="MAX_IMAGE_PIXELS"):
            Settings.from_env({"MAX_IMAGE_PIXELS": refused})
