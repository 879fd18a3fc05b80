"""An AWS environment that can only reach the local stand-ins.

Fake credentials, a fixed region, empty config/credentials files, and no profile, role or container
credential variables, so nothing from the machine's or a developer's real AWS setup is ever used.
"""

from __future__ import annotations

import os
from pathlib import Path

REGION = "us-east-1"
# Until moto runs, any client that is not pointed elsewhere fails fast on a closed local port.
NOWHERE = "http://127.0.0.1:9"

REMOVE = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    # The endpoints are plain http on loopback; a machine-wide CA bundle has no business here.
    "AWS_CA_BUNDLE",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


def isolated_aws_env(workdir: Path) -> tuple[dict[str, str], list[str]]:
    """(variables to set, variables to remove). Endpoint variables of other services are removed too."""
    config = workdir / "aws-config"
    credentials = workdir / "aws-credentials"
    config.write_text("")
    credentials.write_text("")
    values = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": str(config),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": NOWHERE,
    }
    remove = list(REMOVE) + [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_")]
    return values, remove
