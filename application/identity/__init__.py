"""Identity use cases: sign-in with external providers, our sessions and tokens, two-factor auth."""
