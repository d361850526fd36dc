"""The steps each Airflow task calls: they compose the pure modules with the store, registry and cache.

DAG files import these inside tasks; every function takes explicit arguments and returns
something small enough for XCom.
"""
