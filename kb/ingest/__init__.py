"""Ingestion: feeds.yaml to the database, one stage per module (DESIGN.md rule 7)."""
