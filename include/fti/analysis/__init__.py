"""Model analysis: metrics, slices, baselines and the promotion gate."""
