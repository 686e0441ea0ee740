"""BlobStore adapters: local.py (files beside the SQLite file), gridfs.py (MongoDB's GridFS) and
s3.py (S3-compatible object storage), with what they share in streams.py. They hold the bytes
of attachments only; only ``messenger.wiring`` imports from here."""
