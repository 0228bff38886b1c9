"""Real test hosts for pbdeployer's own tests: see :mod:`pbdeployer.testing.hosts`."""
