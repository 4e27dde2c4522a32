"""AWS partitions: which regions each holds and the DNS suffix its service endpoints end in.

A region name decides its partition, and the partition decides the domain of every regional
endpoint: ``cognito-idp.eu-west-1.amazonaws.com``, ``cognito-idp.cn-north-1.amazonaws.com.cn``,
``cognito-idp.eusc-de-east-1.amazonaws.eu`` (the AWS European Sovereign Cloud). Cognito issuers,
ALB signer ARNs and API Gateway method ARNs are all read against this one table, so a region the
table does not know is refused everywhere alike rather than accepted somewhere by a looser pattern.

The region patterns are those the AWS SDKs ship for each partition (``partitions.json``); the ISO
partitions are listed for completeness, with the suffixes the SDKs give them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from jwt_middleware.errors import ConfigurationError

__all__ = ["PARTITIONS", "REGION_PATTERN", "Partition", "partition_named", "partition_of"]


@dataclass(frozen=True, slots=True)
class Partition:
    """One AWS partition: its ARN name (``aws-cn``), its endpoints' DNS suffix, its regions."""

    name: str
    dns_suffix: str
    #: A regular expression (no anchors) matching exactly this partition's region names.
    regions: str


PARTITIONS: Final = (
    Partition("aws", "amazonaws.com", r"(?:us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-[0-9]{1,2}"),
    Partition("aws-cn", "amazonaws.com.cn", r"cn-[a-z]+-[0-9]{1,2}"),
    Partition("aws-us-gov", "amazonaws.com", r"us-gov-[a-z]+-[0-9]{1,2}"),
    Partition("aws-eusc", "amazonaws.eu", r"eusc-[a-z]{2}-[a-z]+-[0-9]{1,2}"),
    Partition("aws-iso", "c2s.ic.gov", r"us-iso-[a-z]+-[0-9]{1,2}"),
    Partition("aws-iso-b", "sc2s.sgov.gov", r"us-isob-[a-z]+-[0-9]{1,2}"),
    Partition("aws-iso-e", "cloud.adc-e.uk", r"eu-isoe-[a-z]+-[0-9]{1,2}"),
    Partition("aws-iso-f", "csp.hci.ic.gov", r"us-isof-[a-z]+-[0-9]{1,2}"),
)

#: Any region of any partition (no anchors, no groups), for embedding in larger patterns.
REGION_PATTERN: Final = "(?:" + "|".join(partition.regions for partition in PARTITIONS) + ")"

_BY_NAME: Final = {partition.name: partition for partition in PARTITIONS}
_COMPILED: Final = tuple((re.compile(partition.regions), partition) for partition in PARTITIONS)


def partition_of(region: str) -> Partition:
    """The partition ``region`` belongs to; ``ConfigurationError`` for a name no partition has."""
    if isinstance(region, str):
        for pattern, partition in _COMPILED:
            if pattern.fullmatch(region):
                return partition
    raise ConfigurationError(f"{region!r} is not an AWS region name")


def partition_named(name: str) -> Partition | None:
    """The partition an ARN names (``arn:{name}:...``), or ``None`` if there is no such partition."""
    return _BY_NAME.get(name)
