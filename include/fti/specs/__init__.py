"""Data-set specs: the YAML declaration of a forecasting data set and its pydantic models.

``specs/<name>.yaml`` in the checkout (or ``FTI_SPECS_DIR``) holds one data set each; every
pipeline step receives the parsed :class:`DatasetSpec`.
"""

from fti.specs.loader import SpecError, load_dataset, load_spec, spec_files, spec_path
from fti.specs.model import SPEC_VERSION, DatasetSpec, snake

__all__ = [
    "SPEC_VERSION",
    "DatasetSpec",
    "SpecError",
    "load_dataset",
    "load_spec",
    "snake",
    "spec_files",
    "spec_path",
]
