"""The worker's web server serves exactly the endpoints the README documents."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from pipeline.settings import PROJECT_ROOT, Settings
from pipeline.streaming.app import build_app

README = (PROJECT_ROOT / "README.md").read_text()


def _documented() -> set[str]:
    section = README.split("### Web endpoints", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(/[^`]*)` \|", section, flags=re.M))


def _served(tmp_path: Path) -> set[str]:
    settings = Settings(state_dir=tmp_path, store="memory://", scoring_enabled=False)
    app = build_app(settings)

    async def routes() -> set[str]:
        app.web.init_server()
        return {r.resource.canonical for r in app.web.web_app.router.routes() if r.resource}

    return asyncio.run(routes())


def test_every_route_is_documented_and_every_documented_route_served(tmp_path: Path) -> None:
    documented = _documented()
    assert "/customers/{key}" in documented
    assert _served(tmp_path) == documented


def test_faust_table_and_router_views_are_off(tmp_path: Path) -> None:
    served = _served(tmp_path)
    assert not [r for r in served if r.startswith(("/table", "/router", "/graph", "/stats"))]
