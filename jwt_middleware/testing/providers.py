"""Local stand-ins for the identity providers the presets support, minting their tokens' shapes.

Each is a ``LocalIssuer`` (keys on loopback, over real HTTP) whose tokens carry the provider's own
``iss`` and the claims of the provider's documented examples, and whose ``verifier()`` is the
matching ``JWTVerifier`` preset with its key URL pointed here. An app's tests thereby run the
preset exactly as production does, issuer rules and claim mapping included:

* ``LocalAuth0Issuer``: access tokens with ``scope``, ``permissions`` (RBAC), ``azp``, the API and
  ``/userinfo`` audiences; client-credentials tokens (``sub`` ``{client}@clients``, ``gty``);
  ID tokens.
* ``LocalEntraIssuer``: v2.0 and v1.0 access tokens (``scp``, ``roles``, ``tid``, ``oid``, ``ver``),
  app-only tokens, ID tokens, for the home tenant or any other (multi-tenant tests).
* ``LocalKeycloakIssuer``: a realm at ``/realms/{realm}`` on loopback (discovery and
  ``protocol/openid-connect/certs`` where Keycloak serves them), access tokens with
  ``realm_access``/``resource_access`` roles and ``typ: Bearer``, ID and refresh tokens.
* ``LocalOktaIssuer``, ``LocalGoogleIssuer`` and ``LocalFirebaseIssuer`` likewise; the Firebase one
  publishes its keys as X.509 certificates by ``kid``, as Google does for Firebase.

Subjects are stable per user name (``subject_for``), so several tokens of one user agree.
"""

from __future__ import annotations

import datetime
import threading
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from jwt_middleware.providers.entra import entra_issuer
from jwt_middleware.providers.firebase import firebase_issuer
from jwt_middleware.providers.google import GOOGLE_ISSUERS
from jwt_middleware.providers.okta import okta_issuer
from jwt_middleware.testing.issuer import DEFAULT_LIFETIME, LocalIssuer
from jwt_middleware.testing.server import Request, Response
from jwt_middleware.verifier import JWTVerifier

__all__ = [
    "LocalAuth0Issuer",
    "LocalEntraIssuer",
    "LocalFirebaseIssuer",
    "LocalGoogleIssuer",
    "LocalKeycloakIssuer",
    "LocalOktaIssuer",
]

#: Where a preset's key URL is overridden to point here, unless the preset already finds it.
_KEY_OPTIONS: Final = ("jwks_url", "jwks", "jwks_cache", "certificates_url")


#: The roles Keycloak's built-in ``account`` client gives every user.
_ACCOUNT_ROLES: Final = ("manage-account", "manage-account-links", "view-profile")


def _names(values: str | Iterable[str]) -> list[str]:
    return values.split() if isinstance(values, str) else list(values)


def _stable_id(namespace: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}#{name}"))


class _ProviderIssuer(LocalIssuer):
    """What the provider stand-ins share: derived ``iss``/``aud``, and tokens minted in full."""

    def __init__(self, *, issuer: str | None, audience: str | None, **options: Any) -> None:
        if "issuer" in options or "audience" in options:
            raise TypeError(f"{type(self).__name__} derives issuer and audience from its provider settings")
        super().__init__(issuer=issuer, audience=audience, **options)

    def subject_for(self, username: str) -> str:
        """The stable subject of ``username`` at this provider."""
        return _stable_id(self.issuer, username)

    def _token(
        self,
        claims: dict[str, Any],
        overrides: Mapping[str, Any],
        *,
        expires_in: float | None,
        **options: Any,
    ) -> str:
        # mint() sets iss, iat, exp (and jti, aud, sub if not given); the rest is the shape here.
        claims.setdefault("jti", None)
        return self.mint(claims, expires_in=expires_in, **options, **overrides)

    def _preset_keys(
        self, options: dict[str, Any], name: str = "jwks_url", url: str | None = None
    ) -> dict[str, Any]:
        """``options`` with the preset's key URL pointed here, unless the caller chose keys."""
        if not any(option in options for option in _KEY_OPTIONS):
            options[name] = url or self.jwks_url
        return options


