"""The README documents every field of the spec format: the reference cannot fall behind the models.

The field list comes from the pydantic models themselves (:func:`fti.specs.reference.fields`); the
README's "Spec reference" is ``python -m fti.specs.reference``'s table, which names each field as
`` `dotted.path` ``.
"""

from __future__ import annotations

from fti.settings import PROJECT_ROOT
from fti.specs.reference import fields

README = PROJECT_ROOT / "README.md"


def test_the_readme_names_every_field_of_the_spec_format() -> None:
    text = README.read_text(encoding="utf-8")
    paths = [path for path, *_ in fields()]

    missing = [path for path in paths if f"`{path}`" not in text]

    assert len(paths) > 90  # every section, nested lists and mappings included
    assert missing == [], (
        f"README.md does not document {len(missing)} of the {len(paths)} spec fields: {missing}; "
        "paste the table `python -m fti.specs.reference` prints into its spec reference"
    )
