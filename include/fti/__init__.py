"""fti: the domain package of fti-airflow (feature, training and inference pipelines).

Nothing here imports Airflow; every module is importable without side effects.
"""

__version__ = "0.1.0"
