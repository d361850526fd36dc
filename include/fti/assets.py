"""Names of the Airflow Assets the pipelines exchange, defined once (plain strings, no Airflow import)."""


def feature_set_asset_uri(dataset: str) -> str:
    """URI of the Asset updated whenever the data set's feature set gets a commit."""
    return f"fti://feature-store/{dataset}"


def retraining_asset_uri(dataset: str) -> str:
    """URI of the Asset updated when a failing decay verdict asks for the data set's model to be retrained."""
    return f"fti://retraining/{dataset}"
