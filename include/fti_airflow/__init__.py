"""Airflow glue shared by the DAG files: spec discovery, default arguments, fail-fast tasks, connections.

The domain package ``fti`` never imports Airflow; this package is the thin layer that does. Importing
it imports only Airflow, the standard library and the (pandas-free) spec models.
"""
