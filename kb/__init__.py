"""kb: a self-hosted knowledge base of LLM vendor governance, stability and lock-in risk."""

__version__ = "0.1.0"
