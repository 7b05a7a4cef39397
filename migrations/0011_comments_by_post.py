"""The comments' changes are counted by post too (www/db/versions.py), so a new comment
drops only its own post's cached page, not every post's.

Written by hand: the models do not change.
"""

from www.migrate.operations import CountChangesBy

operations = [
    CountChangesBy("comments", "post_id"),
]
