"""Sign-in providers (Google, Apple, Microsoft through msal, generic OIDC, dev): discovery, JWKS,
ID-token verification with PyJWT, the code exchange, Apple's client secret. Imported lazily by
``bootstrap.py`` only (PyJWT, cryptography and msal stay out of the cold start)."""
