"""The short form of the crash soak (the full one is `make soak`)."""

from __future__ import annotations

from . import crash_soak


def test_sigkill_at_random_moments_loses_and_duplicates_no_acknowledged_message(tmp_path):
    report = crash_soak.run(messages=400, kills=2, workdir=tmp_path)
    print("\n".join(report.lines()))
    assert report.kills == 2
    assert report.retried > 0  # the crashes really hit sends in flight
    assert (report.stored, report.duplicates, report.missing) == (400, 0, 0)
    assert report.log_problems == []
    assert report.log_replays_checked == 2 + 2 + 4 + 3
