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
    """Delete the queues and exchanges this run declared on the broker."""
    from testsupport.bus_cleanup import delete_declared_names

    delete_declared_names()
