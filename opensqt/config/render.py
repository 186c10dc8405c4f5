"""Print effective settings as YAML with every secret replaced by `***` (`market_maker config show`)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr

from opensqt.config.errors import MASK
from opensqt.config.settings import Settings, database_password


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # shared default objects must print in full, not as YAML anchors


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    # Plain (unquoted, no exponent) so that the printed file loads back into the same Decimal.
    text = format(value, "f")
    tag = "float" if "." in text else "int"
    return dumper.represent_scalar(f"tag:yaml.org,2002:{tag}", text)


_Dumper.add_representer(Decimal, _decimal)


def masked_dict(settings: Settings) -> dict[str, Any]:
    """The settings as plain data, secrets masked (unset secrets stay null)."""

    def clean(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return MASK
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        if isinstance(value, Path):
            return value.as_posix()
        return value

    data: dict[str, Any] = clean(settings.model_dump(mode="python"))
    url = settings.app.database_url
    password = database_password(url)
    if url and password:
        data["app"]["database_url"] = url.replace(f":{password}@", f":{MASK}@", 1)
    return data


def settings_yaml(settings: Settings) -> str:
    return yaml.dump(masked_dict(settings), Dumper=_Dumper, sort_keys=False, allow_unicode=True)
