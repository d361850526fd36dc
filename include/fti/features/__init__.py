"""Feature definitions and their computation: pure functions, shared by training and inference."""
