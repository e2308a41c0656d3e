from tests.service.conftest import server  # noqa: F401  (the shared real-server fixture)
