"""Uploads in the admin: listed, searched by name, and deleted with their bytes on disk
(the app's own delete_file); never created or edited here (an upload is a file)."""

from ..admin.options import ModelAdmin
from .actions import delete_file
from .models import File

ADMIN = [
    ModelAdmin(
        File,
        list_display=("original_name", "user_id", "content_type", "size", "created_at"),
        search_fields=("original_name",),
        list_filter=("user_id", "content_type", "created_at"),
        ordering=("-created_at",),
        delete=delete_file,
    ),
]
