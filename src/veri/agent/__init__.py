"""The agent: chat that answers from memory, with Claude or offline, every run remembered."""
