# SPDX-License-Identifier: Apache-2.0
"""Craton's Python client (``cratonclient.v1``) and its ``openstack
craton …`` plugin (``cratonclient.osc``).
"""