class LocalAuth0Issuer(_ProviderIssuer):
    """An Auth0 tenant at ``domain``: ``iss`` ``https://{domain}/``, keys served here.

    ``audience`` is the API identifier, ``client_id`` the application that requests tokens.
    """

    def __init__(
        self,
        *,
        domain: str = "example-tenant.us.auth0.com",
        audience: str = "https://api.example.com",
        client_id: str = "kbyuFDidLLm280LIwVFiazOqjO3ty8KH",
        **options: Any,
    ) -> None:
        self.domain = domain
        self.client_id = client_id
        super().__init__(issuer=f"https://{domain}/", audience=audience, **options)

    def subject_for(self, username: str) -> str:
        return "auth0|" + uuid.uuid5(uuid.NAMESPACE_URL, f"{self.issuer}{username}").hex[:24]

    def mint_access_token(
        self,
        *,
        username: str = "alice",
        scopes: str | Iterable[str] = ("openid", "profile"),
        permissions: Iterable[str] | None = None,
        expires_in: float = 86400,
        alg: str | None = None,
        kid: str | None = None,
        **claims: Any,
    ) -> str:
        """A user's access token for the API; ``permissions`` as RBAC adds them (omitted if ``None``)."""
        granted = _names(scopes)
        token: dict[str, Any] = {"iss": self.issuer, "sub": self.subject_for(username)}
        token["aud"] = [self.audience, f"{self.issuer}userinfo"] if "openid" in granted else self.audience
        token |= {"azp": self.client_id, "scope": " ".join(granted)}
        if permissions is not None:
            token["permissions"] = list(permissions)
        return self._token(token, claims, expires_in=expires_in, alg=alg, kid=kid)

    def mint_m2m_access_token(
        self,
        *,
        scopes: str | Iterable[str] = ("read:orders",),
        permissions: Iterable[str] | None = None,
        expires_in: float = 86400,
        **claims: Any,
    ) -> str:
        """A client-credentials token: ``sub`` is ``{client_id}@clients``, ``gty`` says how it was got."""
        token: dict[str, Any] = {
            "iss": self.issuer,
            "sub": f"{self.client_id}@clients",
            "aud": self.audience,
            "scope": " ".join(_names(scopes)),
            "gty": "client-credentials",
            "azp": self.client_id,
        }
        if permissions is not None:
            token["permissions"] = list(permissions)
        return self._token(token, claims, expires_in=expires_in)

    def mint_id_token(
        self, *, username: str = "alice", email: str | None = None, expires_in: float = 36000, **claims: Any
    ) -> str:
        """An ID token for the application (``aud`` is ``client_id``) with the profile claims."""
        address = email or f"{username}@example.com"
        token: dict[str, Any] = {
            "nickname": username,
            "name": address,
            "picture": "https://s.gravatar.com/avatar/0?s=480&r=pg&d=https%3A%2F%2Fcdn.auth0.com%2Favatars%2Fal.png",
            "updated_at": "2024-01-01T00:00:00.000Z",
            "email": address,
            "email_verified": True,
            "iss": self.issuer,
            "aud": self.client_id,
            "sub": self.subject_for(username),
            "sid": _stable_id(self.issuer, "session"),
        }
        return self._token(token, claims, expires_in=expires_in)

    def verifier(self, **options: Any) -> JWTVerifier:
        """``JWTVerifier.auth0`` for this tenant and API, keys from here (``audience`` may be changed)."""
        options.setdefault("audience", self.audience)
        return JWTVerifier.auth0(domain=self.domain, **self._preset_keys(options))


