"""Installs the `www` package. `make install` does this in editable mode, with the exact
pins of requirements.txt; the ranges below are what the code is known to work with."""

from setuptools import find_packages, setup

setup(
    name="www",
    version="0.1.0",
    description="A small, readable aiohttp blog starter",
    python_requires=">=3.11",
    packages=find_packages(include=["www", "www.*"]),
    package_data={"www.scaffold": ["templates/*/*.jinja"]},  # what the generator writes from
    install_requires=[
        "aiohttp>=3.12,<4",
        "aiohttp-jinja2>=1.6,<2",
        "aiohttp-session[secure]>=2.12,<3",
        "aiosmtplib>=3,<6",  # mail (password reset) when mail.smtp_url is set
        "argon2-cffi>=23.1,<26",
        "asyncpg>=0.30,<1",  # create_pool(reset=...) is 0.30's
        "cryptography>=42",
        "feedgen>=1,<2",  # the Atom feeds (www/feeds.py)
        "Jinja2>=3.1,<4",
        "limits>=4.1,<6",  # rate limits: the sliding window counter is 4.1's
        "markdown-it-py>=3,<5",
        "multidict>=7,<8",  # CIMultiDict.merge(): the security headers (www/middlewares.py)
        "pydantic>=2.7,<3",
        "PyYAML>=6,<7",
        "redis>=5.2,<9",  # redis.asyncio: live comments (and rate limits) through Redis
        "swagger-ui-py>=25,<26",  # Swagger UI 5's files for /api/docs (www/apidocs.py)
    ],
    extras_require={
        "deploy": ["gunicorn>=22", "uvloop>=0.19; sys_platform != 'win32'"],
    },
)
