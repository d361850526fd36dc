"""Source data of fti: the demo data set (UCI Online Retail II) and a synthetic generator.

Both land the same raw layout, one CSV per calendar day at
:func:`fti.data.online_retail.raw_path`, so the feature pipeline consumes either unchanged.
Submodules import pandas and numpy; this package itself imports nothing.
"""