class LocalEntraIssuer(_ProviderIssuer):
    """A Microsoft Entra tenant: v2.0 ``iss`` ``https://login.microsoftonline.com/{tid}/v2.0``.

    ``client_id`` is the API's application id (the ``aud`` of its v2.0 tokens), ``client_app_id``
    the application that calls it. ``tenant_id=`` on a ``mint_*`` issues for another tenant, as
    a multi-tenant API sees it.
    """

    def __init__(
        self,
        *,
        tenant_id: str = "72f988bf-86f1-41af-91ab-2d7cd011db47",
        client_id: str = "6e74172b-be56-4843-9ff4-e66a39bb12e3",
        client_app_id: str = "5d3ef7b0-e6b5-4bc1-a5e3-3c2b4d2d0b55",
        **options: Any,
    ) -> None:
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_app_id = client_app_id
        super().__init__(issuer=entra_issuer(tenant_id), audience=client_id, **options)

    def issuer_for(self, tenant_id: str | None = None, version: str = "2.0") -> str:
        return entra_issuer(tenant_id or self.tenant_id, version)

    def mint_access_token(
        self,
        *,
        username: str = "alice",
        scopes: str | Iterable[str] = ("access_as_user",),
        roles: Iterable[str] = (),
        tenant_id: str | None = None,
        version: str = "2.0",
        app_only: bool = False,
        expires_in: float = 3600,
        **claims: Any,
    ) -> str:
        """An access token for the API: delegated (``scp``) or, with ``app_only``, an app's (``roles``)."""
        tid = tenant_id or self.tenant_id
        oid = _stable_id(tid, username)
        token: dict[str, Any] = {
            "aud": self.client_id if version == "2.0" else f"api://{self.client_id}",
            "iss": self.issuer_for(tid, version),
            "aio": "AXQAi/8IAAAA",
        }
        if version == "2.0":
            token |= {"azp": self.client_app_id, "azpacr": "0"}
        else:
            token |= {"appid": self.client_app_id, "appidacr": "0"}
        if not app_only:
            token |= {"name": username.title(), "oid": oid, "preferred_username": f"{username}@contoso.com"}
            if version == "1.0":
                token |= {"unique_name": f"{username}@contoso.com", "upn": f"{username}@contoso.com"}
            token |= {"rh": "0.AAAA", "scp": " ".join(_names(scopes))}
        else:
            token |= {"oid": _stable_id(tid, self.client_app_id), "idtyp": "app"}
        if roles := list(roles):
            token["roles"] = roles
        token |= {"sub": _stable_id(self.client_id, token["oid"]), "tid": tid, "uti": "fqiBqXLPj0eQa82S"}
        token["ver"] = version
        return self._entra_token(token, claims, expires_in)

    def mint_id_token(
        self,
        *,
        username: str = "alice",
        tenant_id: str | None = None,
        expires_in: float = 3600,
        **claims: Any,
    ) -> str:
        """A v2.0 ID token for ``client_app_id`` (the app the user signed in to)."""
        tid = tenant_id or self.tenant_id
        oid = _stable_id(tid, username)
        token: dict[str, Any] = {
            "aud": self.client_app_id,
            "iss": self.issuer_for(tid),
            "name": username.title(),
            "oid": oid,
            "preferred_username": f"{username}@contoso.com",
            "rh": "0.AAAA",
            "sub": _stable_id(self.client_app_id, oid),
            "tid": tid,
            "uti": "Dwy2rXJzV0aIiF3BpMYqAA",
            "ver": "2.0",
        }
        return self._entra_token(token, claims, expires_in)

    def _entra_token(self, token: dict[str, Any], overrides: Mapping[str, Any], expires_in: float) -> str:
        # Entra's nbf is its iat: both are set here, as mint() would set iat.
        now = _now_int()
        exp = int(now + expires_in)
        start = now if expires_in >= 0 else exp - DEFAULT_LIFETIME
        token.pop("nbf", None)
        times = {"iat": start, "nbf": start, "exp": exp}
        return self._token(token | times, overrides, expires_in=None)

    def verifier(self, **options: Any) -> JWTVerifier:
        """``JWTVerifier.entra`` for this tenant and API, keys from here.

        ``tenant_id="organizations"`` with ``allowed_tenants=[...]`` makes it multi-tenant.
        """
        options.setdefault("tenant_id", self.tenant_id)
        options.setdefault("audience", self.client_id)
        return JWTVerifier.entra(**self._preset_keys(options))


