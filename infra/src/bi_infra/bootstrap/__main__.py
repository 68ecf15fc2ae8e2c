"""`pulumi up` in infra/bootstrap runs this: the bootstrap settings, then the CI/CD roles."""

from typing import Any

import pulumi

from bi_infra.bootstrap import build, parse

config = pulumi.Config("bi-bootstrap")
values: dict[str, Any] = {"environments": config.get_object("environments")}
if (previews := config.get_object("previewEnvironments")) is not None:
    values["previewEnvironments"] = previews
for key in ("repository", "namePrefix", "stateBucket"):
    if (text := config.get(key)) is not None:
        values[key] = text
build(parse(values))
