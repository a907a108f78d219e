"""Adapters of the real-time ports (Azure Web PubSub through its official server SDK)."""
