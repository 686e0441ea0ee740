"""The composition root builds only what it is not given, and hands back what it starts."""

from __future__ import annotations

from messenger import create_app, wiring
from messenger.config import Settings
from messenger.lifecycle import stop_pruning
from messenger.notify.memory import InProcessNotifier
from messenger.store.sqlite import SqliteStore
from messenger.web.context import EXTENSION_KEY, PRUNER_KEY


def test_a_notifier_passed_in_is_used_and_none_other_is_built(tmp_path, monkeypatch):
    def refuse(settings: Settings) -> None:
        raise AssertionError("built a notifier nobody asked for")

    monkeypatch.setattr(wiring, "build_notifier", refuse)
    notifier = InProcessNotifier()
    settings = Settings(sqlite_path=str(tmp_path / "m.db"), redis_url="redis://127.0.0.1:1")
    deps = wiring.build_deps(settings, SqliteStore(settings.sqlite_path), notifier=notifier)
    assert deps.notifier is notifier


def test_the_app_keeps_its_pruners_stop_handle_and_stop_pruning_ends_it(tmp_path):
    app = create_app(Settings(sqlite_path=str(tmp_path / "m.db")))
    stop = app.extensions[PRUNER_KEY]
    assert not stop.is_set()
    stop_pruning(app)
    assert stop.is_set() and PRUNER_KEY not in app.extensions
    app.extensions[EXTENSION_KEY].store.close()


def test_an_app_that_never_prunes_has_no_handle(tmp_path):
    app = create_app(Settings(sqlite_path=str(tmp_path / "m.db"), prune_interval_s=0))
    assert PRUNER_KEY not in app.extensions
    stop_pruning(app)  # nothing to end
    app.extensions[EXTENSION_KEY].store.close()


def test_the_blob_store_is_built_for_where_attachments_go_and_reaches_nothing_yet(tmp_path):
    from messenger.blobs.gridfs import GridFsBlobStore
    from messenger.blobs.local import LocalBlobStore
    from messenger.blobs.s3 import S3BlobStore

    base = Settings(sqlite_path=str(tmp_path / "m.db"))
    unreachable = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=100"
    kinds = {
        LocalBlobStore: base,
        GridFsBlobStore: base.with_overrides(mongodb_uri=unreachable),
        S3BlobStore: base.with_overrides(attachments_s3_url="s3://files/a", aws_region="eu-west-1"),
    }
    for kind, settings in kinds.items():
        blobs = wiring.build_blob_store(settings)
        assert isinstance(blobs, kind)
        blobs.close()
    assert not (tmp_path / "attachments").exists()  # made at the first put
