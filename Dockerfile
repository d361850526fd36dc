# syntax=docker/dockerfile:1
# One image for every Airflow service of the compose stack (api-server, scheduler, dag-processor,
# triggerer, celery worker) and for the MLflow server: Python 3.11 + exactly requirements.txt.
#
# Not FROM apache/airflow: that image brings Airflow's own constraints, and our lock pins a
# different set (Airflow 3.3.2 with fastapi 0.136.3, see the README). The Python minor version
# must match the lock's (`make lock` resolves for 3.11); tests/unit/deploy checks it.
FROM python:3.11-slim-bookworm

ARG AIRFLOW_UID=50000

# tini reaps zombies and forwards SIGTERM, so a Celery worker shuts down warmly on `docker stop`;
# curl is for the compose healthchecks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl tini \
    && rm -rf /var/lib/apt/lists/*

ENV AIRFLOW_HOME=/opt/airflow \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    FTI_VAR_DIR=/data

WORKDIR /opt/airflow

# The environment, exactly as the lock pins it (the same two steps as `make venv`), byte-compiled
# because every task would otherwise pay seconds of imports. uv itself is pinned in the lock.
COPY requirements.txt ./
RUN UV_VERSION="$(sed -n 's/^uv==//p' requirements.txt)" \
    && test -n "$UV_VERSION" \
    && pip install --no-cache-dir "uv==${UV_VERSION}" \
    && uv venv --python /usr/local/bin/python3.11 "$VIRTUAL_ENV" \
    && uv pip sync --compile-bytecode requirements.txt

# The project: the fti package (editable) and the CLI, the DAGs and the data-set specs (specs/*.yaml).
COPY pyproject.toml ./
COPY include/ include/
RUN uv pip install --compile-bytecode --no-deps --no-build-isolation -e . \
    && python -m compileall -q include

COPY dags/ dags/
COPY plugins/ plugins/
COPY scripts/ scripts/
COPY specs/ specs/
COPY airflow_settings.yaml ./

# Like the official image: user `airflow`, uid 50000, group 0, and group-writable state folders,
# so the stack also runs under another uid (AIRFLOW_UID) as long as its group is 0.
# /data is the mount point of the shared `fti-data` volume, /opt/airflow/auth that of `airflow-auth`
# (the admin's password, readable by no other user); a new named volume copies its mount point's
# owner and mode on first use.
RUN useradd --uid "${AIRFLOW_UID}" --gid 0 --home-dir /opt/airflow --no-create-home \
        --shell /bin/bash airflow \
    && mkdir -p /opt/airflow/logs /opt/airflow/auth /data/raw /data/store /data/cache /data/mlartifacts \
    && chown -R "${AIRFLOW_UID}:0" /opt/airflow/logs /opt/airflow/auth /data \
    && chown "${AIRFLOW_UID}:0" /opt/airflow \
    && chmod -R g+rwX /opt/airflow/logs /data \
    && chmod g+rwX /opt/airflow \
    && chmod 0770 /opt/airflow/auth

USER ${AIRFLOW_UID}

EXPOSE 8080 8793 5000

# Like the official image, the command is an Airflow command:
#   command: api-server | scheduler | dag-processor | triggerer | celery worker
ENTRYPOINT ["/usr/bin/tini", "--", "airflow"]
CMD ["version"]
