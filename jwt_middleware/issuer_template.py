"""``IssuerTemplate``: one accepted issuer per tenant, named by the token itself.

A multi-tenant provider signs every tenant's tokens with one key set but gives each tenant its own
issuer: Microsoft Entra's ``https://login.microsoftonline.com/{tid}/v2.0``, where ``tid`` is a
claim of the same token. Matching such tokens against a fixed list of issuer strings is impossible,
and the usual workaround, turning the issuer check off and hoping the tenant is checked somewhere,
is how multi-tenant verifiers come to accept any tenant's tokens.

A template keeps the issuer rule exact: the token's own claim fills the template, the result must
equal ``iss`` character for character, and the claim's value must be one of the configured tenants.
Plain issuer strings beside it are still matched exactly, and nothing a token carries can make a
template match another issuer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from jwt_middleware import reasons
from jwt_middleware.errors import ConfigurationError, InvalidIssuerError

__all__ = ["IssuerTemplate"]

_PLACEHOLDER: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class IssuerTemplate:
    """An issuer with one ``{claim}`` placeholder, filled from that claim of each token.

    ``IssuerTemplate("https://login.microsoftonline.com/{tid}/v2.0", allowed=[tenant, ...])``
    accepts a token whose ``iss`` is that URL with its own ``tid`` in it, when that ``tid`` is in
    ``allowed``. ``allowed`` is required and may not be empty: accepting every tenant is never a
    default. ``template`` (the text as written) is how the verifier names the issuer, as the key of
    ``jwks_url`` and ``key_sources`` mappings.
    """

    __slots__ = ("_prefix", "_suffix", "allowed", "claim", "template")

    template: str
    claim: str
    allowed: frozenset[str]
    _prefix: str
    _suffix: str

    def __init__(self, template: str, *, allowed: Iterable[str]) -> None:
        if not isinstance(template, str):
            raise ConfigurationError("an issuer template must be a string")
        placeholders = _PLACEHOLDER.findall(template)
        if len(placeholders) != 1 or template.count("{") != 1 or template.count("}") != 1:
            raise ConfigurationError(
                "an issuer template has exactly one {claim} placeholder, "
                "such as 'https://login.microsoftonline.com/{tid}/v2.0'"
            )
        if isinstance(allowed, str):
            allowed = (allowed,)
        try:
            values = frozenset(allowed)
        except TypeError:
            raise ConfigurationError("allowed must be a list of accepted values") from None
        if not values or not all(isinstance(value, str) and value for value in values):
            raise ConfigurationError(
                f"an issuer template needs the accepted values of {placeholders[0]!r} "
                "(non-empty strings): there is no 'any' default"
            )
        prefix, _, suffix = template.partition("{" + placeholders[0] + "}")
        set_slot = object.__setattr__
        set_slot(self, "template", template)
        set_slot(self, "claim", placeholders[0])
        set_slot(self, "allowed", values)
        set_slot(self, "_prefix", prefix)
        set_slot(self, "_suffix", suffix)

    def issuer_for(self, value: str) -> str:
        """The issuer a token whose claim holds ``value`` must name."""
        return self._prefix + value + self._suffix

    def matches(self, iss: str, claims: Mapping[str, Any]) -> bool:
        """Whether ``iss`` is this template filled with the token's own claim.

        Raises ``InvalidIssuerError`` (naming the claim) when it is, but for a value not allowed:
        the token is of this issuer's form, from a tenant this service does not serve.
        """
        value = claims.get(self.claim)
        if not isinstance(value, str) or not value or iss != self.issuer_for(value):
            return False
        if value not in self.allowed:
            raise InvalidIssuerError(
                "The token's tenant is not accepted",
                claim=self.claim,
                expected=tuple(sorted(self.allowed)),
                code=reasons.TENANT_NOT_ALLOWED,
                found=value,
            )
        return True

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("IssuerTemplate is immutable")

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, IssuerTemplate)
            and other.template == self.template
            and other.allowed == self.allowed
        )

    def __hash__(self) -> int:
        return hash((self.template, self.allowed))

    def __repr__(self) -> str:
        return f"IssuerTemplate({self.template!r}, allowed={sorted(self.allowed)!r})"