def _now_int() -> int:
    return int(datetime.datetime.now(datetime.UTC).timestamp())


class LocalKeycloakIssuer(_ProviderIssuer):
    """A Keycloak realm. By default the server is this loopback server itself: the realm's issuer
    is ``{url}/realms/{realm}``, with its discovery document and its keys where Keycloak serves
    them, so ``verifier()`` needs no key URL override. ``server_url`` names another server
    (tokens "from" production, keys from here).

    ``client_id`` is the API's client: its roles are in ``resource_access.{client_id}``, and an
    audience mapper puts it in ``aud`` (beside ``account``).
    """

    def __init__(
        self,
        *,
        realm: str = "orders",
        client_id: str = "orders-api",
        authorized_party: str = "orders-web",
        server_url: str | None = None,
        **options: Any,
    ) -> None:
        self.realm = realm
        self.client_id = client_id
        self.authorized_party = authorized_party
        self._server_url = server_url.rstrip("/") if server_url else None
        options.setdefault("jwks_path", f"/realms/{realm}/protocol/openid-connect/certs")
        super().__init__(issuer=None, audience=client_id, **options)
        self.server.route(
            f"/realms/{realm}/.well-known/openid-configuration",
            lambda _request: Response.json(self.discovery_document()),
        )

    @property
    def server_url(self) -> str:
        return self._server_url if self._server_url is not None else self.url

    @property
    def issuer(self) -> str:
        return f"{self.server_url}/realms/{self.realm}"

    def _realm_roles(self, roles: Iterable[str] | None) -> list[str]:
        defaults = [f"default-roles-{self.realm}", "offline_access", "uma_authorization"]
        return defaults if roles is None else list(roles)

    def _user(self, username: str) -> dict[str, Any]:
        return {
            "email_verified": True,
            "name": username.title(),
            "preferred_username": username,
            "given_name": username.title(),
            "email": f"{username}@example.com",
        }

    def mint_access_token(
        self,
        *,
        username: str = "alice",
        realm_roles: Iterable[str] | None = None,
        client_roles: Mapping[str, Iterable[str]] | None = None,
        scopes: str | Iterable[str] = ("openid", "profile", "email"),
        groups: Iterable[str] | None = None,
        expires_in: float = 300,
        **claims: Any,
    ) -> str:
        """An access token (``typ: Bearer``) with realm roles and per-client roles."""
        resource_access = {client: {"roles": list(roles)} for client, roles in (client_roles or {}).items()}
        resource_access.setdefault(
            "account", {"roles": ["manage-account", "manage-account-links", "view-profile"]}
        )
        token: dict[str, Any] = {
            "auth_time": _now_int(),
            "jti": str(uuid.uuid4()),
            "iss": self.issuer,
            "aud": [self.client_id, "account"],
            "sub": self.subject_for(username),
            "typ": "Bearer",
            "azp": self.authorized_party,
            "sid": _stable_id(self.issuer, "session"),
            "acr": "1",
            "allowed-origins": ["http://localhost:3000"],
            "realm_access": {"roles": self._realm_roles(realm_roles)},
            "resource_access": resource_access,
            "scope": " ".join(_names(scopes)),
        }
        if groups is not None:
            token["groups"] = list(groups)
        return self._token(token | self._user(username), claims, expires_in=expires_in)

    def mint_id_token(
        self, *, username: str = "alice", nonce: str | None = None, expires_in: float = 300, **claims: Any
    ) -> str:
        """An ID token (``typ: ID``) for ``authorized_party``."""
        token: dict[str, Any] = {
            "auth_time": _now_int(),
            "jti": str(uuid.uuid4()),
            "iss": self.issuer,
            "aud": self.authorized_party,
            "sub": self.subject_for(username),
            "typ": "ID",
            "azp": self.authorized_party,
            "sid": _stable_id(self.issuer, "session"),
            "acr": "1",
        }
        if nonce is not None:
            token["nonce"] = nonce
        return self._token(token | self._user(username), claims, expires_in=expires_in)

    def mint_refresh_token(self, *, username: str = "alice", expires_in: float = 1800, **claims: Any) -> str:
        """A refresh token (``typ: Refresh``): signed by the same realm keys, never an access token."""
        token: dict[str, Any] = {
            "jti": str(uuid.uuid4()),
            "iss": self.issuer,
            "aud": self.issuer,
            "sub": self.subject_for(username),
            "typ": "Refresh",
            "azp": self.authorized_party,
            "sid": _stable_id(self.issuer, "session"),
            "scope": "openid profile email",
        }
        return self._token(token, claims, expires_in=expires_in)

    def verifier(self, **options: Any) -> JWTVerifier:
        """``JWTVerifier.keycloak`` for this realm and client; keys where Keycloak serves them."""
        options.setdefault("audience", self.client_id)
        options.setdefault("client_id", self.client_id)
        if self._server_url is not None:
            self._preset_keys(options)
        return JWTVerifier.keycloak(server_url=self.server_url, realm=self.realm, **options)


