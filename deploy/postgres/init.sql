-- One PostgreSQL server, three databases, each owned by a role of its own:
--   airflow          Airflow's metadata DB and the Celery result backend
--   feature_catalog  the fti feature-store catalog (FTI_CATALOG_URL)
--   mlflow           MLflow's tracking and registry store
--
-- The postgres image runs this file once, when the data volume is empty, with psql as the
-- superuser. Passwords come from the container's environment (set from .env by
-- docker-compose.yaml) through psql's \getenv, so none is written here. A missing one stops
-- the initialisation with an error (the entrypoint runs psql with ON_ERROR_STOP=1).

\set ON_ERROR_STOP on

\getenv airflow_password AIRFLOW_DB_PASSWORD
\getenv catalog_password FTI_CATALOG_DB_PASSWORD
\getenv mlflow_password MLFLOW_DB_PASSWORD

\if :{?airflow_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'AIRFLOW_DB_PASSWORD is not set in the postgres container'; END $$;
\endif
\if :{?catalog_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'FTI_CATALOG_DB_PASSWORD is not set in the postgres container'; END $$;
\endif
\if :{?mlflow_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'MLFLOW_DB_PASSWORD is not set in the postgres container'; END $$;
\endif

CREATE ROLE airflow LOGIN PASSWORD :'airflow_password';
CREATE ROLE feature_catalog LOGIN PASSWORD :'catalog_password';
CREATE ROLE mlflow LOGIN PASSWORD :'mlflow_password';

CREATE DATABASE airflow OWNER airflow;
CREATE DATABASE feature_catalog OWNER feature_catalog;
CREATE DATABASE mlflow OWNER mlflow;

-- No role may connect to another's database (PUBLIC has CONNECT by default).
REVOKE ALL ON DATABASE airflow FROM PUBLIC;
REVOKE ALL ON DATABASE feature_catalog FROM PUBLIC;
REVOKE ALL ON DATABASE mlflow FROM PUBLIC;
