"""The control room: one server-rendered page (and its JSON) over the feature store, MLflow and Redis.

:mod:`~fti.ui.views` turns records into view models, :mod:`~fti.ui.svg` and :mod:`~fti.ui.page`
render them (pure functions), :mod:`~fti.ui.sources` gathers the records (the only I/O),
:mod:`~fti.ui.links` builds the task buttons' URLs and :mod:`~fti.ui.app` wires it all into a
FastAPI app that the Airflow plugin (``plugins/fti_plugin.py``) mounts at ``/fti``.
Importing any of them imports neither pandas, MLflow nor redis.
"""
