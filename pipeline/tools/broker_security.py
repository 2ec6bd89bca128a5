"""The local broker's secured mode: a SASL_SSL listener, SCRAM users and KRaft ACLs.

The same Maven-built broker as :mod:`pipeline.tools.broker`, configured like a production
cluster so the security settings are tested against a real one
(tests/integration/test_secured_broker.py):

- clients reach it only over SASL_SSL with SCRAM-SHA-512 (or -256): no PLAINTEXT listener;
- its SCRAM users are created when the storage is formatted (``--add-scram``), before it runs;
- KRaft's ``StandardAuthorizer`` allows nothing that no ACL grants (``admin`` is super user);
- the controller listener takes SASL PLAIN from the broker itself: a KRaft controller cannot
  check SCRAM passwords, which live in the metadata log it serves.

Certificates are the caller's: a PKCS#12 keystore with the broker's key and certificate, and the
PEM file of the CA that signed it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRAM_MECHANISM = "SCRAM-SHA-512"
AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


@dataclass(frozen=True)
class BrokerSecurity:
    """What the secured broker needs: its certificate, its CA and its users."""

    keystore: Path  # PKCS#12: the broker's private key and certificate
    keystore_password: str
    cafile: Path  # PEM: the CA that signed the broker's certificate
    admin_password: str
    users: Mapping[str, str] = field(default_factory=dict)  # SCRAM user -> password
    admin: str = "admin"

    def server_properties(self, broker_port: int, controller_port: int) -> str:
        """Lines appended to server.properties (later keys win over the template's)."""
        admin = f'username="{self.admin}" password="{self.admin_password}"'
        scram = f"org.apache.kafka.common.security.scram.ScramLoginModule required {admin};"
        plain = (
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'{admin} user_{self.admin}="{self.admin_password}";'
        )
        lines = [
            "# secured mode (pipeline/tools/broker_security.py)",
            f"listeners=SASL_SSL://127.0.0.1:{broker_port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=SASL_SSL://127.0.0.1:{broker_port}",
            "inter.broker.listener.name=SASL_SSL",
            "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_PLAINTEXT",
            "sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256",
            f"sasl.mechanism.inter.broker.protocol={SCRAM_MECHANISM}",
            "sasl.mechanism.controller.protocol=PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
            f"listener.name.controller.plain.sasl.jaas.config={plain}",
            f"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={scram}",
            f"listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config={scram}",
            "ssl.keystore.type=PKCS12",
            f"ssl.keystore.location={self.keystore}",
            f"ssl.keystore.password={self.keystore_password}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={self.cafile}",
            f"authorizer.class.name={AUTHORIZER}",
            f"super.users=User:{self.admin}",
            "allow.everyone.if.no.acl.found=false",
        ]
        return "\n".join(lines) + "\n"

    def format_args(self) -> list[str]:
        """``kafka-storage format`` arguments that create the SCRAM users (admin included)."""
        users = {self.admin: self.admin_password, **self.users}
        return [
            arg
            for name, password in users.items()
            for arg in ("--add-scram", f"{SCRAM_MECHANISM}=[name={name},password={password}]")
        ]

    def admin_client(self, bootstrap: str) -> dict[str, Any]:
        """kafka-python client options of the ``admin`` super user."""
        import ssl

        return {
            "bootstrap_servers": bootstrap,
            "security_protocol": "SASL_SSL",
            "ssl_context": ssl.create_default_context(cafile=str(self.cafile)),
            "sasl_mechanism": SCRAM_MECHANISM,
            "sasl_plain_username": self.admin,
            "sasl_plain_password": self.admin_password,
        }
