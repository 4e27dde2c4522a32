"""Provider presets: one module per identity provider, each with the rules that provider documents.

``JWTVerifier.auth0``, ``.entra``, ``.keycloak``, ``.okta``, ``.google`` and ``.firebase`` are the
entry points; the modules here hold their issuers, key URLs, claim mappings and provider-specific
checks (``jwt_middleware.cognito`` and ``jwt_middleware.aws`` hold the AWS ones). Importing the
package imports none of them.
"""
