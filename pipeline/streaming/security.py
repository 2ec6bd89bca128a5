"""Kafka security settings as each client library's configuration: the one place they meet.

Every Kafka client the project creates takes its connection settings from here, so a
``CXSTREAM_KAFKA_*`` setting means the same thing everywhere: the Faust worker
(:func:`faust_credentials`), kafka-python admin clients, consumers and producers, and aiokafka
(:func:`client_config`: both libraries read the same keys). docs/security.md says which
settings a managed Kafka needs and which ACLs the worker's principal must be granted.

A refused password or an untrusted certificate shows in kafka-python only as a bootstrap that
never completes: it logs the cause and retries until its 30 s timeout, then says "unable to
bootstrap". :func:`check_access` opens one connection the way the clients will, before they
do, so a command fails at once with one line naming the setting to fix.
"""

from __future__ import annotations

import asyncio
import ssl
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pipeline.settings import SettingProblem, Settings, SettingsError

if TYPE_CHECKING:
    from faust.types.auth import CredentialsT

# aiokafka and Faust are imported where used: the CLI imports this module for its error type,
# and `cxstream --help` stays fast.

TLS_PROTOCOLS = frozenset({"SSL", "SASL_SSL"})
SASL_PROTOCOLS = frozenset({"SASL_PLAINTEXT", "SASL_SSL"})
CHECK_TIMEOUT_S = 15.0
"""Longest wait for the access check's connection (TLS handshake and SASL exchange)."""


class KafkaAccessError(RuntimeError):
    """The broker refused this client's credentials or certificate; the text is one line that
    names the setting to fix."""


def kafka_password(settings: Settings) -> str | None:
    """The SASL password: ``CXSTREAM_KAFKA_PASSWORD``, else ``CXSTREAM_KAFKA_PASSWORD_FILE``
    (a mounted secret; one trailing line break is not part of the password)."""
    if settings.kafka_password is not None:
        return settings.kafka_password.get_secret_value()
    path = settings.kafka_password_file
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _setting_error(
            "kafka_password_file", str(path), "must be a readable file", exc
        ) from exc
    return text.removesuffix("\n").removesuffix("\r")


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of SSL and SASL_SSL connections (None for the other protocols).

    It trusts only ``CXSTREAM_KAFKA_SSL_CAFILE`` when that is set (a private CA), else the
    system's CAs (managed services with public certificates); a client certificate is sent
    when ``CXSTREAM_KAFKA_SSL_CERTFILE`` is set (mutual TLS).
    """
    if settings.kafka_security_protocol not in TLS_PROTOCOLS:
        return None
    cafile = settings.kafka_ssl_cafile
    try:
        context = ssl.create_default_context(cafile=None if cafile is None else str(cafile))
    except (OSError, ssl.SSLError) as exc:
        raise _setting_error(
            "kafka_ssl_cafile", str(cafile), "must be a readable PEM file of CA certificates", exc
        ) from exc
    context.check_hostname = settings.kafka_ssl_check_hostname
    certfile, keyfile = settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile
    if certfile is not None:
        try:
            context.load_cert_chain(str(certfile), None if keyfile is None else str(keyfile))
        except (OSError, ssl.SSLError) as exc:
            raise _setting_error(
                "kafka_ssl_certfile",
                str(certfile),
                "must be a readable PEM certificate whose private key is in it or in "
                "CXSTREAM_KAFKA_SSL_KEYFILE",
                exc,
            ) from exc
    return context


def client_config(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for a kafka-python or aiokafka client: bootstrap servers and security
    (the two libraries name these options the same)."""
    protocol = settings.kafka_security_protocol
    config: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": protocol,
    }
    if protocol in TLS_PROTOCOLS:
        config["ssl_context"] = ssl_context(settings)
    if protocol in SASL_PROTOCOLS:
        config["sasl_mechanism"] = settings.kafka_sasl_mechanism
        config["sasl_plain_username"] = settings.kafka_username
        config["sasl_plain_password"] = kafka_password(settings)
    return config


def faust_credentials(settings: Settings) -> CredentialsT | None:
    """The Faust app's ``broker_credentials`` (None for PLAINTEXT)."""
    from faust.auth import SASLCredentials, SSLCredentials

    protocol = settings.kafka_security_protocol
    context = ssl_context(settings)
    if protocol in SASL_PROTOCOLS:
        return SASLCredentials(
            username=settings.kafka_username,
            password=kafka_password(settings),
            ssl_context=context,  # with a context Faust speaks SASL_SSL, without SASL_PLAINTEXT
            mechanism=settings.kafka_sasl_mechanism,
        )
    if context is not None:
        return SSLCredentials(context)
    return None


