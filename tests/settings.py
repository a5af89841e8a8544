"""Settings of the test run and of the servers it starts: production's, with one change.

Django's default password hasher (PBKDF2, 1,000,000 rounds) costs ~0.6 s of CPU per password
on this 2-core machine, paid once when a test makes a staff user and again at each login to a
test server: the largest single function in the test servers' CPU profile (docs/testing.md,
"Profiles of a pass"). Tests check who may log in,
not how hard a stolen hash is to crack, so they hash with MD5, as Django's own documentation
advises for tests ("Speeding up the tests"). Production keeps Django's default:
tests/test_settings_production.py fails if `fundboard.settings` names a weaker hasher, and
the plain-install and demo tests start servers on `fundboard.settings` itself.
"""

from fundboard.settings import *  # noqa: F403 - production's settings, all of them

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
