"""Inbound adapters: they decode, call one use case, and encode the answer."""
