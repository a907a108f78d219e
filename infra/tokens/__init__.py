"""Our access tokens: ES256 JWTs (PyJWT), the signing-key ring and its rotation, the JWKS."""
