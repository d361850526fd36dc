"""Data validation with Great Expectations: the raw-transactions and feature suites, defined as code,
and the runner that checks a DataFrame against one of them and reports what failed.

Importing this package imports neither Great Expectations nor pandas; the suites are built and run
inside functions.
"""
