"""The OpenAPI and AsyncAPI documents: valid by their maintained validators, typed updates that
real replies match, and GET /version.

The AsyncAPI 3.0.0 JSON Schema is vendored from the npm package @asyncapi/specs 6.11.1
(tests/vendor/asyncapi-specs, Apache-2.0): the tests need no network and no node.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from messenger import features, model
from messenger.web import stream

from .client import Api

ASYNCAPI_SCHEMA = Path(__file__).parents[1] / "vendor" / "asyncapi-specs" / "3.0.0.json"
DOCUMENT_URI = "urn:messenger:openapi"
CLOSE_CODES = {4400, 4401, 4403, 4409, 4410, 4429, 1008, 1009, 1007, 1012, 1013}


def asyncapi_validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads(ASYNCAPI_SCHEMA.read_text()))


def openapi_schema_validator(document: dict, pointer: str) -> OAS30Validator:
    """A validator for one schema of the OpenAPI document, its $refs resolved in the document."""
    registry = Registry().with_resource(DOCUMENT_URI, Resource.from_contents(document, DRAFT7))
    return OAS30Validator({"$ref": f"{DOCUMENT_URI}#{pointer}"}, registry=registry)


@pytest.fixture
def openapi(api: Api) -> dict:
    return api.client.get("/openapi.json").get_json()


@pytest.fixture
def asyncapi(api: Api) -> dict:
    response = api.client.get("/asyncapi.json")
    assert response.status_code == 200
    return response.get_json()


def accept_invitation(api: Api, invitee, thread_id: str) -> None:
    reply = api.answer_invitation(invitee, thread_id, True)
    assert reply.status_code == 200, reply.get_data(as_text=True)


def every_update_type(api: Api) -> list[dict]:
    """bob's log, on a server with GROUP_ADD_POLICY=invite, after he and dave accept alice's
    invitations into her group, which gets a message, a read, carol in and out, an edit, a
    reaction added and taken back, a deletion, and dave's new display name."""
    alice, bob, carol, dave = api.signup(), api.signup(), api.signup(), api.signup()
    thread_id = api.open_thread(alice, [bob, dave], title="Trip")  # invites them
    accept_invitation(api, bob, thread_id)
    accept_invitation(api, dave, thread_id)
    api.send_ok(alice, thread_id, "hi")
    assert api.mark_read(bob, thread_id, 2).status_code == 200
    assert api.add_members(alice, thread_id, [carol]).status_code == 200
    accept_invitation(api, carol, thread_id)
    assert api.remove_member(alice, thread_id, carol).status_code == 204
    message = f"/threads/{thread_id}/messages/2"
    assert api.client.patch(message, json={"contents": "hi!"}, headers=alice.headers).status_code == 200
    assert api.client.put(f"{message}/reactions/👍", headers=dave.headers).status_code == 200
    assert api.client.delete(f"{message}/reactions/👍", headers=dave.headers).status_code == 204
    assert api.client.delete(message, headers=alice.headers).status_code == 204
    assert api.client.patch("/me", json={"display_name": "Dave"}, headers=dave.headers).status_code == 200
    reply = api.client.get("/updates", query_string={"since": 0, "timeout": 0}, headers=bob.headers)
    assert reply.status_code == 200
    return reply.get_json()["updates"]


# OpenAPI ------------------------------------------------------------------------------------
def test_the_openapi_document_passes_openapi_spec_validator(openapi):
    validate_openapi(openapi)


def test_every_update_type_is_its_own_schema_under_a_type_discriminator(openapi):
    items = openapi["components"]["schemas"]["UpdatesReply"]["properties"]["updates"]["items"]
    mapping = items["discriminator"]["mapping"]
    assert items["discriminator"]["propertyName"] == "type"
    assert set(mapping) == set(model.UPDATE_TYPES)
    schemas = openapi["components"]["schemas"]
    for update_type, ref in mapping.items():
        assert {"$ref": ref} in items["oneOf"]
        assert schemas[ref.rsplit("/", 1)[1]]["properties"]["type"]["enum"] == [update_type]


def test_real_updates_of_every_type_validate_against_their_own_schema_and_no_other(make_api, openapi):
    updates = every_update_type(make_api(group_add_policy="invite"))
    assert {update["type"] for update in updates} == set(model.UPDATE_TYPES)
    items = "/components/schemas/UpdatesReply/properties/updates/items"
    mapping = openapi["components"]["schemas"]["UpdatesReply"]["properties"]["updates"]["items"][
        "discriminator"
    ]
    for update in updates:
        own = mapping["mapping"][update["type"]].removeprefix("#")
        openapi_schema_validator(openapi, own).validate(update)
        openapi_schema_validator(openapi, items).validate(update)  # oneOf: exactly one matches
        for other_type, ref in mapping["mapping"].items():
            if other_type != update["type"]:
                assert not openapi_schema_validator(openapi, ref.removeprefix("#")).is_valid(update)


