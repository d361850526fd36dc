"""Training: splitting by time, the model Pipeline, fitting."""
