"""Batch inference: the inputs a batch predicts from, and the checks they pass before anything is written."""
