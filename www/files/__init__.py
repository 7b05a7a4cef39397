"""Files: streamed uploads, downloads for their owner, and public inline images."""
