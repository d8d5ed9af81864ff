"""Vendor risk scoring: the model (pure), weights (one versioned file), service."""
