"""The root command group: its one configuration-error policy and the options commands share."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import ValidationError
from typer.core import TyperGroup

from pipeline.settings import Settings, SettingsError, get_settings
from pipeline.streaming.security import KafkaAccessError
from pipeline.workflow.config import RulesFileError

# The CLI flags that override a setting: a bad value is reported under the name it was given.
SETTING_FLAGS = {
    "bootstrap_servers": "--bootstrap-servers",
    "topic_prefix": "--prefix",
    "model_dir": "--model-dir",
}


class CxstreamGroup(TyperGroup):
    """The one place where invalid configuration becomes a one-line error instead of a traceback.

    Every command builds its settings first (``command_settings``), so a bad ``CXSTREAM_*``
    variable is reported (``error: NAME=value: what is allowed``, exit status 2) before anything
    connects to Kafka or writes state.
    """

    def invoke(self, ctx: Any) -> Any:
        """Run the command; configuration errors become one line on stderr and exit status 2."""
        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            raise fail(exc.describe(SETTING_FLAGS), 2) from exc
        except ValidationError as exc:
            # Settings built without get_settings; other models' errors are not configuration.
            if exc.title != Settings.__name__:
                raise
            raise fail(SettingsError.from_validation(exc).describe(), 2) from exc
        except KafkaAccessError as exc:
            # The broker refused the credentials or certificate: the line names the setting.
            raise fail(str(exc)) from exc
        except RulesFileError as exc:
            # Only the worker side loads a rules file it was not given on the command line.
            raise fail(f"{' '.join(str(exc).split())} (CXSTREAM_RULES_FILE)", 2) from exc


app = typer.Typer(
    cls=CxstreamGroup,
    help="cxstream: real-time customer-experience pipeline on Apache Kafka + Faust.\n\n"
    "Settings come from CXSTREAM_* environment variables (see README); flags override them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Bootstrap = Annotated[
    str | None,
    typer.Option(
        "--bootstrap-servers",
        "-b",
        help="Kafka host:port[,host:port] (env CXSTREAM_BOOTSTRAP_SERVERS).",
    ),
]
Prefix = Annotated[
    str | None,
    typer.Option("--prefix", help="Topic prefix (env CXSTREAM_TOPIC_PREFIX, default cx.)."),
]


def command_settings(**overrides: Any) -> Settings:
    """The settings a command runs with: ``CXSTREAM_*`` variables, overridden by its flags."""
    return get_settings(**overrides)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr; the exit to raise (status ``code``)."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)
