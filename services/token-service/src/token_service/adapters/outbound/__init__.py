"""Outbound adapters: Redis, RabbitMQ, Cognito and JWS."""
