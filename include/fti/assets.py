"""Names of the Airflow Assets the pipelines exchange, defined once (plain strings, no Airflow import)."""


def feature_set_asset_uri(feature_set: str) -> str:
    """URI of the Asset updated whenever ``feature_set`` gets a commit."""
    return f"fti://feature-store/{feature_set}"


#: The demo feature set's Asset (the DAG files need a constant at parse time).
RETAIL_DEMAND_FEATURES = feature_set_asset_uri("retail_demand")
