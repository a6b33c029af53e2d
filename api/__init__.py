"""Folio's HTTP API (FastAPI): ingestion onto the topics, reads from the live
worker tables and from PostgreSQL. Run with `uvicorn api.main:api`."""
