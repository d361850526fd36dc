"""The MLflow model registry: logging with lineage, versions and aliases."""
