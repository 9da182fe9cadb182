"""Inbound adapters: the HTTP partner API and browser pages."""
