"""GET /metrics: behind METRICS_TOKEN; every metric exposed, counters that move with requests.

The metrics live in one process-wide registry, so these tests compare values before and after.
"""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from messenger import create_app
from messenger.config import ConfigError, Settings
from messenger.wiring import build_deps, build_store

from .client import error_of, message_body

METRICS_TOKEN = "scraper-token-0123456789abcdef"
SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}
METRIC_NAMES = (
    "messenger_http_requests_total",
    "messenger_send_seconds",
    "messenger_websockets_connected",
    "messenger_longpolls_waiting",
    "messenger_updates_delivered_total",
    "messenger_notifier_lag_seconds",
    "messenger_store_errors_total",
)


@pytest.fixture
def api(make_api):
    """The app as an operator runs it with metrics: METRICS_TOKEN set."""
    return make_api(metrics_token=METRICS_TOKEN)


def scrape(api) -> str:
    response = api.client.get("/metrics", headers=SCRAPER)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return response.get_data(as_text=True)


def value(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels}`` of a scrape (0 when the series does not exist yet)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def requests_of(text: str, method: str, route: str, status: int) -> float:
    return value(text, "messenger_http_requests_total", method=method, route=route, status=str(status))


def test_metrics_exposes_every_metric_to_the_metrics_token(api):
    api.client.get("/healthz")

    text = scrape(api)

    for name in METRIC_NAMES:
        assert f"\n{name}" in text or text.startswith(name), name
    assert "_created" not in text


def test_sending_a_message_counts_one_send_and_one_request_of_its_route(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob])
    before = scrape(api)

    api.send_ok(alice, thread_id, "hello")

    after = scrape(api)
    sends = "messenger_send_seconds_count"
    assert value(after, sends, action="send_message") == value(before, sends, action="send_message") + 1
    assert requests_of(after, "POST", "/message", 201) == requests_of(before, "POST", "/message", 201) + 1


def test_creating_a_thread_counts_its_first_message_as_a_send(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    before = scrape(api)

    api.open_thread(alice, [bob])

    after = scrape(api)
    sends = "messenger_send_seconds_count"
    assert value(after, sends, action="create_thread") == value(before, sends, action="create_thread") + 1
    assert requests_of(after, "POST", "/threads", 201) == requests_of(before, "POST", "/threads", 201) + 1


def test_a_refused_send_is_not_counted_as_a_send(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob])
    before = scrape(api)

    error_of(api.send(alice, thread_id, message=message_body(alice, "   ")), 422, "validation_error")

    after = scrape(api)
    sends = "messenger_send_seconds_count"
    assert value(after, sends, action="send_message") == value(before, sends, action="send_message")
    assert requests_of(after, "POST", "/message", 422) == requests_of(before, "POST", "/message", 422) + 1


def test_requests_are_counted_by_url_rule_never_by_raw_path(api):
    alice, bob = api.signup("alice"), api.signup("bob")
    thread_id = api.open_thread(alice, [bob])
    before = scrape(api)

    api.thread_view(alice, thread_id)
    api.client.get("/no-such-page-4f1c")

    after = scrape(api)
    rule = "/threads/<thread_id>"
    assert requests_of(after, "GET", rule, 200) == requests_of(before, "GET", rule, 200) + 1
    assert requests_of(after, "GET", "<unmatched>", 404) == requests_of(before, "GET", "<unmatched>", 404) + 1
    assert thread_id not in after
    assert "no-such-page" not in after


def test_an_unknown_method_shares_one_label(api):
    before = scrape(api)

    api.client.open("/healthz", method="BREW")

    after = scrape(api)
    unmatched = "<unmatched>"  # no rule matches this method either
    assert requests_of(after, "OTHER", unmatched, 405) == requests_of(before, "OTHER", unmatched, 405) + 1
    assert "BREW" not in after


def test_a_store_that_does_not_answer_is_counted(tmp_path, clock):
    settings = Settings(
        sqlite_path=str(tmp_path), metrics_token=METRICS_TOKEN, prune_interval_s=0
    )  # a directory: no SQLite
    client = create_app(settings, deps=build_deps(settings, build_store(settings), clock=clock)).test_client()
    before = client.get("/metrics", headers=SCRAPER).get_data(as_text=True)

    error_of(client.get("/readyz"), 503, "store_unavailable")

    after = client.get("/metrics", headers=SCRAPER).get_data(as_text=True)
    errors = "messenger_store_errors_total"
    assert value(after, errors) == value(before, errors) + 1


def test_metrics_is_left_out_of_the_openapi_document(api):
    spec = api.client.get("/openapi.json").get_json()

    assert "/metrics" not in spec["paths"]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer",
        "Bearer wrong-token-0123456789abcdef",
        f"Bearer {METRICS_TOKEN}x",
        f"Basic {METRICS_TOKEN}",
    ],
)
def test_metrics_without_the_metrics_token_is_a_401(api, authorization):
    headers = {"Authorization": authorization} if authorization else {}

    response = api.client.get("/metrics", headers=headers)

    error_of(response, 401, "auth_required")
    assert "messenger_" not in response.get_data(as_text=True)


def test_a_user_s_token_does_not_open_metrics(api):
    alice = api.signup("alice")

    error_of(api.client.get("/metrics", headers=alice.headers), 401, "auth_required")


def test_metrics_enabled_without_a_token_serves_no_metrics_and_says_so(make_api, caplog):
    api = make_api()  # METRICS_ENABLED defaults to true; METRICS_TOKEN to unset

    error_of(api.client.get("/metrics"), 404, "not_found")
    (warning,) = [r for r in caplog.records if "METRICS_TOKEN" in r.getMessage()]
    assert warning.levelname == "WARNING"


def test_metrics_enabled_false_serves_no_metrics(make_api, caplog):
    api = make_api(metrics_enabled=False, metrics_token=METRICS_TOKEN)

    assert api.client.get("/metrics", headers=SCRAPER).status_code == 404
    assert not [r for r in caplog.records if "METRICS_TOKEN" in r.getMessage()]


def test_metrics_token_is_read_from_the_environment_and_must_be_long():
    assert Settings.from_env({"METRICS_TOKEN": f" {METRICS_TOKEN} "}).metrics_token == METRICS_TOKEN
    assert Settings.from_env({}).metrics_served is False
    with pytest.raises(ConfigError):
        Settings.from_env({"METRICS_TOKEN": "short"})


@pytest.mark.parametrize(("raw", "expected"), [("false", False), ("0", False), ("", True), ("yes", True)])
def test_metrics_enabled_is_read_from_the_environment(raw, expected):
    assert Settings.from_env({"METRICS_ENABLED": raw}).metrics_enabled is expected


def test_log_format_must_be_text_or_json():
    assert Settings.from_env({"LOG_FORMAT": "JSON"}).log_format == "json"
    assert Settings.from_env({}).log_format == "text"
    with pytest.raises(ConfigError):
        Settings.from_env({"LOG_FORMAT": "xml"})
