"""Real things the tests drive: throwaway servers (``services``) and the like, with no pytest in them.

Plain Python, so a notebook or a benchmark can use the same servers as the tests; ``tests/conftest.py``
wraps them in fixtures. Import it as ``tests.harness``: pytest puts the project root on ``sys.path``
(``pythonpath`` in ``pyproject.toml``), as does ``python -m pytest`` run from there.
"""
