"""Image and array kernels (issue 3)."""

__all__: list[str] = []
