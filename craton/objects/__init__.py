# SPDX-License-Identifier: Apache-2.0
"""Craton's versioned objects; import this package to register them."""


def register_all():
    """Import every object module, registering its classes."""
    # The imports register each class with the object registry.
    __import__('craton.objects.event')
    __import__('craton.objects.inventory')
    __import__('craton.objects.job')
    __import__('craton.objects.secret')
    __import__('craton.objects.task')
    __import__('craton.objects.workflow')
