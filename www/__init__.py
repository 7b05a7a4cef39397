"""www: an aiohttp blog starter. `create_app()` builds the application; see README.md."""

from .keys import CONFIG, DB

__all__ = ["CONFIG", "DB"]
