"""The audit works on the sync tests' world: the factory catalog, locations, channels, a
receiver sandbox and the secret key for connection credentials."""

from tests.sync.conftest import receiver, secret_key, world

__all__ = ["receiver", "secret_key", "world"]