class LocalOktaIssuer(_ProviderIssuer):
    """An Okta custom authorization server: ``iss`` ``https://{domain}/oauth2/{server}``."""

    def __init__(
        self,
        *,
        domain: str = "dev-123456.okta.com",
        authorization_server: str = "default",
        audience: str = "api://default",
        client_id: str = "0oa1b2c3d4E5f6G7h8i9",
        **options: Any,
    ) -> None:
        self.domain = domain
        self.authorization_server = authorization_server
        self.client_id = client_id
        super().__init__(issuer=okta_issuer(domain, authorization_server), audience=audience, **options)

    def mint_access_token(
        self,
        *,
        username: str = "alice",
        scopes: str | Iterable[str] = ("openid", "profile"),
        groups: Iterable[str] | None = None,
        expires_in: float = 3600,
        **claims: Any,
    ) -> str:
        """An access token: ``scp`` as a list, ``cid``, ``uid``, ``groups`` when given; no ``typ``."""
        token: dict[str, Any] = {
            "ver": 1,
            "jti": "AT." + uuid.uuid4().hex,
            "iss": self.issuer,
            "aud": self.audience,
            "cid": self.client_id,
            "uid": "00u" + uuid.uuid5(uuid.NAMESPACE_URL, f"{self.issuer}{username}").hex[:17],
            "scp": _names(scopes),
            "auth_time": _now_int(),
            "sub": f"{username}@example.com",
        }
        if groups is not None:
            token["groups"] = list(groups)
        return self._token(token, claims, expires_in=expires_in, headers={"typ": None})

    def verifier(self, **options: Any) -> JWTVerifier:
        """``JWTVerifier.okta`` for this server and audience, keys from here."""
        options.setdefault("audience", self.audience)
        return JWTVerifier.okta(
            domain=self.domain, authorization_server=self.authorization_server, **self._preset_keys(options)
        )


