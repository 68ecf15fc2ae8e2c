"""`pulumi up` runs this: the stack's settings, then every resource."""

from bi_infra.config import load
from bi_infra.stack import build

build(load())
