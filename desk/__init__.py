"""The domain of Miz, free of any messenger library: Persian text, identifiers, requests and their lifecycle."""

__all__: list[str] = []
