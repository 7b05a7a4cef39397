"""Each table counts its changes (www/db/versions.py), so the caches drop only what a
write can change: a new comment leaves the cached home page alone.

Written by hand: the models do not change. Tables created after this migration get their
counting triggers with their CREATE TABLE.
"""

from www.migrate.operations import CountChanges

operations = [
    CountChanges(),
]
