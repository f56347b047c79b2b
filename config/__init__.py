"""Miz's configuration: the settings every layer may read (``config.settings``), free of the others."""

__all__: list[str] = []
