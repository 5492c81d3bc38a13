# SPDX-License-Identifier: Apache-2.0
"""What every secrets backend shares: its name and what it hands back."""

import collections

FERNET = 'fernet'
CASTELLAN = 'castellan'

# What a backend hands back for a row: ``ciphertext`` (bytes or None) and
# ``key_ref`` (str or None).
Stored = collections.namedtuple('Stored', ['ciphertext', 'key_ref'])
