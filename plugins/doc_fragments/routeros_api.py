# -*- coding: utf-8 -*-
# Copyright: multiwan.pbr contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options of the RouterOS API modules."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  hostname:
    description:
      - The RouterOS device's address or name.
      - Required, except for C(state=rendered) and C(state=parsed) of the resource modules, which need no router.
    type: str
  username:
    description: The API user.
    type: str
    default: admin
  password:
    description: The API user's password.
    type: str
    default: ''
  port:
    description:
      - The API port. Defaults to C(8728), or C(8729) when O(tls=true).
    type: int
  tls:
    description: Use API-SSL (TLS) instead of the plain API.
    type: bool
    default: false
    aliases: [ssl]
  validate_certs:
    description: With O(tls=true), verify the router's certificate against O(ca_path) or the system store.
    type: bool
    default: true
  validate_cert_hostname:
    description:
      - With O(tls=true) and O(validate_certs=true), also check that the certificate names O(hostname).
      - On by default, as every TLS client does; turn it off only for a router whose certificate names another host.
    type: bool
    default: true
  ca_path:
    description: A PEM file of the certificate authority that signed the router's certificate.
    type: path
  timeout:
    description: Seconds to wait for the connection and for each reply.
    type: int
    default: 10
  encoding:
    description:
      - The character encoding of strings on the API (RouterOS itself uses the router's code page).
      - Checked before a connection is made, with O(username), O(password) and every C(config) entry; a value the
        encoding cannot carry fails naming its option (never showing the password).
    type: str
    default: ASCII
requirements:
  - librouteros (on the host that runs the module, usually the controller)
"""
