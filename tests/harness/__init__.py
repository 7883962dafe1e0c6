"""Reusable harness for mod_coinpay_auth: a local OP, a private httpd, a browser-less login.

Used by tests/e2e, tests/browser and the demo (tests/harness/demo.py).
"""
from .util import REPO, free_port, module_path, port_accepts, port_is_free, wait_until
from .op import OP, OPError
from .httpd import (LOCATIONS, Httpd, HttpdError, coinpay_directives, configtest)
from .login import LoginError, login, parse_forms
from .vhosts import vhost_get, vhost_session, virtual_host

import os as _os
import sys as _sys
_sys.path.insert(0, _os.path.join(REPO, "tests", "op"))
from bad_op import DEFECTS, BadOP  # noqa: E402  (tests/op/bad_op.py)

__all__ = ["REPO", "free_port", "module_path", "port_accepts", "port_is_free", "wait_until",
           "OP", "OPError", "Httpd", "HttpdError", "LOCATIONS", "coinpay_directives",
           "configtest", "LoginError", "login", "parse_forms", "BadOP", "DEFECTS",
           "virtual_host", "vhost_session", "vhost_get"]
