"""Streaming reports (issue 4)."""

__all__: list[str] = []
