"""The store's file system, and the buckets of an S3-compatible object store it may live in.

The endpoint and credentials come from the standard AWS settings (``AWS_ENDPOINT_URL_S3``,
``AWS_ACCESS_KEY_ID``, ...), which pyarrow, boto3 and MLflow all read; a URI may also name its
endpoint itself (``s3://bucket/path?endpoint_override=host:port&scheme=http``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import pyarrow.fs as pafs

ATTEMPTS = 3
"""Tries of one request to an object store before its error is raised."""


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


def open_filesystem(uri: str, timeout_s: float | None = None) -> tuple[pafs.FileSystem, str]:
    """pyarrow's file system of ``uri`` and the path in it; for ``s3://``, every request bounded.

    ``timeout_s`` bounds connecting and each request, tried :data:`ATTEMPTS` times: a hung object
    store fails an operation within about ``ATTEMPTS x timeout_s`` plus back-off, where the SDK's
    defaults (3 s, 10 retries) take about 100 s. None keeps the SDK's defaults.
    """
    import pyarrow.fs as pafs

    fs, path = pafs.FileSystem.from_uri(uri)
    if timeout_s is None or not isinstance(fs, pafs.S3FileSystem):
        return fs, path
    _, (options,) = fs.__reduce__()  # the options from_uri resolved (endpoint, keys, region, ...)
    bounded = dict(options, connect_timeout=timeout_s, request_timeout=timeout_s)
    retries = pafs.AwsStandardS3RetryStrategy(max_attempts=ATTEMPTS)
    return pafs.S3FileSystem(**bounded, retry_strategy=retries), path


def create_buckets(uris: Iterable[str]) -> list[str]:
    """Create the bucket of every ``s3://`` URI in ``uris`` that does not exist yet; others are left alone.

    Returns:
        The buckets that now exist (created or found), in the order given.

    Raises:
        BucketError: the object store refused or could not be reached.
    """
    done: list[str] = []
    for uri in uris:
        bucket = bucket_of(uri)
        if bucket is None or bucket in done:
            continue
        query = urlsplit(uri).query
        root = f"s3://{bucket}?{'&'.join(filter(None, [query, 'allow_bucket_creation=true']))}"
        try:
            fs, _ = open_filesystem(root)
            fs.create_dir(bucket)
        except OSError as exc:
            raise BucketError(f"cannot create or reach bucket {bucket!r} of {uri!r}: {exc}") from exc
        done.append(bucket)
    return done