class LocalGoogleIssuer(_ProviderIssuer):
    """Google's ID tokens for the OAuth client ``client_id``, in either ``iss`` spelling."""

    def __init__(
        self, *, client_id: str = "1234567890-abc123def456.apps.googleusercontent.com", **options: Any
    ) -> None:
        self.client_id = client_id
        super().__init__(issuer=GOOGLE_ISSUERS[0], audience=client_id, **options)

    def subject_for(self, username: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"google#{username}").int)[:21]

    def mint_id_token(
        self,
        *,
        username: str = "alice",
        hosted_domain: str | None = None,
        issuer: str | None = None,
        expires_in: float = 3600,
        **claims: Any,
    ) -> str:
        """An ID token; ``issuer="accounts.google.com"`` mints the other documented spelling."""
        domain = hosted_domain or "gmail.com"
        token: dict[str, Any] = {
            "iss": issuer or self.issuer,
            "azp": self.client_id,
            "aud": self.client_id,
            "sub": self.subject_for(username),
            "email": f"{username}@{domain}",
            "email_verified": True,
            "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q",
            "name": username.title(),
            "given_name": username.title(),
        }
        if hosted_domain is not None:
            token["hd"] = hosted_domain
        return self._token(token, claims, expires_in=expires_in)

    def verifier(self, **options: Any) -> JWTVerifier:
        """``JWTVerifier.google`` for this client id, keys from here."""
        options.setdefault("audience", self.client_id)
        return JWTVerifier.google(**self._preset_keys(options))


class LocalFirebaseIssuer(_ProviderIssuer):
    """Firebase Authentication for ``project_id``; keys published as X.509 certificates by ``kid``.

    The certificate document is at ``certificates_url`` (Google's path, on loopback), each
    certificate self-signed and valid for ``certificate_lifetime`` seconds from an hour ago.
    """

    CERTIFICATES_PATH: Final = "/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"

    def __init__(
        self,
        *,
        project_id: str = "my-app-1a2b3",
        certificate_lifetime: float = 14 * 86400,
        **options: Any,
    ) -> None:
        self.project_id = project_id
        self.certificate_lifetime = certificate_lifetime
        self._certificates: dict[str, str] = {}
        self._certificates_lock = threading.Lock()
        super().__init__(issuer=firebase_issuer(project_id), audience=project_id, **options)
        self.server.route(self.CERTIFICATES_PATH, self._serve_certificates)

    @property
    def certificates_url(self) -> str:
        return self.url + self.CERTIFICATES_PATH

    def certificates(self) -> dict[str, str]:
        """The certificate document as served now: ``{kid: PEM}`` for every published RSA key."""
        document = {}
        for key in self.keys:
            if key.kid is None or not isinstance(key.private_key, rsa.RSAPrivateKey):
                continue
            with self._certificates_lock:
                if key.kid not in self._certificates:
                    self._certificates[key.kid] = _self_signed(key.private_key, self.certificate_lifetime)
                document[key.kid] = self._certificates[key.kid]
        return document

    def _serve_certificates(self, _request: Request) -> Response:
        headers = {"Cache-Control": self.cache_control} if self.cache_control else None
        return Response.json(self.certificates(), headers=headers)

    def mint_id_token(
        self,
        *,
        uid: str | None = None,
        email: str | None = "alice@example.com",
        sign_in_provider: str = "password",
        expires_in: float = 3600,
        **claims: Any,
    ) -> str:
        """An ID token: ``sub`` and ``user_id`` are the uid, ``firebase`` says how the user signed in."""
        user = uid or uuid.uuid5(uuid.NAMESPACE_URL, f"{self.issuer}{email}").hex[:28]
        token: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.project_id,
            "auth_time": _now_int(),
            "user_id": user,
            "sub": user,
        }
        identities: dict[str, Any] = {}
        if email is not None:
            token |= {"email": email, "email_verified": False}
            identities["email"] = [email]
        token["firebase"] = {"identities": identities, "sign_in_provider": sign_in_provider}
        return self._token(token, claims, expires_in=expires_in)

    def verifier(self, **options: Any) -> JWTVerifier:
        """``JWTVerifier.firebase`` for this project, reading the certificates served here."""
        keys = self._preset_keys(options, "certificates_url", self.certificates_url)
        return JWTVerifier.firebase(project_id=self.project_id, **keys)


def _self_signed(private_key: rsa.RSAPrivateKey, lifetime: float) -> str:
    """A self-signed certificate for ``private_key``'s public key, as Google's securetoken ones are."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken.system.gserviceaccount.com")])
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(seconds=3600 + lifetime))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private_key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
