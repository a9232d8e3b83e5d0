"""WSGI entry point for gunicorn: `gunicorn --preload -w 4 wsgi:app`. Configuration comes from the environment."""

import sys

from caseapp import create_app
from caseapp.security.keys import KeyConfigError
from caseapp.serving import prepare_worker
from config import ConfigError

try:
    app = create_app()
except (ConfigError, KeyConfigError) as exc:
    print(f"caseapp: {exc}", file=sys.stderr)
    sys.exit(2)
prepare_worker()
