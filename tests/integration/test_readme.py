"""The README's curl walkthrough, executed against a live gunicorn process."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import requests

from messenger.config import Settings

from .live import ROOT, LiveServer

MARKERS = re.compile(r"<!-- walkthrough:start -->(.*?)<!-- walkthrough:end -->", re.S)
SH_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)


def walkthrough_script() -> str:
    section = MARKERS.search((ROOT / "README.md").read_text()).group(1)
    return "\n".join(SH_BLOCK.findall(section))


@pytest.fixture
def live_server(tmp_path):
    """A server on the real default GROUP_ADD_POLICY (contacts), as a new install runs it: the
    walkthrough's readers meet no other (LiveServer lets anyone add anyone by default)."""
    env = {"MESSENGER_DB": str(tmp_path / "messenger.db"), "GROUP_ADD_POLICY": Settings.group_add_policy}
    server = LiveServer(env, log_path=tmp_path / "gunicorn.log").start()
    yield server
    server.stop()


def run_walkthrough(base_url: str) -> list[str]:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", walkthrough_script()],
        env={"BASE": base_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout.splitlines()


def test_readme_walkthrough_runs_and_shows_what_it_says(live_server):
    lines = run_walkthrough(live_server.url)

    assert lines[0] == '"bob"'
    assert [user["username"] for user in json.loads(lines[1])] == ["bob"]
    sent, retried, third = (json.loads(line) for line in lines[2:5])
    assert sent == retried == {"seq": 2, "contents": "Lunch today?"}
    assert third == {"seq": 3, "contents": "12:30 at the usual place"}
    listed = json.loads(lines[5])
    assert (listed["unread_count"], listed["last_message"]) == (3, "12:30 at the usual place")
    assert [m["seq"] for m in json.loads(lines[6])] == [3, 2]
    assert json.loads(lines[7]) == [{"seq": 1, "contents": "Hi Bob!"}]
    assert json.loads(lines[8])["last_read_seq"] == 3
    assert lines[9:11] == ["0", '"12:30 at the usual place"']
    assert json.loads(lines[11]) == ["thread.new", "message.new", "message.new", "message.new", "thread.read"]
    assert json.loads(lines[12]) == {"same_thread": True, "seq": 4}
    assert json.loads(lines[13]) == {"seq": 5, "contents": "See you there"}
    assert json.loads(lines[14]) == {"seq": 6, "quoted": "12:30 at the usual place", "mentions_alice": True}
    assert json.loads(lines[15]) == {"unread_count": 3, "unread_mentions": 1}
    assert json.loads(lines[16]) == {"seq": 3, "edit_count": 1, "version": 2}
    assert json.loads(lines[17]) == [{"emoji": "👍", "count": 1}]
    assert lines[18] == "204"
    assert json.loads(lines[19]) == {"seq": 2, "deleted": True, "contents": ""}
    assert json.loads(lines[20]) == ["message.edited", "reaction.added", "message.deleted"]
    assert json.loads(lines[21]) == {"username": "bob", "display_name": "Bob B."}
    assert json.loads(lines[22]) == [False, True]
    assert lines[23:25] == ["204", "1"]
    assert json.loads(lines[25]) == {"username": "bob"}
    assert lines[26:28] == ['"blocked"', "204"]
    assert json.loads(lines[28]) == {"format": "messenger-export", "username": "bob", "threads": 1, "sent": 3}
    assert lines[29:31] == ["204", '"invalid_token"']
    assert lines[31] == "Menu: soup, bread, cake"
    assert lines[32:] == ["204"]


def test_readme_walkthrough_leaves_the_state_it_describes(live_server):
    run_walkthrough(live_server.url)
    signin = requests.post(
        live_server.url + "/auth/signin", json={"login": "alice", "password": "correct horse"}
    )
    token = signin.json()["token"]
    threads = requests.get(live_server.url + "/threads", headers={"Authorization": f"Bearer {token}"}).json()
    (thread,) = threads["threads"]
    # Alice's last send (the file) marked everything before it read for her.
    assert (thread["last_seq"], thread["last_read_seq"], thread["unread_count"]) == (7, 7, 0)
    assert (thread["unread_mentions"], thread["last_message"]["contents"]) == (0, "")
    assert sorted(member["username"] for member in thread["members"]) == ["alice", "bob"]
