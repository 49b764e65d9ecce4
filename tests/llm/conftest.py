from tests.helpers.servers import llama_server  # noqa: F401  (session fixture: one real server)
