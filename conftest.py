"""Root of every test suite: loads the shared fixtures from tests/testsupport."""

pytest_plugins = [
    "testsupport.services",
    "testsupport.names",
    "testsupport.postgres",
    "testsupport.cognito",
    "testsupport.stack",
    "testsupport.silent_broker",
]


def pytest_sessionfinish(session: object, exitstatus: int) -> None:
    """Delete the queues, exchanges and Redis keys this run left behind."""
    from testsupport.bus_cleanup import delete_declared_names
    from testsupport.redis_cleanup import delete_written_keys

    delete_declared_names()
    delete_written_keys()
