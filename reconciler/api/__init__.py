"""Capillary v3 API: the async client, authentication, retries and wire models (SPEC §2)."""
