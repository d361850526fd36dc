"""Buckets of an S3-compatible object store that the store and MLflow's artifacts live in.

The endpoint and credentials come from the standard AWS settings (``AWS_ENDPOINT_URL_S3``,
``AWS_ACCESS_KEY_ID``, ...), which pyarrow, boto3 and MLflow all read; a URI may also name its
endpoint itself (``s3://bucket/path?endpoint_override=host:port&scheme=http``).
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit


class BucketError(RuntimeError):
    """A bucket could not be created or reached; the message names it and the store's answer."""


def bucket_of(uri: str) -> str | None:
    """The bucket of an ``s3://`` URI, or None for a local path or another scheme."""
    parts = urlsplit(uri)
    if parts.scheme != "s3":
        return None
    if not parts.netloc:
        raise BucketError(f"{uri!r} names no bucket: write s3://<bucket>/<path>")
    return parts.netloc.rsplit("@", 1)[-1]


def create_buckets(uris: Iterable[str]) -> list[str]:
    """Create the bucket of every ``s3://`` URI in ``uris`` that does not exist yet; others are left alone.

    Returns:
        The buckets that now exist (created or found), in the order given.

    Raises:
        BucketError: the object store refused or could not be reached.
    """
    import pyarrow.fs as pafs

    done: list[str] = []
    for uri in uris:
        bucket = bucket_of(uri)
        if bucket is None or bucket in done:
            continue
        query = urlsplit(uri).query
        root = f"s3://{bucket}?{'&'.join(filter(None, [query, 'allow_bucket_creation=true']))}"
        try:
            fs, _ = pafs.FileSystem.from_uri(root)
            fs.create_dir(bucket)
        except OSError as exc:
            raise BucketError(f"cannot create or reach bucket {bucket!r} of {uri!r}: {exc}") from exc
        done.append(bucket)
    return done
