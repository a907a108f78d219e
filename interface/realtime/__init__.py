"""The Web PubSub side of the API: negotiate, the upstream CloudEvents handler, presence."""
