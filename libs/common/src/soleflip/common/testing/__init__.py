"""Test support: the pytest plugin with real Postgres and NATS fixtures."""
