"""The AWS Glue 5.0 runtime the jobs run on, declared once: its platform and the Python modules it provides.

The module list is the "AWS Glue version 5.0" list of "Python modules already provided in AWS Glue",
https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-python-libraries.html#glue-modules-provided
(the wheel platforms are from Appendix B of that page). A job's wheelhouse never ships a provided module,
so a job never changes Glue's version of it, unless `OVERRIDES` names it with the reason and the risk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GLUE_VERSION = "5.0"
SPARK_VERSION = "3.5.4"
PYTHON_VERSION = "3.11"
# Amazon Linux 2023, glibc 2.34, x86_64: the wheel platform tags it accepts, most specific first.
PLATFORMS = ("manylinux_2_34_x86_64", "manylinux_2_28_x86_64", "manylinux2014_x86_64")
# The environment markers of a Glue 5.0 job, for the lock's conditional dependencies.
MARKERS = {
    "implementation_name": "cpython",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_system": "Linux",
    "python_full_version": "3.11.0",
    "python_version": PYTHON_VERSION,
    "sys_platform": "linux",
}

PROVIDED: dict[str, str] = {
    "aiobotocore": "2.13.1",
    "aiohappyeyeballs": "2.3.5",
    "aiohttp": "3.10.1",
    "aioitertools": "0.11.0",
    "aiosignal": "1.3.1",
    "appdirs": "1.4.4",
    "attrs": "24.2.0",
    "boto3": "1.34.131",
    "botocore": "1.34.131",
    "certifi": "2024.7.4",
    "charset-normalizer": "3.3.2",
    "contourpy": "1.2.1",
    "cycler": "0.12.1",
    "fonttools": "4.53.1",
    "frozenlist": "1.4.1",
    "fsspec": "2024.6.1",
    "idna": "2.10",
    "jmespath": "0.10.0",
    "kaleido": "0.2.1",
    "kiwisolver": "1.4.5",
    "matplotlib": "3.9.0",
    "multidict": "6.0.5",
    "numpy": "1.26.4",
    "packaging": "24.1",
    "pandas": "2.2.2",
    "pillow": "10.4.0",
    "pip": "23.0.1",
    "plotly": "5.23.0",
    "pyarrow": "17.0.0",
    "pyparsing": "3.1.2",
    "python-dateutil": "2.9.0.post0",
    "pytz": "2024.1",
    "requests": "2.32.2",
    "s3fs": "2024.6.1",
    "s3transfer": "0.10.2",
    "seaborn": "0.13.2",
    "setuptools": "59.6.0",
    "six": "1.16.0",
    "tenacity": "9.0.0",
    "tzdata": "2024.1",
    "urllib3": "1.25.10",
    "virtualenv": "20.4.0",
    "wrapt": "1.16.0",
    "yarl": "1.9.4",
}


@dataclass(frozen=True)
class Override:
    """A provided module the jobs ship at the lock's version instead of Glue's."""

    reason: str
    risk: str


_BOTO = (
    "The lake lock writes and deletes its S3 objects conditionally (IfNoneMatch/IfMatch), which botocore "
    "1.34.131 does not know (S3 added conditional writes after it); bi-lake needs boto3>=1.35."
)
_BOTO_RISK = (
    "Glue's own Python code in the job runs on a boto3/botocore AWS did not test that Glue release with."
)
OVERRIDES: dict[str, Override] = {
    "boto3": Override(_BOTO, _BOTO_RISK),
    "botocore": Override(_BOTO, _BOTO_RISK),
    "s3transfer": Override("The boto3 shipped for the lake lock requires a newer s3transfer.", _BOTO_RISK),
    "aiobotocore": Override(
        "Glue's aiobotocore 2.13.1 accepts only botocore<1.34.132, so its s3fs would break beside the "
        "botocore shipped; the aiobotocore shipped is the lock's (group glue-overrides), the release that "
        "accepts the locked botocore, and stays within s3fs 2024.6.1's aiobotocore<3.",
        "Code on Glue using s3fs runs on a newer aiobotocore; the jobs do not use s3fs.",
    ),
    "urllib3": Override(
        "The workspace's lock cannot hold Glue's urllib3 1.25.10 without downgrading moto's docker "
        "dependency to a 2020 release, and 1.25.10 misses the security fixes of later releases.",
        "Glue's requests 2.32.2 and the botocore shipped accept urllib3 2; Glue's own code written for "
        "urllib3 1.x APIs that 2.0 removed would break.",
    ),
    "packaging": Override(
        "pandera needs packaging; the lock holds 26.x because the infrastructure program (pulumi) in the "
        "same lock requires packaging>=26, and Glue provides 24.1.",
        "Glue's own code importing packaging runs on a release two majors newer than Glue's.",
    ),
}


def normalize(name: str) -> str:
    """A distribution name as indexes compare them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def provided() -> dict[str, str]:
    return {normalize(name): version for name, version in PROVIDED.items()}
