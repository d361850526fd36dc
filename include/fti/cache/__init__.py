"""The Redis prediction cache: key layout, publication and lookups."""
