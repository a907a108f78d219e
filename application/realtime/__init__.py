"""Use cases of the real-time transport: negotiate, the Web PubSub upstream events, presence, typing."""
