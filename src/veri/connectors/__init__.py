"""Social platform connections: OAuth2 (Authorization Code + PKCE) adapters for YouTube,
Instagram, TikTok and Twitch behind one port, tokens encrypted at rest, and the sync that turns
each connected account's posts and metrics into `content.*` events."""
