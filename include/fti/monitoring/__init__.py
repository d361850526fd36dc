"""Checks of inference data against what the champion was trained on: schema and drift."""
