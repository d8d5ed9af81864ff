"""Feeds: sync from feeds.yaml, fetch state, health."""
