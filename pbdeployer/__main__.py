"""Run as ``python -m pbdeployer``."""

from pbdeployer.cli import main

raise SystemExit(main())
