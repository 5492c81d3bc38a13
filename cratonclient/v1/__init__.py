# SPDX-License-Identifier: Apache-2.0
"""Craton API v1 client: ``from cratonclient.v1 import Client``."""

from cratonclient.v1.client import Client

__all__ = ['Client']
