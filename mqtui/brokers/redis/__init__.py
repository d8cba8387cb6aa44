"""Redis lists, streams and pub/sub through redis.asyncio: `adapter.RedisAdapter`."""
