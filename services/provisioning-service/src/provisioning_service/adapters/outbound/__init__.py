"""Outbound adapters: PostgreSQL behind the application's ports."""