def check_access(settings: Settings, timeout_s: float = CHECK_TIMEOUT_S) -> None:
    """Connect to the first bootstrap server as the clients will and raise
    :class:`KafkaAccessError` if the broker refuses the credentials or the certificate.

    Does nothing for PLAINTEXT, and nothing when the broker cannot be reached at all: the
    command's own error says that, naming the address.
    """
    if settings.kafka_security_protocol == "PLAINTEXT":
        return
    config = client_config(settings)
    host, _, port = settings.bootstrap_servers.split(",")[0].strip().rpartition(":")
    if not host or not port.isdigit():  # no port given: Kafka's default, as the clients use
        host, port = f"{host}:{port}".strip(":"), "9092"
    # Its own thread and event loop: callers may be synchronous or inside a running loop.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cxstream-access") as pool:
        refusal = pool.submit(asyncio.run, _probe(host, int(port), config, timeout_s)).result()
    if refusal is not None:
        raise KafkaAccessError(_explain(settings, f"{host}:{port}", *refusal))


async def _probe(
    host: str, port: int, config: dict[str, Any], timeout_s: float
) -> tuple[str, BaseException] | None:
    """Why one authenticated connection was refused — ``("tls" | "mechanism" | "login",
    error)`` — or None (it connected, or the broker is not reachable at all)."""
    from aiokafka import errors as aiokafka_errors
    from aiokafka.conn import create_conn

    options = {k: v for k, v in config.items() if k != "bootstrap_servers"}
    try:
        conn = await asyncio.wait_for(
            create_conn(
                host,
                port,
                client_id="cxstream-access-check",
                request_timeout_ms=int(timeout_s * 1000),
                **options,
            ),
            timeout_s,
        )
    except ssl.SSLError as exc:  # before OSError: it is one
        return "tls", exc
    except aiokafka_errors.UnsupportedSaslMechanismError as exc:
        return "mechanism", exc
    except (
        aiokafka_errors.SaslAuthenticationFailed,
        aiokafka_errors.AuthenticationFailedError,
        aiokafka_errors.IllegalSaslStateError,
    ) as exc:
        return "login", exc
    except (OSError, TimeoutError, aiokafka_errors.KafkaError):
        return None  # not reachable (or not speaking this protocol): the client's error says so
    conn.close()
    return None


def _explain(settings: Settings, address: str, kind: str, problem: BaseException) -> str:
    """One line: which setting to fix, and what the broker at ``address`` said."""
    detail = " ".join(str(problem).split()) or type(problem).__name__
    if isinstance(problem, ssl.SSLCertVerificationError):
        reason = problem.verify_message or detail
        if "hostname" in reason.lower():
            return (
                f"CXSTREAM_KAFKA_SSL_CHECK_HOSTNAME=true: the certificate of {address} is not "
                f"issued for that name ({reason}); connect by a name the certificate lists"
            )
        cafile = settings.kafka_ssl_cafile
        trusted = f"CXSTREAM_KAFKA_SSL_CAFILE={cafile}" if cafile else "CXSTREAM_KAFKA_SSL_CAFILE"
        return (
            f"{trusted}: the certificate of {address} is not trusted ({reason}); set it to the "
            "CA that signed the broker's certificate"
        )
    if kind == "tls":
        return (
            f"CXSTREAM_KAFKA_SSL_CERTFILE: the TLS handshake with {address} failed ({detail}); "
            "the broker may require a client certificate"
        )
    if kind == "mechanism":
        return (
            f"CXSTREAM_KAFKA_SASL_MECHANISM={settings.kafka_sasl_mechanism}: the broker at "
            f"{address} does not accept this mechanism"
        )
    return (
        f"CXSTREAM_KAFKA_USERNAME={settings.kafka_username} / CXSTREAM_KAFKA_PASSWORD: the "
        f"broker at {address} refused them ({settings.kafka_sasl_mechanism}: {detail})"
    )


def _setting_error(field: str, value: str, allowed: str, exc: BaseException) -> SettingsError:
    reason = getattr(exc, "strerror", None) or " ".join(str(exc).split())
    return SettingsError([SettingProblem(field, value, f"{allowed} ({reason})")])
