"""``python -m pbdeployer.testing`` is the same command line as ``...testing.hosts``."""

from pbdeployer.testing.hosts import main

raise SystemExit(main())