def test_an_update_of_a_type_a_newer_server_sends_matches_the_catch_all_only(openapi):
    """As a client that tries each schema in turn sees it (openapi-python-client's do). One that
    follows the discriminator finds no mapping for the type: it must skip it before decoding."""
    registry = Registry().with_resource(DOCUMENT_URI, Resource.from_contents(openapi, DRAFT7))
    pointer = "/components/schemas/UpdatesReply/properties/updates/items"
    items = jsonschema.Draft4Validator({"$ref": f"{DOCUMENT_URI}#{pointer}"}, registry=registry)
    items.validate({"cursor": 9, "type": "poll.created", "thread_id": "t", "seq": 3})
    assert not items.is_valid({"cursor": 9, "type": "message.new"})  # a known type keeps its shape
    assert not items.is_valid({"type": "poll.created"})  # every update has a cursor


def test_the_docs_page_links_the_asyncapi_document_and_version(openapi, api):
    assert "(/asyncapi.json)" in openapi["info"]["description"]
    assert "(/version)" in openapi["info"]["description"]
    assert api.client.get("/docs").status_code == 200


# AsyncAPI -----------------------------------------------------------------------------------
def test_the_asyncapi_document_is_valid_asyncapi_3(asyncapi):
    assert asyncapi["asyncapi"] == "3.0.0"
    errors = [
        f"{error.json_path}: {error.message[:200]}" for error in asyncapi_validator().iter_errors(asyncapi)
    ]
    assert errors == []


def test_the_asyncapi_validator_refuses_a_broken_document(asyncapi):
    broken = copy.deepcopy(asyncapi)
    broken["operations"]["sendMessage"]["action"] = "publish"  # AsyncAPI 2's verb
    assert not asyncapi_validator().is_valid(broken)


def test_the_asyncapi_document_has_every_frame_both_ways(asyncapi):
    operations = asyncapi["operations"]
    sent = {name for name, operation in operations.items() if operation["action"] == "send"}
    assert sent == {
        "sendMessage",
        "createThread",
        "getUserThreads",
        "getThreadMessages",
        "markRead",
        "typing",
    }
    for name in sent:
        replies = [message["$ref"].rsplit("/", 1)[1] for message in operations[name]["reply"]["messages"]]
        assert replies == [f"{name}Result", "error"]
    messages = asyncapi["components"]["messages"]
    assert {"update", "typingEvent", "error"} <= set(messages)
    frame = asyncapi["components"]["schemas"]["SendMessageFrame"]
    assert {"action", "thread_id", "message", "request_id"} <= set(frame["properties"])
    update = asyncapi["components"]["schemas"]["UpdateFrame"]["properties"]["update"]
    assert len(update["oneOf"]) == len(model.UPDATE_TYPES) + 1  # and the catch-all
    assert set(asyncapi["channels"]["stream"]["bindings"]["ws"]["query"]["properties"]) == {"token", "since"}


def test_the_asyncapi_document_tells_every_close_code_and_what_to_do(asyncapi):
    table = asyncapi["channels"]["stream"]["x-close-codes"]
    assert {row["code"] for row in table} == CLOSE_CODES
    assert all(row["meaning"] and row["client_action"] for row in table)
    constants = {
        value
        for name, value in vars(stream).items()
        if re.fullmatch(r"CLOSE_[A-Z_]+", name) and isinstance(value, int)
    }
    assert constants <= CLOSE_CODES
    for code in CLOSE_CODES:
        assert f"| {code} |" in asyncapi["channels"]["stream"]["description"]


def test_the_asyncapi_server_is_the_host_the_client_reached(api):
    document = api.client.get("/asyncapi.json", base_url="https://chat.example.com").get_json()
    assert document["servers"]["this"]["host"] == "chat.example.com"
    assert document["servers"]["this"]["protocol"] == "wss"


# GET /version -------------------------------------------------------------------------------
def test_version_tells_a_client_the_feature_level_features_and_limits(make_api):
    api = make_api(max_message_length=500, max_attachment_bytes=1000, max_attachments_per_message=3)
    response = api.client.get("/version")  # no token: a client asks before signing in
    assert response.status_code == 200
    body = response.get_json()
    assert body["api_version"] == "1"
    assert body["feature_level"] == max(features.FEATURES.values()) >= 1
    assert set(body["features"]) >= {"protocol_actions", "stream", "longpoll", "typing"}
    assert body["update_types"] == list(model.UPDATE_TYPES)
    assert body["limits"] == {
        "max_page_size": 100,
        "max_message_length": 500,
        "max_body_bytes": 64 * 1024,
        "longpoll_max_timeout_s": 25,
        "max_attachment_bytes": 1000,
        "max_attachments_per_message": 3,
    }


def test_version_is_documented_as_public(openapi):
    operation = openapi["paths"]["/version"]["get"]
    assert operation["security"] == []
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/VersionReply"
    }
